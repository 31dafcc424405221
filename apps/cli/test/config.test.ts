import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../src/commands/completion.ts';
import { cliHome } from './cli-harness.ts';

function writeConfig(home: string, text: string): string {
  mkdirSync(home, { recursive: true });
  const file = join(home, 'config.toml');
  writeFileSync(file, text);
  return file;
}

describe('config errors: exit 2, one line naming the file, the key and the line', () => {
  const cases: [string, string, string[]][] = [
    ['unknown key', 'jobs = 2\nconections = 4\n', ['Unknown key "conections"', ':2', 'connections']],
    ['wrong type', 'jobs = "many"\n', ['"jobs"', ':1']],
    ['out-of-range value', '\n\n[retry]\nattempts = 1000\n', ['"retry.attempts"', ':4']],
    ['broken TOML', 'connections = = 3\n', ['config.toml:1']],
  ];
  for (const [name, text, needles] of cases) {
    test(name, async () => {
      using cli = cliHome();
      const file = writeConfig(cli.home, text);
      const result = await cli.run(['status']);
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(file);
      for (const needle of needles) expect(lines[0]).toContain(needle);
    });
  }

  test('a bad DDM_* variable names the variable', async () => {
    using cli = cliHome();
    const result = await cli.run(['status'], { env: { DDM_CONNECTIONS: 'lots' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('DDM_CONNECTIONS');
  });
});

describe('ddm config', () => {
  test('path, init, set and show with sources (default < file < env)', async () => {
    using cli = cliHome();
    const path = (await cli.run(['config', 'path'])).stdout.trim();
    expect(path).toBe(join(cli.home, 'config.toml'));
    expect((await cli.run(['config', 'init'])).exitCode).toBe(0);
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Twice: the file is there as asked (exit 0, unchanged; see output-habits.test.ts).
    expect((await cli.run(['config', 'init'])).exitCode).toBe(0);
    expect((await cli.run(['config', 'set', 'connections', '12'])).exitCode).toBe(0);
    expect((await cli.run(['config', 'set', 'retry.attempts', '2'])).exitCode).toBe(0);
    const bad = await cli.run(['config', 'set', 'connections', '0']);
    expect(bad.exitCode).toBe(2);
    expect(readFileSync(path, 'utf8')).toContain('connections = 12');
    const shown = JSON.parse((await cli.run(['config', 'show', '--json'], { env: { DDM_JOBS: '5' } })).stdout);
    expect(shown.config.connections).toBe(12);
    expect(shown.sources.connections).toBe('file');
    expect(shown.config.jobs).toBe(5);
    expect(shown.sources.jobs).toBe('env');
    expect(shown.sources['retry.attempts']).toBe('file');
    expect(shown.sources.max_connections).toBe('default');
    const human = (await cli.run(['config', 'show'])).stdout;
    expect(human).toContain('connections = 12');
    expect(human).toContain('(file)');
  });

  test('rpc.secret is never printed in clear: config set, show and show --json', async () => {
    using cli = cliHome();
    const set = await cli.run(['config', 'set', 'rpc.secret', 's3cret-token']);
    expect(set.exitCode).toBe(0);
    expect(set.stdout + set.stderr).not.toContain('s3cret-token');
    expect(set.stdout).toContain('rpc.secret = ***');
    expect(readFileSync(join(cli.home, 'config.toml'), 'utf8')).toContain('secret = "s3cret-token"');
    const json = await cli.run(['config', 'show', '--json']);
    expect(json.stdout).not.toContain('s3cret-token');
    const shown = JSON.parse(json.stdout);
    expect(shown.config.rpc).toEqual({
      port: 6800,
      secret: '***',
      listenAll: false,
      allowOriginAll: false,
      allowedOrigins: '',
    });
    expect(shown.sources['rpc.secret']).toBe('file');
    const human = await cli.run(['config', 'show'], { env: { DDM_RPC__SECRET: 'env-token' } });
    expect(human.stdout).not.toContain('env-token');
    expect(human.stdout).toContain('rpc.secret = "***"  (env)');
  });

  test('an old file that sets the removed min_connections still works; show notes it, set refuses it', async () => {
    using cli = cliHome();
    const file = writeConfig(cli.home, 'connections = 4\nmin_connections = 2\n');
    expect((await cli.run(['status'])).exitCode).toBe(0);
    const shown = await cli.run(['config', 'show']);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(`# note: "min_connections" in ${file}:2 is ignored`);
    expect(shown.stdout).not.toContain('min_connections =');
    const set = await cli.run(['config', 'set', 'min_connections', '3']);
    expect(set.exitCode).toBe(2);
    expect(set.stderr).toContain('"min_connections"');
    expect(set.stderr).toContain('was removed');
  });

  test('DDM_HOME keeps config, DB and log in one folder, DB mode 0600', async () => {
    using cli = cliHome();
    // `run` creates the DB (`status` creates nothing).
    expect((await cli.run(['run'])).exitCode).toBe(0);
    expect(statSync(join(cli.home, 'ddm.db')).mode & 0o777).toBe(0o600);
    expect(statSync(cli.home).mode & 0o777).toBe(0o700);
  });

  test('XDG dirs are used without DDM_HOME', async () => {
    using cli = cliHome();
    const xdg = join(cli.home, 'xdg');
    const env = {
      DDM_HOME: '',
      XDG_CONFIG_HOME: join(xdg, 'config'),
      XDG_DATA_HOME: join(xdg, 'data'),
      XDG_STATE_HOME: join(xdg, 'state'),
    };
    expect((await cli.run(['config', 'path'], { env })).stdout.trim()).toBe(join(xdg, 'config', 'ddm', 'config.toml'));
    expect((await cli.run(['run'], { env })).exitCode).toBe(0);
    expect(existsSync(join(xdg, 'data', 'ddm', 'ddm.db'))).toBe(true);
  });
});

describe('conventions', () => {
  test('every command has --help with an example', async () => {
    using cli = cliHome();
    // COMMANDS also feeds the completion scripts: every completed command must have help with an example.
    for (const command of COMMANDS) {
      const result = await cli.run([command, '--help']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('Examples:');
      expect(result.stdout).toContain(`ddm ${command}`);
    }
  });

  test('completion scripts for bash, zsh and fish; another shell exits 2', async () => {
    using cli = cliHome();
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await cli.run(['completion', shell]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('import-har');
    }
    expect((await cli.run(['completion', 'tcsh'])).exitCode).toBe(2);
  });

  test('--json errors are {error: {code, message}}', async () => {
    using cli = cliHome();
    const result = await cli.run(['status', '99', '--json']);
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'No such job: 99' } });
  });

  test('checksum prints a file hash', async () => {
    using cli = cliHome();
    mkdirSync(cli.dir, { recursive: true });
    const file = join(cli.dir, 'abc.txt');
    writeFileSync(file, 'abc');
    const result = await cli.run(['checksum', file]);
    expect(result.stdout).toBe(`ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  ${file}\n`);
    expect((await cli.run(['checksum', file, '--algo', 'md5'])).stdout).toStartWith(
      '900150983cd24fb0d6963f7d28e17f72  ',
    );
  });
});
