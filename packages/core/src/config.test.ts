import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigErrorKind } from './config.ts';
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfigValue } from './config.ts';
import {
  configDocCells,
  configForShow,
  configKeys,
  formatConfigShow,
  initConfigText,
  shownConfigArgument,
} from './config-docs.ts';
import { setConfigValue } from './config-edit.ts';
import { CONFIG_TABLE, type ConfigKeySpec, type DdmConfig } from './config-table.ts';
import { DEFAULT_SETTINGS, type EngineSettings, settingsFromConfig } from './settings.ts';
import { DEFAULT_USER_AGENT } from './version.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function writeConfig(text: string): string {
  const file = join(dir, `config-${++fileCounter}.toml`);
  writeFileSync(file, text);
  return file;
}

function catchConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const noEnv = { HOME: '/home/tester' };

describe('loadConfig', () => {
  test('a missing file yields the defaults, all from "default"', () => {
    const result = loadConfig({ file: join(dir, 'absent.toml'), env: noEnv, flags: {} });
    expect(result.config).toEqual(DEFAULT_CONFIG);
    expect(result.hasFile).toBe(false);
    expect(new Set(Object.values(result.sources))).toEqual(new Set(['default']));
  });

  test('reads flat keys and [retry] / [timeouts] tables, sizes as integers or strings', () => {
    const file = writeConfig(
      [
        'connections = 4',
        'min_split_size = "2M"',
        'max_bytes_per_sec = "512K"',
        'segment_buffer_bytes = 65536',
        'overwrite = "fail"',
        'download_dir = "~/Downloads"',
        '[retry]',
        'attempts = 2',
        '[timeouts]',
        'low_speed_bytes_per_sec = "2K"',
      ].join('\n'),
    );
    const { config, sources } = loadConfig({ file, env: noEnv, flags: {} });
    expect(config.connections).toBe(4);
    expect(config.minSplitSize).toBe(2 * 1024 * 1024);
    expect(config.maxBytesPerSec).toBe(512 * 1024);
    expect(config.segmentBufferBytes).toBe(65536);
    expect(config.overwrite).toBe('fail');
    expect(config.downloadDir).toBe('/home/tester/Downloads');
    expect(config.retry).toEqual({ attempts: 2, baseDelayMs: 500, maxDelayMs: 30_000 });
    expect(config.timeouts.lowSpeedBytesPerSec).toBe(2048);
    expect(sources['retry.attempts']).toBe('file');
    expect(sources['retry.base_delay_ms']).toBe('default');
  });

  test('precedence is default < file < env < flag', () => {
    const file = writeConfig('connections = 4\njobs = 5\nuser_agent = "from-file"\n[retry]\nattempts = 7\n');
    const result = loadConfig({
      file,
      env: { ...noEnv, DDM_JOBS: '6', DDM_CONNECTIONS: '5', DDM_RETRY__ATTEMPTS: '3' },
      flags: { connections: 6, retry: { attempts: 1 } },
    });
    expect(result.config.connections).toBe(6);
    expect(result.sources.connections).toBe('flag');
    expect(result.config.jobs).toBe(6);
    expect(result.sources.jobs).toBe('env');
    expect(result.config.userAgent).toBe('from-file');
    expect(result.sources.user_agent).toBe('file');
    expect(result.config.retry.attempts).toBe(1);
    expect(result.sources['retry.attempts']).toBe('flag');
    expect(result.config.checkpointIntervalMs).toBe(1000);
    expect(result.sources.checkpoint_interval_ms).toBe('default');
  });

  test('an empty env variable is ignored for numbers and means empty for strings', () => {
    const file = writeConfig('proxy = "http://proxy.test:3128"\n');
    const result = loadConfig({ file, env: { ...noEnv, DDM_CONNECTIONS: '', DDM_PROXY: '' }, flags: {} });
    expect(result.sources.connections).toBe('default');
    expect(result.config.proxy).toBe('');
    expect(result.sources.proxy).toBe('env');
  });

  test('a Partial<DdmConfig> with undefined fields overrides nothing', () => {
    const result = loadConfig({ file: join(dir, 'absent.toml'), env: noEnv, flags: { connections: undefined } });
    expect(result.sources.connections).toBe('default');
  });
});

describe('config errors name the file, the key and the line', () => {
  const cases: { name: string; text: string; kind: ConfigErrorKind; key: string; line: number; includes: string }[] = [
    {
      name: 'unknown key with a suggestion',
      text: 'jobs = 2\n\nconections = 4\n',
      kind: 'unknown-key',
      key: 'conections',
      line: 3,
      includes: 'did you mean "connections"?',
    },
    {
      name: 'unknown key in a table',
      text: '[retry]\n# note\natempts = 4\n',
      kind: 'unknown-key',
      key: 'retry.atempts',
      line: 3,
      includes: '"retry.attempts"',
    },
    {
      name: 'unknown table',
      text: 'jobs = 1\n[retri]\nattempts = 1\n',
      kind: 'unknown-key',
      key: 'retri',
      line: 2,
      includes: '"retry"',
    },
    {
      name: 'wrong type: string for an integer',
      text: 'connections = "eight"\n',
      kind: 'type',
      key: 'connections',
      line: 1,
      includes: 'expected an integer',
    },
    {
      name: 'wrong type: quoted number',
      text: 'jobs = 1\nconnections = "8"\n',
      kind: 'type',
      key: 'connections',
      line: 2,
      includes: 'remove the quotes',
    },
    {
      name: 'wrong type: float',
      text: '[timeouts]\nconnect_ms = 1.5\n',
      kind: 'type',
      key: 'timeouts.connect_ms',
      line: 2,
      includes: 'a float',
    },
    {
      name: 'wrong type: boolean for a string',
      text: 'user_agent = true\n',
      kind: 'type',
      key: 'user_agent',
      line: 1,
      includes: 'expected a string',
    },
    {
      name: 'wrong type: value for a table',
      text: 'retry = 3\n',
      kind: 'type',
      key: 'retry',
      line: 1,
      includes: 'expected a table',
    },
    {
      name: 'wrong type: bad size string',
      text: 'min_split_size = "lots"\n',
      kind: 'type',
      key: 'min_split_size',
      line: 1,
      includes: 'size like "1M"',
    },
    {
      name: 'out of range: too many connections',
      text: 'connections = 100\n',
      kind: 'range',
      key: 'connections',
      line: 1,
      includes: '1..64',
    },
    {
      name: 'out of range: huge integer',
      text: 'jobs = 99999999999999999999\n',
      kind: 'range',
      key: 'jobs',
      line: 1,
      includes: 'too large',
    },
    {
      name: 'out of range: size below minimum',
      text: '\n\nmin_split_size = "1K"\n',
      kind: 'range',
      key: 'min_split_size',
      line: 3,
      includes: '1024 is not in',
    },
    {
      name: 'out of range: enum',
      text: 'overwrite = "replace"\n',
      kind: 'range',
      key: 'overwrite',
      line: 1,
      includes: '"rename", "overwrite", "fail"',
    },
    {
      name: 'out of range: proxy not a URL',
      text: 'proxy = "ftp://proxy.test"\n',
      kind: 'range',
      key: 'proxy',
      line: 1,
      includes: 'http:// or https://',
    },
    {
      name: 'broken TOML',
      text: 'jobs = 2\nconnections = = 4\n',
      kind: 'syntax',
      key: 'connections',
      line: 2,
      includes: ':2:15',
    },
    { name: 'duplicate key', text: 'jobs = 2\njobs = 3\n', kind: 'syntax', key: 'jobs', line: 2, includes: 'redefine' },
  ];
  for (const entry of cases) {
    test(entry.name, () => {
      const file = writeConfig(entry.text);
      const error = catchConfigError(() => loadConfig({ file, env: noEnv, flags: {} }));
      expect(error.code).toBe('ERR_CONFIG');
      expect(error.kind).toBe(entry.kind);
      expect(error.source).toBe('file');
      expect(error.file).toBe(file);
      expect(error.key).toBe(entry.key);
      expect(error.line).toBe(entry.line);
      expect(error.message).toContain(`${file}:${entry.line}`);
      expect(error.message).toContain(`"${entry.key}"`);
      expect(error.message).toContain(entry.includes);
      expect(error.message).not.toContain('\n');
    });
  }

  test('the unknown-key message has the documented shape', () => {
    const file = writeConfig('jobs = 2\n\nconections = 4\n');
    const error = catchConfigError(() => loadConfig({ file, env: noEnv, flags: {} }));
    expect(error.message).toBe(`Unknown key "conections" in ${file}:3 (did you mean "connections"?)`);
  });

  test('cross-key: the key set last is blamed, with its line', () => {
    const file = writeConfig('max_connections = 4\nconnections = 8\n');
    const error = catchConfigError(() => loadConfig({ file, env: noEnv, flags: {} }));
    expect(error.kind).toBe('range');
    expect(error.key).toBe('connections');
    expect(error.line).toBe(2);
    expect(error.message).toBe(`Out-of-range value for "connections" in ${file}:2: 8 exceeds max_connections (4)`);
  });

  test('cross-key: a flag that breaks the order is blamed as a flag', () => {
    const file = writeConfig('connections = 8\n');
    const error = catchConfigError(() => loadConfig({ file, env: noEnv, flags: { maxConnections: 4 } }));
    expect(error.source).toBe('flag');
    expect(error.key).toBe('max_connections');
    expect(error.message).toContain('flag --max-connections');
    expect(error.message).toContain('4 is below connections (8)');
  });

  test('cross-key: retry.base_delay_ms above retry.max_delay_ms', () => {
    const file = writeConfig('[retry]\nmax_delay_ms = 100\nbase_delay_ms = 200\n');
    const error = catchConfigError(() => loadConfig({ file, env: noEnv, flags: {} }));
    expect(error.key).toBe('retry.base_delay_ms');
    expect(error.line).toBe(3);
  });

  test('an env error names the variable', () => {
    const error = catchConfigError(() =>
      loadConfig({ file: join(dir, 'absent.toml'), env: { ...noEnv, DDM_RETRY__ATTEMPTS: 'many' }, flags: {} }),
    );
    expect(error.source).toBe('env');
    expect(error.variable).toBe('DDM_RETRY__ATTEMPTS');
    expect(error.key).toBe('retry.attempts');
    expect(error.message).toBe(
      'Wrong type for "retry.attempts" in environment variable DDM_RETRY__ATTEMPTS: expected an integer, got "many"',
    );
  });

  test('a flag error names the flag', () => {
    const error = catchConfigError(() =>
      loadConfig({ file: join(dir, 'absent.toml'), env: noEnv, flags: { jobs: 0 } }),
    );
    expect(error.message).toBe('Out-of-range value for "jobs" in flag --jobs: 0 is not in 1..64');
  });

  test('an unreadable config path is an ERR_CONFIG read error', () => {
    const error = catchConfigError(() => loadConfig({ file: dir, env: noEnv, flags: {} }));
    expect(error.kind).toBe('read');
    expect(error.file).toBe(dir);
  });
});

describe('initConfigText', () => {
  test('parses to all defaults and lists every key', () => {
    const text = initConfigText();
    const file = writeConfig(text);
    const result = loadConfig({ file, env: noEnv, flags: {} });
    expect(result.config).toEqual(DEFAULT_CONFIG);
    for (const { key, envVar } of configKeys()) {
      const leaf = key.includes('.') ? key.slice(key.indexOf('.') + 1) : key;
      expect(text).toContain(`# ${leaf} = `);
      expect(text).toContain(envVar);
    }
  });

  test('uncommenting every key gives the defaults from the file', () => {
    const uncommented = initConfigText().replace(/^# ([a-z_]+ = )/gm, '$1');
    const file = writeConfig(uncommented);
    const result = loadConfig({ file, env: noEnv, flags: {} });
    expect(result.config).toEqual(DEFAULT_CONFIG);
    expect(new Set(Object.values(result.sources))).toEqual(new Set(['file']));
  });
});

describe('setConfigValue', () => {
  test('edits a line in place and keeps comments and other lines', () => {
    const text = '# my settings\nconnections = 2   # two is plenty\n\n# retries\n[retry]\nattempts = 1 # once\n';
    const edited = setConfigValue(text, 'connections', '4');
    expect(edited).toBe(
      '# my settings\nconnections = 4   # two is plenty\n\n# retries\n[retry]\nattempts = 1 # once\n',
    );
    const retried = setConfigValue(edited, 'retry.attempts', '9');
    expect(retried).toContain('attempts = 9 # once');
    expect(retried).toContain('# my settings');
  });

  test('uncomments the line written by config init', () => {
    const text = initConfigText();
    const edited = setConfigValue(text, 'retry.attempts', '3');
    expect(edited).toContain('\nattempts = 3\n');
    expect(edited).not.toContain('# attempts = 5');
    expect(edited.split('\n').length).toBe(text.split('\n').length);
    const file = writeConfig(edited);
    expect(loadConfig({ file, env: noEnv, flags: {} }).config.retry.attempts).toBe(3);
  });

  test('appends a top-level key before the first table, and creates a missing table', () => {
    const text = '# top\njobs = 2\n\n# retry section\n[retry]\nattempts = 1\n';
    const withKey = setConfigValue(text, 'connections', '4');
    expect(withKey).toBe('# top\njobs = 2\nconnections = 4\n\n# retry section\n[retry]\nattempts = 1\n');
    const withTable = setConfigValue(withKey, 'timeouts.connect_ms', '5000');
    expect(withTable.endsWith('attempts = 1\n\n[timeouts]\nconnect_ms = 5000\n')).toBe(true);
    const withLeaf = setConfigValue(withTable, 'retry.max_delay_ms', '1000');
    expect(withLeaf).toContain('[retry]\nattempts = 1\nmax_delay_ms = 1000\n');
  });

  test('writes strings quoted, sizes with their unit, and keeps CRLF line ends', () => {
    expect(setConfigValue('', 'download_dir', 'C:\\dl "x"')).toBe('download_dir = "C:\\\\dl \\"x\\""\n');
    expect(setConfigValue('', 'max_bytes_per_sec', '10M')).toBe('max_bytes_per_sec = "10M"\n');
    expect(setConfigValue('', 'max_bytes_per_sec', '2048')).toBe('max_bytes_per_sec = 2048\n');
    expect(setConfigValue('jobs = 1\r\n', 'jobs', '2')).toBe('jobs = 2\r\n');
  });

  test('rejects an unknown key, a bad value and a value that breaks a cross-key rule', () => {
    const unknown = catchConfigError(() => setConfigValue('', 'conections', '4', '/x/config.toml'));
    expect(unknown.kind).toBe('unknown-key');
    expect(unknown.message).toContain('did you mean "connections"?');
    const bad = catchConfigError(() => setConfigValue('', 'jobs', 'lots', '/x/config.toml'));
    expect(bad.kind).toBe('type');
    expect(bad.message).toContain('/x/config.toml');
    const crossed = catchConfigError(() =>
      setConfigValue('max_connections = 4\n', 'connections', '8', '/x/config.toml'),
    );
    expect(crossed.key).toBe('connections');
    expect(crossed.message).toContain('/x/config.toml:2');
  });
});

describe('formatConfigShow', () => {
  test('prints each key with its value and source, proxy credentials redacted', () => {
    const file = writeConfig('proxy = "http://user:hunter2@proxy.test:3128"\n');
    const result = loadConfig({ file, env: { ...noEnv, DDM_JOBS: '2' }, flags: { connections: 3 } });
    const lines = formatConfigShow(result).split('\n');
    expect(lines).toHaveLength(configKeys().length);
    expect(lines).toContain('connections = 3  (flag)');
    expect(lines).toContain('jobs = 2  (env)');
    expect(lines).toContain('proxy = "http://REDACTED@proxy.test:3128"  (file)');
    expect(lines).toContain('retry.attempts = 5  (default)');
    expect(lines).toContain(`user_agent = "${DEFAULT_USER_AGENT}"  (default)`);
  });

  test('configForShow (show --json) hides what the text form hides: the rpc secret and proxy credentials', () => {
    const file = writeConfig('proxy = "http://user:hunter2@proxy.test:3128"\n[rpc]\nsecret = "s3cret-token"\n');
    const loaded = loadConfig({ file, env: noEnv, flags: { connections: 3 } });
    const shown = configForShow(loaded.config);
    expect(shown.rpc.secret).toBe('***');
    expect(shown.proxy).toBe('http://REDACTED@proxy.test:3128');
    expect(JSON.stringify(shown)).not.toContain('s3cret-token');
    expect(JSON.stringify(shown)).not.toContain('hunter2');
    expect({ ...shown, proxy: loaded.config.proxy, rpc: { ...shown.rpc, secret: 's3cret-token' } }).toEqual(
      loaded.config,
    );
    expect(loaded.config.rpc.secret).toBe('s3cret-token');
    expect(configForShow(DEFAULT_CONFIG as DdmConfig).rpc.secret).toBe('');
    expect(formatConfigShow({ config: DEFAULT_CONFIG as DdmConfig, sources: loaded.sources })).toContain(
      'rpc.secret = ""  (file)',
    );
  });

  test('shownConfigArgument hides a secret given to config set, redacts credentials in others', () => {
    expect(shownConfigArgument('rpc.secret', 's3cret-token')).toBe('***');
    expect(shownConfigArgument('rpc.secret', '')).toBe('');
    expect(shownConfigArgument('proxy', 'http://user:hunter2@proxy.test')).not.toContain('hunter2');
    expect(shownConfigArgument('connections', '4')).toBe('4');
  });
});

describe('configKeys and value parsing', () => {
  test('covers every field of DdmConfig exactly once', () => {
    const keys = configKeys().map((info) => info.key);
    expect(new Set(keys).size).toBe(keys.length);
    const fieldCount =
      Object.keys(DEFAULT_CONFIG).length -
      4 +
      Object.keys(DEFAULT_CONFIG.retry).length +
      Object.keys(DEFAULT_CONFIG.timeouts).length +
      Object.keys(DEFAULT_CONFIG.rpc).length +
      Object.keys(DEFAULT_CONFIG.tls).length;
    expect(keys.length).toBe(fieldCount);
  });

  test('[rpc] keys: booleans take true/false, the secret is hidden by config show', () => {
    expect(parseConfigValue('rpc.listen_all', 'true')).toBe(true);
    expect(() => parseConfigValue('rpc.listen_all', 'yes')).toThrow(/rpc.listen_all/);
    expect(parseConfigValue('rpc.port', '0')).toBe(0);
    expect(() => parseConfigValue('rpc.port', '70000')).toThrow(/rpc.port/);
    const loaded = loadConfig({
      file: '/nonexistent/config.toml',
      env: { DDM_RPC__SECRET: 'hunter2', DDM_RPC__ALLOW_ORIGIN_ALL: 'true' },
      flags: {},
    });
    expect(loaded.config.rpc).toEqual({
      port: 6800,
      secret: 'hunter2',
      listenAll: false,
      allowOriginAll: true,
      allowedOrigins: '',
    });
    const shown = formatConfigShow(loaded);
    expect(shown).toContain('rpc.secret = "***"  (env)');
    expect(shown).not.toContain('hunter2');
    expect(setConfigValue('', 'rpc.listen_all', 'true')).toBe('[rpc]\nlisten_all = true\n');
  });

  test('boolean, text and secret values: typed in TOML, checked in env and config set', () => {
    const typed = loadConfig({
      file: writeConfig('[rpc]\nlisten_all = true\nsecret = "abc"\nallowed_origins = ""\n'),
      env: noEnv,
      flags: {},
    });
    expect(typed.config.rpc).toMatchObject({ listenAll: true, secret: 'abc', allowedOrigins: '' });
    for (const [text, detail] of [
      ['[rpc]\nlisten_all = "true"\n', 'expected true or false, got a string ("true")'],
      ['[rpc]\nlisten_all = 1\n', 'expected true or false, got an integer (1)'],
      ['[rpc]\nallowed_origins = false\n', 'expected a string, got a boolean (false)'],
      ['[rpc]\nport = true\n', 'expected an integer, got a boolean (true)'],
      ['[rpc]\nsecret = "a\\nb"\n', 'must be a single line'],
    ] as const) {
      const error = catchConfigError(() => loadConfig({ file: writeConfig(text), env: noEnv, flags: {} }));
      expect(error.message).toContain(detail);
      expect(error.line).toBe(2);
    }
    // An empty variable sets no boolean, as for numbers; it empties a text key.
    const emptyEnv = loadConfig({
      file: writeConfig('[rpc]\nlisten_all = true\nallowed_origins = "http://a.test"\n'),
      env: { ...noEnv, DDM_RPC__LISTEN_ALL: '', DDM_RPC__ALLOWED_ORIGINS: '' },
      flags: {},
    });
    expect(emptyEnv.config.rpc).toMatchObject({ listenAll: true, allowedOrigins: '' });
    expect(emptyEnv.sources['rpc.listen_all']).toBe('file');
    expect(emptyEnv.sources['rpc.allowed_origins']).toBe('env');
    expect(() => loadConfig({ file: '/nonexistent', env: { DDM_RPC__SECRET: 'a\nb' }, flags: {} })).toThrow(
      /DDM_RPC__SECRET.*single line/,
    );
    expect(() => parseConfigValue('rpc.allowed_origins', 'a\rb')).toThrow(/rpc.allowed_origins/);
    expect(setConfigValue('', 'rpc.allowed_origins', '')).toBe('[rpc]\nallowed_origins = ""\n');
    expect(setConfigValue('[rpc]\nlisten_all = true\n', 'rpc.listen_all', 'false')).toBe('[rpc]\nlisten_all = false\n');
    expect(() => setConfigValue('', 'rpc.listen_all', 'on')).toThrow(/true or false/);
    expect(configDocCells().find((cell) => cell.key === 'rpc.listen_all')?.default).toBe('false');
    expect(initConfigText()).toContain('# listen_all = false\n');
  });

  test('size keys take bytes or a binary unit', () => {
    expect(parseConfigValue('min_split_size', '1M')).toBe(1_048_576);
    expect(parseConfigValue('min_split_size', '4.5k')).toBe(4608);
    expect(parseConfigValue('max_bytes_per_sec', '10MB')).toBe(10 * 1_048_576);
    expect(parseConfigValue('min_split_size', '1GiB')).toBe(1_073_741_824);
    expect(parseConfigValue('segment_buffer_bytes', '8192')).toBe(8192);
    expect(() => parseConfigValue('max_bytes_per_sec', '-1M')).toThrow(ConfigError);
    expect(() => parseConfigValue('max_bytes_per_sec', 'M')).toThrow(ConfigError);
    expect(() => parseConfigValue('max_bytes_per_sec', '1.5')).toThrow(ConfigError);
  });

  test('parseConfigValue parses flag text like env text', () => {
    expect(parseConfigValue('max_bytes_per_sec', '10M')).toBe(10 * 1_048_576);
    expect(parseConfigValue('retry.attempts', '0')).toBe(0);
    expect(() => parseConfigValue('connections', '0')).toThrow(ConfigError);
  });
});

describe('removed keys', () => {
  test('a file that still sets min_connections loads, with a note naming the file and line', () => {
    const file = writeConfig('connections = 2\nmin_connections = 3\n');
    const result = loadConfig({ file, env: noEnv, flags: {} });
    expect(result.config.connections).toBe(2);
    expect(result.config).not.toHaveProperty('minConnections');
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]).toContain(`"min_connections" in ${file}:2 is ignored`);
  });

  test('config set refuses a removed key and says why', () => {
    const error = catchConfigError(() => setConfigValue('', 'min_connections', '2', '/x/config.toml'));
    expect(error.kind).toBe('unknown-key');
    expect(error.key).toBe('min_connections');
    expect(error.message).toContain('was removed');
  });
});

describe('the table feeds the engine settings', () => {
  test('DEFAULT_SETTINGS are the settings of DEFAULT_CONFIG, with 0 and "" meaning none', () => {
    expect(DEFAULT_SETTINGS).toEqual(settingsFromConfig(DEFAULT_CONFIG as DdmConfig));
    expect(DEFAULT_SETTINGS.maxBytesPerSec).toBeNull();
    expect(DEFAULT_SETTINGS.proxy).toBeNull();
    expect(DEFAULT_SETTINGS.userAgent).toBe(DEFAULT_USER_AGENT);
    expect(DEFAULT_SETTINGS.lowSpeedTimeMs).toBe(20_000);
  });

  test('changing any key that names a setting changes that setting', () => {
    const specs = (CONFIG_TABLE as readonly ConfigKeySpec[]).filter((spec) => spec.setting !== undefined);
    expect(specs.length).toBeGreaterThan(10);
    for (const spec of specs) {
      const other =
        spec.type === 'enum'
          ? spec.values?.find((value) => value !== spec.default)
          : spec.type === 'url'
            ? 'http://proxy.test:3128'
            : spec.type === 'string'
              ? 'other-agent/1'
              : (spec.default as number) > (spec.min ?? 0)
                ? (spec.default as number) - 1
                : (spec.default as number) + 1;
      const file = writeConfig(
        spec.key.includes('.')
          ? `[${spec.key.split('.')[0]}]\n${spec.key.split('.')[1]} = ${JSON.stringify(other)}\n`
          : `${spec.key} = ${JSON.stringify(other)}\n`,
      );
      const { config } = loadConfig({ file, env: noEnv, flags: {} });
      const field = spec.setting as keyof EngineSettings;
      expect({ key: spec.key, value: settingsFromConfig(config)[field] }).not.toEqual({
        key: spec.key,
        value: DEFAULT_SETTINGS[field],
      });
    }
  });
});

describe('README.md', () => {
  test('its config table lists every key with the type, default and range of the table, and no other', async () => {
    const readme = await Bun.file(join(import.meta.dir, '../../../README.md')).text();
    const lines = readme.split('\n');
    const header = lines.indexOf('| key | type | default | range | meaning |');
    expect(header).toBeGreaterThan(-1);
    const end = lines.findIndex((line, index) => index > header && !line.startsWith('|'));
    const configRows = lines.slice(header + 2, end).map((row) => row.split('|').map((cell) => cell.trim()));
    const cells = configDocCells();
    expect(configRows.map((row) => (row[1] ?? '').replace(/`/g, ''))).toEqual(cells.map((c) => c.key));
    for (const [index, cell] of cells.entries()) {
      const row = configRows[index] ?? [];
      expect({ key: cell.key, type: row[2], default: row[3], range: row[4] }).toEqual({
        key: cell.key,
        type: cell.type,
        default: cell.default,
        range: cell.range,
      });
    }
  });
});
