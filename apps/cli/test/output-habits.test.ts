/**
 * Issue 13, output and CLI habits: the summary line and the path, a CLI that forgives typos,
 * config get/init, completion scripts, and the exit codes of run and wait with a paused job.
 * Each test spawns the real CLI against local servers.
 */
import { describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import { COMMANDS } from '../src/commands/completion.ts';
import { CLI_MAIN, MiB, Sandbox } from './helpers.ts';

describe('output a person reads', () => {
  test('a finished get prints one summary line on stderr and the path on stdout; -q keeps only the path', async () => {
    const body = generatedBody(2 * MiB, 301);
    await using server = await startTestServer({ files: [{ path: '/sum.bin', body }] });
    await using box = new Sandbox();
    const result = await box.run([
      'get',
      server.url('/sum.bin'),
      '-d',
      box.dir,
      '-x',
      '4',
      '--checksum',
      `sha256:${body.sha256Hex()}`,
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${join(box.dir, 'sum.bin')}\n`);
    // One line: no progress line for a download this short (non-TTY), just the summary.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^sum\.bin: 2\.0 MiB in \d+\.\ds, [\d.]+ [KMG]?i?B\/s average, [1-4] connections?, sha256 verified$/,
    );

    const quiet = await box.run(['get', server.url('/sum.bin'), '-d', box.dir, '-o', 'q.bin', '-q']);
    expect(quiet).toEqual({ exitCode: 0, stdout: `${join(box.dir, 'q.bin')}\n`, stderr: '' });

    // Without a checksum the line says nothing about one.
    const plain = await box.run(['get', server.url('/sum.bin'), '-d', box.dir, '-o', 'p.bin']);
    expect(plain.stderr).toStartWith('p.bin: 2.0 MiB in ');
    expect(plain.stderr).not.toContain('verified');
  });

  test('ddm wait prints the summary of the job it watched finish', async () => {
    const body = generatedBody(1 * MiB, 302);
    await using server = await startTestServer({ files: [{ path: '/w.bin', body }] });
    await using box = new Sandbox();
    // Slow enough that the wait sees it downloading (a job already complete has no summary to give).
    const id = await box.add(server.url('/w.bin'), '-x', '1', '--limit', '512K');
    await box.startEngine();
    const waited = await box.run(['wait', String(id)]);
    expect(waited.exitCode).toBe(0);
    expect(waited.stdout).toBe(`${join(box.dir, 'w.bin')}\n`);
    expect(waited.stderr).toMatch(/^w\.bin: 1\.0 MiB in /);
  });
});

describe('a CLI that forgives typos', () => {
  test('an unknown command suggests the nearest one (exit 2)', async () => {
    await using box = new Sandbox();
    const result = await box.run(['gte', 'http://127.0.0.1:9/x']);
    expect(result).toEqual({ exitCode: 2, stdout: '', stderr: 'ddm: Unknown command "gte"; did you mean "get"?\n' });
    const far = await box.run(['frobnicate']);
    expect(far.exitCode).toBe(2);
    expect(far.stderr).toBe('ddm: Unknown command "frobnicate" (see ddm --help)\n');
  });

  test('an unknown flag is an error for every command, echoed as typed, with the nearest flag', async () => {
    await using box = new Sandbox();
    const typo = await box.run(['get', 'http://127.0.0.1:9/x', '--connectons', '4']);
    expect(typo).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: 'ddm: Unknown option --connectons; did you mean --connections?\n',
    });
    const kebab = await box.run(['add', '--input-fil', 'urls.txt']);
    expect(kebab.stderr).toBe('ddm: Unknown option --input-fil; did you mean --input-file?\n');
    const other = await box.run(['get', 'http://127.0.0.1:9/x', '--watch']);
    expect(other.stderr).toBe('ddm: Unknown option --watch for this command (it is an option of ddm run)\n');
    for (const command of COMMANDS) {
      const result = await box.run([command, '--no-such-flag']);
      expect({ command, exitCode: result.exitCode, stderr: result.stderr }).toEqual({
        command,
        exitCode: 2,
        stderr: 'ddm: Unknown option --no-such-flag\n',
      });
    }
    // Nothing ran: no job was added by the refused command lines.
    expect((await box.status()).jobs).toEqual([]);
  });

  test('-V/--version prints ddm and the real Bun version; -v is only verbose', async () => {
    await using box = new Sandbox();
    for (const flag of ['-V', '--version']) {
      expect(await box.run([flag])).toEqual({
        exitCode: 0,
        stdout: `ddm ${JSON.parse(readFileSync(join(import.meta.dir, '..', '..', '..', 'package.json'), 'utf8')).version} (bun ${Bun.version})\n`,
        stderr: '',
      });
    }
    const verbose = await box.run(['status', '-v']);
    expect(verbose.exitCode).toBe(0);
    expect(verbose.stdout).not.toContain('bun');
    expect(verbose.stdout).toContain('No jobs');
  });

  test('ddm help [command] works and each command help starts with what it does', async () => {
    await using box = new Sandbox();
    const help = await box.run(['help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toStartWith('ddm ');
    expect(help.stdout).toContain('Commands:');
    const get = await box.run(['help', 'get']);
    expect(get.exitCode).toBe(0);
    expect(get.stdout).toStartWith('ddm get: Download URLs now');
    expect(get.stdout).toContain('--connections');
    expect(await box.run(['help', 'gte'])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: 'ddm: Unknown command "gte"; did you mean "get"?\n',
    });
    for (const command of COMMANDS) {
      const result = await box.run([command, '--help']);
      expect({ command, head: result.stdout.split('\n')[0] }).toEqual({
        command,
        head: expect.stringMatching(new RegExp(`^ddm ${command}: [A-Z]`)),
      });
    }
  });
});

describe('config and completion', () => {
  test('config get prints a value; an unknown key exits 2 with a suggestion', async () => {
    await using box = new Sandbox();
    expect(await box.run(['config', 'get', 'connections'])).toEqual({ exitCode: 0, stdout: '8\n', stderr: '' });
    await box.ok(['config', 'set', 'retry.attempts', '3']);
    expect((await box.run(['config', 'get', 'retry.attempts'])).stdout).toBe('3\n');
    const json = await box.run(['config', 'get', 'retry.attempts', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ key: 'retry.attempts', value: 3, source: 'file' });
    expect(await box.run(['config', 'get', 'conections'])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: 'ddm: Unknown config key "conections"; did you mean "connections"?\n',
    });
    await box.ok(['config', 'set', 'rpc.secret', 'hunter2']);
    expect((await box.run(['config', 'get', 'rpc.secret'])).stdout).toBe('***\n');
  });

  test('config init twice says the file exists and leaves it; --force replaces it', async () => {
    await using box = new Sandbox();
    await box.ok(['config', 'init']);
    const file = join(box.home, 'config.toml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n# mine\n`);
    const again = await box.run(['config', 'init']);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain(`Config file already exists, left unchanged (--force replaces it): ${file}`);
    expect(readFileSync(file, 'utf8')).toContain('\n# mine\n');
    await box.ok(['config', 'init', '--force']);
    expect(readFileSync(file, 'utf8')).not.toContain('\n# mine\n');
  });

  test('the bash completion completes each command flags, job ids and config keys', async () => {
    const hasBash = Bun.spawnSync(['bash', '--version']).exitCode === 0;
    if (!hasBash) return;
    await using box = new Sandbox();
    await box.add('http://127.0.0.1:9/a.bin');
    await box.add('http://127.0.0.1:9/b.bin');
    // `ddm` on PATH, as the completion script calls it for job ids.
    const bin = join(box.root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ddm'), `#!/bin/sh\nexec bun ${JSON.stringify(CLI_MAIN)} "$@"\n`);
    chmodSync(join(bin, 'ddm'), 0o755);
    const script = (await box.ok(['completion', 'bash'])).stdout;
    writeFileSync(join(box.root, 'ddm.bash'), script);
    const complete = (words: string[]) => {
      const line = `source ${JSON.stringify(join(box.root, 'ddm.bash'))}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _ddm; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const proc = Bun.spawnSync(['bash', '-O', 'extglob', '-c', line], {
        env: box.env({ PATH: `${bin}:${process.env.PATH}` }),
        cwd: box.dir,
      });
      return proc.stdout.toString().trim().split('\n').sort();
    };
    expect(complete(['ddm', 'get', '--conn'])).toEqual(['--connections']);
    // run's own flag, not get's.
    expect(complete(['ddm', 'run', '--wa'])).toEqual(['--watch']);
    expect(complete(['ddm', 'get', '--wa'])).toEqual(['']);
    expect(complete(['ddm', 'pause', ''])).toEqual(['1', '2']);
    expect(complete(['ddm', 'config', 'get', 'retry.'])).toEqual([
      'retry.attempts',
      'retry.base_delay_ms',
      'retry.max_delay_ms',
    ]);
    expect(complete(['ddm', 'config', 'get', 'connec'])).toContain('connections');
    expect(complete(['ddm', 'ge'])).toEqual(['get']);
  });

  test('__complete ids prints nothing and creates nothing before the first job', async () => {
    await using box = new Sandbox();
    const home = join(box.root, 'fresh-home');
    const result = await box.run(['__complete', 'ids'], { env: { DDM_HOME: home } });
    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(existsSync(home)).toBe(false);
  });
});

describe('a paused job: one rule for run and wait (README "Exit codes": 1)', () => {
  test('ddm run whose last active job is paused exits 1 and says how to continue', async () => {
    const body = generatedBody(8 * MiB, 303);
    await using server = await startTestServer({
      files: [{ path: '/p.bin', body, knobs: { throttleBytesPerSec: 256 * 1024 } }],
    });
    await using box = new Sandbox();
    const id = await box.add(server.url('/p.bin'), '-x', '1');
    const run = box.spawn(['run']);
    await box.waitForStatus((s) => (s.jobs[0]?.doneBytes ?? 0) > 0, 'the job to download bytes');
    await box.ok(['pause', String(id)]);
    const result = await run.done();
    expect(result.stderr).toContain(`Job ${id} is paused; continue with: ddm resume ${id}`);
    expect(result.exitCode).toBe(1);
  });

  test('ddm wait on a job paused while its get engine ends reports paused (exit 1), never downloading', async () => {
    const body = generatedBody(8 * MiB, 304);
    await using server = await startTestServer({
      files: [{ path: '/wp.bin', body, knobs: { throttleBytesPerSec: 256 * 1024 } }],
    });
    await using box = new Sandbox();
    const get = box.spawn(['get', server.url('/wp.bin'), '-d', box.dir, '-x', '1']);
    await box.waitForStatus((s) => (s.jobs[0]?.doneBytes ?? 0) > 0, 'the get to download bytes');
    const wait = box.spawn(['wait', '1']);
    await box.ok(['pause', '1']);
    const [waited, got] = await Promise.all([wait.done(), get.done()]);
    expect(got.exitCode).toBe(1);
    expect(waited.stderr).toContain('Job 1 is paused; continue with: ddm resume 1');
    expect(waited.stderr).not.toContain('downloading');
    expect(waited.exitCode).toBe(1);
  });
});
