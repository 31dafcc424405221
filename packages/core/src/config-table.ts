/**
 * Every `config.toml` key, declared once: its TOML name, type and bounds, default, description
 * and the engine setting it feeds. `DdmConfig`, `ConfigKey`, `DEFAULT_CONFIG`, the env variable
 * names, `config show` / `config init` text, the README table check and `settingsFromConfig`
 * (settings.ts) are all derived from {@link CONFIG_TABLE}; adding a key here is the whole change.
 */
import type { LogLevel } from './log.ts';
import type { EngineSettings } from './settings.ts';
import { DEFAULT_USER_AGENT } from './version.ts';

/**
 * - `integer`: a TOML integer (a decimal string in env and `config set`);
 * - `size`: bytes as an integer or a string with a binary unit (`"512K"`, `"10M"`, `"1GiB"`);
 * - `enum`: one of `values`; `string`, `path` (`~` expanded), `url`, `command` (run by `sh -c`);
 * - `boolean`: TOML true/false (`"true"`/`"false"` in env and `config set`);
 * - `text`: a single-line string, possibly empty; `secret`: the same, shown as `"***"` by
 *   `config show` (text and `--json`).
 */
export type ConfigValueType =
  | 'integer'
  | 'size'
  | 'enum'
  | 'string'
  | 'path'
  | 'url'
  | 'command'
  | 'boolean'
  | 'text'
  | 'secret';

/** One row of the table. */
export interface ConfigKeySpec {
  /** Dotted TOML key: `connections`, or `retry.attempts` for `attempts` in `[retry]`. */
  readonly key: string;
  readonly type: ConfigValueType;
  readonly default: number | string | boolean;
  readonly description: string;
  /** Inclusive bounds of numeric keys. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of `enum` keys. */
  readonly values?: readonly string[];
  /** A key whose value this one may not exceed (checked across sources, the later one blamed). */
  readonly atMost?: string;
  /** The `EngineSettings` field this key feeds; keys without one are read by the CLI itself. */
  readonly setting?: keyof EngineSettings;
  /** Converts the config value for `setting` (e.g. 0 = unlimited becomes null). */
  readonly toSetting?: (value: never) => unknown;
  /** The default as the docs show it, when the value itself depends on the build (the version). */
  readonly docDefault?: string;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
/** Upper bound of numeric keys that have none of their own. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The catalogue, in the order of `config show`, `config init` and the README. */
export const CONFIG_TABLE = [
  {
    key: 'connections',
    type: 'integer',
    default: 8,
    min: 1,
    max: 64,
    atMost: 'max_connections',
    setting: 'connections',
    description: 'Connections per job unless the job asks for a number.',
  },
  {
    key: 'max_connections',
    type: 'integer',
    default: 16,
    min: 1,
    max: 64,
    setting: 'maxConnectionsPerJob',
    description: 'Most connections per job; at least `connections`.',
  },
  {
    key: 'max_connections_per_host',
    type: 'integer',
    default: 16,
    min: 1,
    max: 256,
    setting: 'maxConnectionsPerHost',
    description: 'Most connections to one host across all jobs.',
  },
  {
    key: 'max_connections_global',
    type: 'integer',
    default: 64,
    min: 1,
    max: 1024,
    setting: 'maxConnectionsGlobal',
    description: 'Most connections across all jobs.',
  },
  {
    key: 'jobs',
    type: 'integer',
    default: 3,
    min: 1,
    max: 64,
    setting: 'parallelJobs',
    description: 'Jobs downloading at the same time.',
  },
  {
    key: 'min_split_size',
    type: 'size',
    default: 1 * MIB,
    min: 4 * KIB,
    max: GIB,
    setting: 'minSplitBytes',
    description: 'Smallest segment in bytes; no split goes below it.',
  },
  {
    key: 'max_bytes_per_sec',
    type: 'size',
    default: 0,
    min: 0,
    max: MAX_SAFE,
    setting: 'maxBytesPerSec',
    toSetting: (value: number): number | null => (value > 0 ? value : null),
    description: 'Global download rate limit in bytes per second; 0 = unlimited.',
  },
  {
    key: 'segment_buffer_bytes',
    type: 'size',
    default: 256 * KIB,
    min: 4 * KIB,
    max: 64 * MIB,
    setting: 'segmentBufferBytes',
    description: 'Bytes buffered per segment before a write.',
  },
  {
    key: 'checkpoint_interval_ms',
    type: 'integer',
    default: 1000,
    min: 100,
    max: 60_000,
    setting: 'checkpointIntervalMs',
    description: 'How often progress is synced to disk and saved.',
  },
  {
    key: 'download_dir',
    type: 'path',
    default: '',
    description: 'Folder for downloads; `~` expanded; empty = the current folder.',
  },
  {
    key: 'overwrite',
    type: 'enum',
    default: 'rename',
    values: ['rename', 'overwrite', 'fail'],
    setting: 'overwrite',
    description: 'When the target file exists: pick a new name, replace it, or fail.',
  },
  {
    key: 'file_allocation',
    type: 'enum',
    default: 'sparse',
    values: ['sparse', 'full'],
    setting: 'fileAllocation',
    description: 'Create the target sparse, or allocate every byte up front.',
  },
  {
    key: 'proxy',
    type: 'url',
    default: '',
    setting: 'proxy',
    toSetting: (value: string): string | null => (value === '' ? null : value),
    description: 'HTTP(S) proxy URL for all requests; empty = use HTTP(S)_PROXY / NO_PROXY.',
  },
  {
    key: 'user_agent',
    type: 'string',
    default: DEFAULT_USER_AGENT,
    docDefault: 'ddm/<version>',
    setting: 'userAgent',
    description: 'User-Agent header sent with every request.',
  },
  {
    key: 'log_level',
    type: 'enum',
    default: 'info',
    values: ['error', 'warn', 'info', 'debug'] satisfies LogLevel[],
    description: 'Least severe level written to the log (`--verbose` = debug).',
  },
  {
    key: 'log_max_bytes',
    type: 'size',
    default: 5 * MIB,
    min: 64 * KIB,
    max: GIB,
    description: 'Size at which the log rotates (3 old logs kept).',
  },
  {
    key: 'on_complete',
    type: 'command',
    default: '',
    description: 'Shell command run after a job completes; empty = none.',
  },
  { key: 'on_error', type: 'command', default: '', description: 'Shell command run after a job fails; empty = none.' },
  {
    key: 'retry.attempts',
    type: 'integer',
    default: 5,
    min: 0,
    max: 100,
    setting: 'retryAttempts',
    description: 'Retries of a failed request; 0 = none.',
  },
  {
    key: 'retry.base_delay_ms',
    type: 'integer',
    default: 500,
    min: 0,
    max: 600_000,
    atMost: 'retry.max_delay_ms',
    setting: 'retryBaseDelayMs',
    description: 'Delay before the first retry; doubles per retry.',
  },
  {
    key: 'retry.max_delay_ms',
    type: 'integer',
    default: 30_000,
    min: 0,
    max: 3_600_000,
    setting: 'retryMaxDelayMs',
    description: 'Longest delay between retries.',
  },
  {
    key: 'timeouts.connect_ms',
    type: 'integer',
    default: 15_000,
    min: 100,
    max: 600_000,
    setting: 'connectTimeoutMs',
    description: 'Time allowed to connect and receive the response headers.',
  },
  {
    key: 'timeouts.probe_ms',
    type: 'integer',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    setting: 'probeTimeoutMs',
    description: 'Time a probe may take to get an answer (connect and response headers), over all its tries.',
  },
  {
    key: 'timeouts.low_speed_bytes_per_sec',
    type: 'size',
    default: 1 * KIB,
    min: 0,
    max: MAX_SAFE,
    setting: 'lowSpeedBytesPerSec',
    description: 'A connection slower than this for `low_speed_time_ms` is stalled; 0 = never.',
  },
  {
    key: 'timeouts.low_speed_time_ms',
    type: 'integer',
    default: 20_000,
    min: 1000,
    max: 3_600_000,
    setting: 'lowSpeedTimeMs',
    toSetting: (value: number): number => (value > 0 ? value : Number.POSITIVE_INFINITY),
    description: 'How long a connection may stay under `low_speed_bytes_per_sec`.',
  },
  {
    key: 'rpc.port',
    type: 'integer',
    default: 6800,
    min: 0,
    max: 65_535,
    description: '`ddm serve` port (aria2 JSON-RPC, `--rpc-listen-port`); 0 = any free port.',
  },
  {
    key: 'rpc.secret',
    type: 'secret',
    default: '',
    description: 'Token every RPC call must send (`token:SECRET`, `--rpc-secret`); empty = none.',
  },
  {
    key: 'rpc.listen_all',
    type: 'boolean',
    default: false,
    description: 'Listen on all interfaces, not only loopback (`--rpc-listen-all`); refused without a secret.',
  },
  {
    key: 'rpc.allow_origin_all',
    type: 'boolean',
    default: false,
    description: 'Let any web page call the RPC, CORS `*` (as aria2 `--rpc-allow-origin-all`).',
  },
  {
    key: 'rpc.allowed_origins',
    type: 'text',
    default: '',
    description: 'Comma-separated web origins allowed to call the RPC, e.g. "http://localhost:8080"; empty = none.',
  },
  {
    key: 'tls.ca_file',
    type: 'path',
    default: '',
    setting: 'caFile',
    toSetting: (value: string): string | null => (value === '' ? null : value),
    description: 'PEM file of extra CA certificates to trust (`--cacert`); empty = none.',
  },
  {
    key: 'tls.ca_path',
    type: 'path',
    default: '',
    setting: 'caPath',
    toSetting: (value: string): string | null => (value === '' ? null : value),
    description: 'Directory of PEM files of extra CA certificates (`--capath`); empty = none.',
  },
  {
    key: 'tls.verify',
    type: 'enum',
    default: 'on',
    values: ['on', 'off'],
    setting: 'isTlsInsecure',
    toSetting: (value: string): boolean => value === 'off',
    description: '`off` accepts any certificate, like `-k` (a warning on every run).',
  },
] as const satisfies readonly ConfigKeySpec[];

/**
 * Keys ddm once accepted and no longer reads, with why. A config file that still sets one loads
 * (the value is ignored and reported in `LoadedConfig.notes`); `config set` refuses it.
 */
export const REMOVED_CONFIG_KEYS: Readonly<Record<string, string>> = {
  min_connections: 'it was never used: jobs shrink to one connection when a server needs it',
};

type Spec = (typeof CONFIG_TABLE)[number];

/** Dotted TOML key, as written in `config.toml` and accepted by `ddm config set`. */
export type ConfigKey = Spec['key'];

type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

type ValueOf<S extends Spec> = S extends { type: 'enum'; values: readonly (infer V)[] }
  ? V
  : S extends { type: 'integer' | 'size' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : string;

type TableName = ConfigKey extends infer K ? (K extends `${infer T}.${string}` ? T : never) : never;

type TopLevel = {
  -readonly [S in Spec as S['key'] extends `${string}.${string}` ? never : Camel<S['key']>]: ValueOf<S>;
};

type TableFields<T extends string> = {
  -readonly [S in Spec as S['key'] extends `${T}.${infer Leaf}` ? Camel<Leaf> : never]: ValueOf<S>;
};

/**
 * The resolved configuration; each field mirrors a TOML key (`min_split_size` → `minSplitSize`,
 * `retry.attempts` → `retry.attempts`). See {@link CONFIG_TABLE} for what each key means.
 */
export type DdmConfig = TopLevel & { -readonly [T in TableName]: TableFields<T> };

/** `[retry]`: how a failed request is retried (delays grow exponentially, with jitter). */
export type RetryConfig = DdmConfig['retry'];
/** `[timeouts]` */
export type TimeoutsConfig = DdmConfig['timeouts'];
/** `[rpc]`: `ddm serve`, aria2's JSON-RPC (flag names follow aria2's). */
export type RpcConfig = DdmConfig['rpc'];
/** `[tls]` */
export type TlsConfig = DdmConfig['tls'];
export type OverwritePolicy = DdmConfig['overwrite'];
export type FileAllocation = DdmConfig['fileAllocation'];

// Compile-time guard: every EngineSettings field is fed by a key, or is engine-only.
type FedSettings = Extract<Spec, { setting: string }>['setting'];
type EngineOnlySettings = 'slowConnectionRatio' | 'slowConnectionMs';
const everySettingFed: Exclude<keyof EngineSettings, FedSettings | EngineOnlySettings> extends never ? true : never =
  true;
void everySettingFed;

/** `'' ` for top-level keys, else the table: `retry` for `retry.attempts`. */
export function tableOf(key: string): string {
  const dot = key.indexOf('.');
  return dot === -1 ? '' : key.slice(0, dot);
}

/** `attempts` for `retry.attempts`; the key itself at the top level. */
export function leafOf(key: string): string {
  return key.slice(key.indexOf('.') + 1);
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** `DDM_RETRY__ATTEMPTS` for `retry.attempts`. */
export function envVarOf(key: string): string {
  return `DDM_${key.toUpperCase().replace(/\./g, '__')}`;
}

/** `--retry-attempts` for `retry.attempts`. */
export function flagNameOf(key: string): string {
  return `--${key.replace(/[._]/g, '-')}`;
}

type ConfigRecord = Record<string, unknown>;

/** The value of dotted `key` in a config (or a partial one); undefined when absent. */
export function getConfigValue(config: DdmConfig | ConfigRecord, key: string): unknown {
  const table = tableOf(key);
  const record = config as ConfigRecord;
  if (table === '') return record[camel(key)];
  return (record[table] as ConfigRecord | undefined)?.[camel(leafOf(key))];
}

/** Sets dotted `key` in `config`, whose tables must exist. */
export function setConfigField(config: DdmConfig, key: string, value: unknown): void {
  const table = tableOf(key);
  const record = config as unknown as ConfigRecord;
  if (table === '') record[camel(key)] = value;
  else (record[table] as ConfigRecord)[camel(leafOf(key))] = value;
}

/** A fresh config holding every default (tables included). */
export function defaultConfig(): DdmConfig {
  const config: ConfigRecord = {};
  for (const spec of CONFIG_TABLE) {
    const table = tableOf(spec.key);
    if (table !== '') config[table] ??= {};
    setConfigField(config as DdmConfig, spec.key, spec.default);
  }
  return config as DdmConfig;
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) if (inner !== null && typeof inner === 'object') Object.freeze(inner);
  return Object.freeze(value);
}

/** Defaults of every key. Frozen; `loadConfig` returns fresh copies. */
export const DEFAULT_CONFIG: Readonly<DdmConfig> = deepFreeze(defaultConfig());
