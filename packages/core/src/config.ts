/**
 * `config.toml`: the key catalogue with defaults and ranges, loading with precedence
 * default < file < env < flag, one-line errors that name the file, the key and the line, and
 * the text edits behind `ddm config init` and `ddm config set`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from '@iarna/toml';
import { DdmError, errnoOf } from './errors.ts';
import type { LogLevel } from './log.ts';
import { expandHome, homeDirFrom } from './paths.ts';
import { redactText } from './redact.ts';
import { parseBytes } from './units.ts';

export type OverwritePolicy = 'rename' | 'overwrite' | 'fail';
export type FileAllocation = 'sparse' | 'full';

/** `[retry]`: how a failed request is retried (delays grow exponentially, with jitter). */
export interface RetryConfig {
  /** Retries per segment after the first try; 0 disables retries. */
  attempts: number;
  /** Delay before the first retry. */
  baseDelayMs: number;
  /** Cap on any single retry delay. */
  maxDelayMs: number;
}

/** `[timeouts]` */
export interface TimeoutsConfig {
  /** Time allowed to connect and receive response headers. */
  connectMs: number;
  /** A connection slower than this for `lowSpeedTimeMs` is stalled; 0 disables the check. */
  lowSpeedBytesPerSec: number;
  lowSpeedTimeMs: number;
}

/** `[rpc]`: `ddm serve`, aria2's JSON-RPC (flag names follow aria2's). */
export interface RpcConfig {
  /** TCP port of `/jsonrpc`; 0 picks a free one. */
  port: number;
  /** `token:SECRET` every call must carry; empty = none (refused with `listen_all`). */
  secret: string;
  /** Listen on every interface instead of 127.0.0.1 and [::1]; needs a secret. */
  listenAll: boolean;
  /** Send `Access-Control-Allow-Origin: *` and accept any browser origin (as aria2). */
  allowOriginAll: boolean;
  /** Comma-separated browser origins allowed to call (`http://localhost:8080`); empty = none. */
  allowedOrigins: string;
}

/** The resolved configuration; each field mirrors a TOML key (`min_split_size` → `minSplitSize`). */
export interface DdmConfig {
  /** Connections per job unless the job asks for a number. */
  connections: number;
  /** Fewest connections the engine shrinks a job to. */
  minConnections: number;
  /** Most connections one job may use. */
  maxConnections: number;
  maxConnectionsPerHost: number;
  maxConnectionsGlobal: number;
  /** Jobs downloading at once. */
  jobs: number;
  /** Smallest segment, in bytes: no split makes a segment smaller than this. */
  minSplitSize: number;
  /** Global rate limit; 0 = unlimited. */
  maxBytesPerSec: number;
  segmentBufferBytes: number;
  checkpointIntervalMs: number;
  /** Absolute or relative folder, `~` expanded; empty = the current folder. */
  downloadDir: string;
  overwrite: OverwritePolicy;
  fileAllocation: FileAllocation;
  /** Proxy URL; empty = use the environment. */
  proxy: string;
  userAgent: string;
  logLevel: LogLevel;
  logMaxBytes: number;
  /** Shell command run after a job completes; empty = none. */
  onComplete: string;
  /** Shell command run after a job fails; empty = none. */
  onError: string;
  retry: RetryConfig;
  timeouts: TimeoutsConfig;
  rpc: RpcConfig;
}

/** Dotted TOML key, as written in `config.toml` and accepted by `ddm config set`. */
export type ConfigKey =
  | 'connections'
  | 'min_connections'
  | 'max_connections'
  | 'max_connections_per_host'
  | 'max_connections_global'
  | 'jobs'
  | 'min_split_size'
  | 'max_bytes_per_sec'
  | 'segment_buffer_bytes'
  | 'checkpoint_interval_ms'
  | 'download_dir'
  | 'overwrite'
  | 'file_allocation'
  | 'proxy'
  | 'user_agent'
  | 'log_level'
  | 'log_max_bytes'
  | 'on_complete'
  | 'on_error'
  | 'retry.attempts'
  | 'retry.base_delay_ms'
  | 'retry.max_delay_ms'
  | 'timeouts.connect_ms'
  | 'timeouts.low_speed_bytes_per_sec'
  | 'timeouts.low_speed_time_ms'
  | 'rpc.port'
  | 'rpc.secret'
  | 'rpc.listen_all'
  | 'rpc.allow_origin_all'
  | 'rpc.allowed_origins';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

/**
 * - `integer`: a TOML integer (a decimal string in env and `config set`);
 * - `size`: bytes as an integer or a string with a binary unit (`"512K"`, `"10M"`, `"1GiB"`);
 * - `enum`: one of `values`; `string`, `path` (`~` expanded), `url`, `command` (run by `sh -c`);
 * - `boolean`: TOML true/false (`"true"`/`"false"` in env and `config set`);
 * - `text`: a single-line string, possibly empty; `secret`: the same, shown as `"***"` by `config show`.
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

export interface ConfigKeyInfo {
  key: ConfigKey;
  description: string;
  default: number | string | boolean;
  type: ConfigValueType;
  /** Inclusive bounds of numeric keys. */
  min?: number;
  max?: number;
  /** Allowed values of `enum` keys. */
  values?: readonly string[];
  /** Environment variable that sets the key: `DDM_RETRY__ATTEMPTS` for `retry.attempts`. */
  envVar: string;
}

/**
 * Flag overrides: any top-level field, and any subset of the `retry` / `timeouts` fields
 * (a `Partial<DdmConfig>` is accepted as is).
 */
export type ConfigFlags = {
  [K in keyof DdmConfig]?: DdmConfig[K] extends object ? Partial<DdmConfig[K]> : DdmConfig[K];
};

export interface LoadConfigOptions {
  /** Path of `config.toml`; a missing file means all defaults. */
  file: string;
  /** Environment to read `DDM_*` variables (and `HOME`, for `~`) from. */
  env: Record<string, string | undefined>;
  flags: ConfigFlags;
}

export interface LoadedConfig {
  config: DdmConfig;
  /** Where each key's value came from. */
  sources: Record<ConfigKey, ConfigSource>;
  file: string;
  hasFile: boolean;
}

export type ConfigErrorKind = 'syntax' | 'unknown-key' | 'type' | 'range' | 'read';
/** Where the offending value was: the file, a `DDM_*` variable, a flag, or a `config set` argument. */
export type ConfigErrorSource = 'file' | 'env' | 'flag' | 'argument';

export interface ConfigErrorDetails {
  kind: ConfigErrorKind;
  source: ConfigErrorSource;
  file: string | null;
  key: string | null;
  line: number | null;
  column?: number | null;
  variable?: string | null;
  cause?: unknown;
}

/**
 * An invalid configuration (code `ERR_CONFIG`, exit code 2 in the CLI). The one-line message
 * names the file and line (or the variable or flag), the key, and what is wrong:
 * `Unknown key "conections" in /home/u/.config/ddm/config.toml:3 (did you mean "connections"?)`.
 */
export class ConfigError extends DdmError {
  override name = 'ConfigError';
  override readonly code = 'ERR_CONFIG' as const;
  readonly kind: ConfigErrorKind;
  readonly source: ConfigErrorSource;
  /** The config file concerned; null for env and flag values. */
  readonly file: string | null;
  /** Dotted key (`retry.attempts`); null when a syntax error is on no key's line. */
  readonly key: string | null;
  /** 1-based line in `file`; null when unknown or not from the file. */
  readonly line: number | null;
  /** 1-based column of a syntax error. */
  readonly column: number | null;
  /** The `DDM_*` variable, for env values. */
  readonly variable: string | null;

  constructor(message: string, details: ConfigErrorDetails) {
    super(message, { code: 'ERR_CONFIG', cause: details.cause });
    this.kind = details.kind;
    this.source = details.source;
    this.file = details.file;
    this.key = details.key;
    this.line = details.line;
    this.column = details.column ?? null;
    this.variable = details.variable ?? null;
  }
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** Defaults of every key. Frozen; `loadConfig` returns fresh copies. */
export const DEFAULT_CONFIG: Readonly<DdmConfig> = Object.freeze({
  connections: 8,
  minConnections: 1,
  maxConnections: 16,
  maxConnectionsPerHost: 16,
  maxConnectionsGlobal: 64,
  jobs: 3,
  minSplitSize: 1 * MIB,
  maxBytesPerSec: 0,
  segmentBufferBytes: 256 * KIB,
  checkpointIntervalMs: 1000,
  downloadDir: '',
  overwrite: 'rename',
  fileAllocation: 'sparse',
  proxy: '',
  userAgent: 'ddm/0.1',
  logLevel: 'info',
  logMaxBytes: 5 * MIB,
  onComplete: '',
  onError: '',
  retry: Object.freeze({ attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 }),
  timeouts: Object.freeze({ connectMs: 15_000, lowSpeedBytesPerSec: 1 * KIB, lowSpeedTimeMs: 20_000 }),
  rpc: Object.freeze({ port: 6800, secret: '', listenAll: false, allowOriginAll: false, allowedOrigins: '' }),
});

interface KeySpec {
  key: ConfigKey;
  type: ConfigValueType;
  description: string;
  min?: number;
  max?: number;
  values?: readonly string[];
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The catalogue, in the order of `config show` and `config init`. */
const SPECS: readonly KeySpec[] = [
  {
    key: 'connections',
    type: 'integer',
    min: 1,
    max: 64,
    description: 'Connections per job unless the job asks for a number.',
  },
  {
    key: 'min_connections',
    type: 'integer',
    min: 1,
    max: 64,
    description: 'Fewest connections per job; at most `connections`.',
  },
  {
    key: 'max_connections',
    type: 'integer',
    min: 1,
    max: 64,
    description: 'Most connections per job; at least `connections`.',
  },
  {
    key: 'max_connections_per_host',
    type: 'integer',
    min: 1,
    max: 256,
    description: 'Most connections to one host across all jobs.',
  },
  {
    key: 'max_connections_global',
    type: 'integer',
    min: 1,
    max: 1024,
    description: 'Most connections across all jobs.',
  },
  { key: 'jobs', type: 'integer', min: 1, max: 64, description: 'Jobs downloading at the same time.' },
  {
    key: 'min_split_size',
    type: 'size',
    min: 4 * KIB,
    max: GIB,
    description: 'Smallest segment in bytes; no split goes below it.',
  },
  {
    key: 'max_bytes_per_sec',
    type: 'size',
    min: 0,
    max: MAX_SAFE,
    description: 'Global download rate limit in bytes per second; 0 = unlimited.',
  },
  {
    key: 'segment_buffer_bytes',
    type: 'size',
    min: 4 * KIB,
    max: 64 * MIB,
    description: 'Bytes buffered per segment before a write.',
  },
  {
    key: 'checkpoint_interval_ms',
    type: 'integer',
    min: 100,
    max: 60_000,
    description: 'How often progress is synced to disk and saved.',
  },
  { key: 'download_dir', type: 'path', description: 'Folder for downloads; `~` expanded; empty = the current folder.' },
  {
    key: 'overwrite',
    type: 'enum',
    values: ['rename', 'overwrite', 'fail'],
    description: 'When the target file exists: pick a new name, replace it, or fail.',
  },
  {
    key: 'file_allocation',
    type: 'enum',
    values: ['sparse', 'full'],
    description: 'Create the target sparse, or allocate every byte up front.',
  },
  {
    key: 'proxy',
    type: 'url',
    description: 'HTTP(S) proxy URL for all requests; empty = use HTTP(S)_PROXY / NO_PROXY.',
  },
  { key: 'user_agent', type: 'string', description: 'User-Agent header sent with every request.' },
  {
    key: 'log_level',
    type: 'enum',
    values: ['error', 'warn', 'info', 'debug'],
    description: 'Least severe level written to the log (`--verbose` = debug).',
  },
  {
    key: 'log_max_bytes',
    type: 'size',
    min: 64 * KIB,
    max: GIB,
    description: 'Size at which the log rotates (3 old logs kept).',
  },
  { key: 'on_complete', type: 'command', description: 'Shell command run after a job completes; empty = none.' },
  { key: 'on_error', type: 'command', description: 'Shell command run after a job fails; empty = none.' },
  { key: 'retry.attempts', type: 'integer', min: 0, max: 100, description: 'Retries of a failed request; 0 = none.' },
  {
    key: 'retry.base_delay_ms',
    type: 'integer',
    min: 0,
    max: 600_000,
    description: 'Delay before the first retry; doubles per retry.',
  },
  { key: 'retry.max_delay_ms', type: 'integer', min: 0, max: 3_600_000, description: 'Longest delay between retries.' },
  {
    key: 'timeouts.connect_ms',
    type: 'integer',
    min: 100,
    max: 600_000,
    description: 'Time allowed to connect and receive the response headers.',
  },
  {
    key: 'timeouts.low_speed_bytes_per_sec',
    type: 'size',
    min: 0,
    max: MAX_SAFE,
    description: 'A connection slower than this for `low_speed_time_ms` is stalled; 0 = never.',
  },
  {
    key: 'timeouts.low_speed_time_ms',
    type: 'integer',
    min: 1000,
    max: 3_600_000,
    description: 'How long a connection may stay under `low_speed_bytes_per_sec`.',
  },
  {
    key: 'rpc.port',
    type: 'integer',
    min: 0,
    max: 65_535,
    description: '`ddm serve` port (aria2 JSON-RPC); 0 = any free port.',
  },
  { key: 'rpc.secret', type: 'secret', description: 'RPC secret (`token:SECRET`); empty = none.' },
  {
    key: 'rpc.listen_all',
    type: 'boolean',
    description: 'Listen on all interfaces, not only loopback; needs a secret.',
  },
  {
    key: 'rpc.allow_origin_all',
    type: 'boolean',
    description: 'Let any web page call the RPC (CORS `*`, as aria2 `--rpc-allow-origin-all`).',
  },
  {
    key: 'rpc.allowed_origins',
    type: 'text',
    description: 'Comma-separated web origins allowed to call the RPC, e.g. "http://localhost:8080".',
  },
];

const SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(SPECS.map((spec) => [spec.key, spec]));
const TABLES: ReadonlySet<string> = new Set(
  SPECS.filter((spec) => spec.key.includes('.')).map((spec) => tableOf(spec.key)),
);

/** `a <= b` checks across keys; on a violation the later-set key (or `low` on a tie) is blamed. */
const ORDER_CHECKS: readonly { low: ConfigKey; high: ConfigKey }[] = [
  { low: 'min_connections', high: 'connections' },
  { low: 'connections', high: 'max_connections' },
  { low: 'retry.base_delay_ms', high: 'retry.max_delay_ms' },
];

const SOURCE_RANK: Record<ConfigSource, number> = { default: 0, file: 1, env: 2, flag: 3 };

function tableOf(key: string): string {
  const dot = key.indexOf('.');
  return dot === -1 ? '' : key.slice(0, dot);
}

function leafOf(key: string): string {
  return key.slice(key.indexOf('.') + 1);
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** `DDM_RETRY__ATTEMPTS` for `retry.attempts`. */
function envVarOf(key: string): string {
  return `DDM_${key.toUpperCase().replace(/\./g, '__')}`;
}

/** `--retry-attempts` for `retry.attempts`. */
function flagNameOf(key: string): string {
  return `--${key.replace(/[._]/g, '-')}`;
}

type ConfigRecord = Record<string, unknown>;

function getValue(config: DdmConfig, key: string): unknown {
  const table = tableOf(key);
  const record = config as unknown as ConfigRecord;
  if (table === '') return record[camel(key)];
  return (record[table] as ConfigRecord | undefined)?.[camel(leafOf(key))];
}

function setValue(config: DdmConfig, key: string, value: unknown): void {
  const table = tableOf(key);
  const record = config as unknown as ConfigRecord;
  if (table === '') record[camel(key)] = value;
  else (record[table] as ConfigRecord)[camel(leafOf(key))] = value;
}

function cloneDefaults(): DdmConfig {
  return {
    ...DEFAULT_CONFIG,
    retry: { ...DEFAULT_CONFIG.retry },
    timeouts: { ...DEFAULT_CONFIG.timeouts },
    rpc: { ...DEFAULT_CONFIG.rpc },
  };
}

/**
 * Bytes from a size string (`"512K"`, `"1.5M"`, `"1GiB"`; K = 1024), with `parseBytes`'s rules so
 * config values and CLI flags agree; null when the text is not a size.
 */
function parseSize(text: string): number | null {
  try {
    return parseBytes(text);
  } catch {
    return null;
  }
}

/** `1048576` → `"1M"`, `262144` → `"256K"`; sizes that are not whole units stay plain numbers. */
function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['G', GIB],
    ['M', MIB],
    ['K', KIB],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

interface ValueProblem {
  kind: 'type' | 'range';
  detail: string;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (typeof value === 'number') return Number.isInteger(value) ? `an integer (${value})` : `a float (${value})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (value instanceof Date) return 'a datetime';
  if (Array.isArray(value)) return 'an array';
  // @iarna/toml returns integers beyond 2^53 - 1 as (64-bit wrapped) bigints.
  if (typeof value === 'bigint') return 'an integer too large';
  if (value !== null && typeof value === 'object') return 'a table';
  return String(value);
}

function expectedOf(spec: KeySpec): string {
  switch (spec.type) {
    case 'integer':
      return 'an integer';
    case 'size':
      return 'an integer or a size like "1M"';
    case 'enum':
    case 'string':
    case 'path':
    case 'url':
    case 'command':
    case 'text':
    case 'secret':
      return 'a string';
    case 'boolean':
      return 'true or false';
    default: {
      const exhaustive: never = spec.type;
      return exhaustive;
    }
  }
}

function rangeText(spec: KeySpec): string {
  if (spec.max === MAX_SAFE) return `at least ${spec.min ?? 0}`;
  return `${spec.min ?? 0}..${spec.max ?? MAX_SAFE}`;
}

/**
 * Checks and converts one value. `isText` values come from env or `config set` (integers as
 * decimal text); other values are typed (TOML, flags).
 */
function coerce(
  spec: KeySpec,
  value: unknown,
  isText: boolean,
): { value: number | string | boolean } | { problem: ValueProblem } {
  const typeProblem = (): { problem: ValueProblem } => ({
    problem: {
      kind: 'type',
      detail: `expected ${expectedOf(spec)}, got ${isText ? JSON.stringify(value) : describeValue(value)}`,
    },
  });
  if (spec.type === 'integer' || spec.type === 'size') {
    let number: number | null = null;
    if (typeof value === 'number' && Number.isInteger(value)) number = value;
    else if (typeof value === 'string' && spec.type === 'size') number = parseSize(value);
    else if (typeof value === 'string' && isText && /^\s*[+-]?\d+\s*$/.test(value)) number = Number(value);
    else if (typeof value === 'bigint') {
      return { problem: { kind: 'range', detail: `the integer is too large (allowed ${rangeText(spec)})` } };
    }
    if (number === null || !Number.isSafeInteger(number)) {
      if (typeof value === 'string' && !isText && spec.type === 'integer' && /^\s*\d/.test(value)) {
        return {
          problem: {
            kind: 'type',
            detail: `expected an integer, got a string (${JSON.stringify(value)}); remove the quotes`,
          },
        };
      }
      return typeProblem();
    }
    if (number < (spec.min ?? 0) || number > (spec.max ?? MAX_SAFE)) {
      return { problem: { kind: 'range', detail: `${number} is not in ${rangeText(spec)}` } };
    }
    return { value: number };
  }
  if (spec.type === 'boolean') {
    if (typeof value === 'boolean') return { value };
    if (isText && (value === 'true' || value === 'false')) return { value: value === 'true' };
    return typeProblem();
  }
  if (typeof value !== 'string') return typeProblem();
  if (/[\0]/.test(value)) return { problem: { kind: 'range', detail: 'contains a NUL character' } };
  switch (spec.type) {
    case 'enum': {
      const values = spec.values ?? [];
      if (!values.includes(value)) {
        return {
          problem: {
            kind: 'range',
            detail: `${JSON.stringify(value)} is not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
          },
        };
      }
      return { value };
    }
    case 'url': {
      if (value.trim() === '') return { value: '' };
      const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? value.trim() : `http://${value.trim()}`;
      let parsed: URL | null = null;
      try {
        parsed = new URL(withScheme);
      } catch {
        parsed = null;
      }
      if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
        return {
          problem: { kind: 'range', detail: `${JSON.stringify(redactText(value))} is not an http:// or https:// URL` },
        };
      }
      return { value: value.trim() };
    }
    case 'string':
      if (value === '' || /[\r\n]/.test(value)) {
        return { problem: { kind: 'range', detail: 'must be a non-empty single line' } };
      }
      return { value };
    case 'text':
    case 'secret':
      if (/[\r\n]/.test(value)) return { problem: { kind: 'range', detail: 'must be a single line' } };
      return { value };
    case 'path':
    case 'command':
      return { value };
    default:
      return typeProblem();
  }
}

/** Origin of a value, for error messages. */
type Origin =
  | { source: 'file'; file: string; line: number | null; column?: number | null }
  | { source: 'env'; variable: string }
  | { source: 'flag' }
  | { source: 'argument'; file: string };

function where(origin: Origin, key: string | null): string {
  switch (origin.source) {
    case 'file':
      return origin.line === null ? origin.file : `${origin.file}:${origin.line}`;
    case 'env':
      return `environment variable ${origin.variable}`;
    case 'flag':
      return `flag ${flagNameOf(key ?? '')}`;
    case 'argument':
      return `the value given for ${origin.file}`;
    default: {
      const exhaustive: never = origin;
      return String(exhaustive);
    }
  }
}

function configError(
  kind: ConfigErrorKind,
  key: string | null,
  origin: Origin,
  message: string,
  cause?: unknown,
): ConfigError {
  return new ConfigError(message, {
    kind,
    source: origin.source,
    file: origin.source === 'file' || origin.source === 'argument' ? origin.file : null,
    key,
    line: origin.source === 'file' ? origin.line : null,
    column: origin.source === 'file' ? (origin.column ?? null) : null,
    variable: origin.source === 'env' ? origin.variable : null,
    cause,
  });
}

function problemError(key: string, origin: Origin, problem: ValueProblem): ConfigError {
  const lead = problem.kind === 'type' ? 'Wrong type for' : 'Out-of-range value for';
  return configError(problem.kind, key, origin, `${lead} "${key}" in ${where(origin, key)}: ${problem.detail}`);
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known key (or table) nearest to `key`, if it is near enough to be a typo. */
function nearestKey(key: string): string | null {
  const lower = key.toLowerCase();
  const candidates = [...SPECS.map((spec) => spec.key as string), ...TABLES];
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    // Compare whole keys, and leaves too, so `[retry] attemps` and a key in the wrong table match.
    const distance = Math.min(
      levenshtein(lower, candidate),
      levenshtein(leafOf(lower), leafOf(candidate)) + (tableOf(lower) === tableOf(candidate) ? 0 : 1),
    );
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

function unknownKeyError(key: string, origin: Origin): ConfigError {
  const suggestion = nearestKey(key);
  const hint = suggestion === null ? '' : ` (did you mean "${suggestion}"?)`;
  return configError('unknown-key', key, origin, `Unknown key "${key}" in ${where(origin, key)}${hint}`);
}

/** One line of TOML text, as far as key lookup and editing need to understand it. */
interface LineInfo {
  kind: 'blank' | 'comment' | 'header' | 'assign' | 'other';
  /** Table the line is in (`''` = top level); for a header, the table it opens. */
  table: string;
  /** Full dotted key assigned on the line (`retry.attempts`). */
  key: string | null;
  /** For a comment like `# connections = 8`, the full key it shows. */
  commentedKey: string | null;
}

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${KEY_PART}(?:\s*\.\s*${KEY_PART})*`;
const ASSIGN_LINE = new RegExp(String.raw`^(\s*)(${DOTTED_KEY})(\s*=\s*)(.*)$`);
const HEADER_LINE = new RegExp(String.raw`^\s*\[\[?\s*(${DOTTED_KEY})\s*\]\]?\s*(?:#.*)?$`);
const COMMENTED_ASSIGN = /^\s*#\s*([A-Za-z0-9_.-]+)\s*=/;

/** `"retry" . attempts` → `retry.attempts` (quotes removed). */
function normalizeDotted(text: string): string {
  const parts: string[] = [];
  const partPattern = new RegExp(KEY_PART, 'g');
  for (const match of text.matchAll(partPattern)) {
    const part = match[0];
    if (part.startsWith('"')) {
      try {
        parts.push(JSON.parse(part) as string);
      } catch {
        parts.push(part.slice(1, -1));
      }
    } else if (part.startsWith("'")) {
      parts.push(part.slice(1, -1));
    } else {
      parts.push(part);
    }
  }
  return parts.join('.');
}

function joinKey(table: string, key: string): string {
  return table === '' ? key : `${table}.${key}`;
}

/** Classifies lines, tracking `[table]` headers and skipping the inside of multi-line strings. */
function scanLines(lines: readonly string[]): LineInfo[] {
  const infos: LineInfo[] = [];
  let table = '';
  let openQuote: string | null = null;
  for (const line of lines) {
    if (openQuote !== null) {
      if (line.includes(openQuote)) openQuote = null;
      infos.push({ kind: 'other', table, key: null, commentedKey: null });
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '') {
      infos.push({ kind: 'blank', table, key: null, commentedKey: null });
      continue;
    }
    if (trimmed.startsWith('#')) {
      const commented = COMMENTED_ASSIGN.exec(line);
      infos.push({
        kind: 'comment',
        table,
        key: null,
        commentedKey: commented ? joinKey(table, commented[1] ?? '') : null,
      });
      continue;
    }
    const header = HEADER_LINE.exec(line);
    if (header) {
      table = normalizeDotted(header[1] ?? '');
      infos.push({ kind: 'header', table, key: null, commentedKey: null });
      continue;
    }
    const assign = ASSIGN_LINE.exec(line);
    if (assign) {
      infos.push({ kind: 'assign', table, key: joinKey(table, normalizeDotted(assign[2] ?? '')), commentedKey: null });
      const value = assign[4] ?? '';
      for (const quote of ['"""', "'''"]) {
        const start = value.indexOf(quote);
        if (start !== -1 && value.indexOf(quote, start + 3) === -1) openQuote = quote;
      }
      continue;
    }
    infos.push({ kind: 'other', table, key: null, commentedKey: null });
  }
  return infos;
}

/** 1-based line of `key`, else of its nearest parent (a table header, an inline table). */
function lineOfKey(infos: readonly LineInfo[], key: string): number | null {
  for (
    let candidate = key;
    candidate !== '';
    candidate = candidate.includes('.') ? candidate.slice(0, candidate.lastIndexOf('.')) : ''
  ) {
    const index = infos.findIndex(
      (info) =>
        (info.kind === 'assign' && info.key === candidate) || (info.kind === 'header' && info.table === candidate),
    );
    if (index !== -1) return index + 1;
  }
  return null;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

interface FileValues {
  values: Map<ConfigKey, number | string | boolean>;
  lines: Map<ConfigKey, number | null>;
}

/**
 * Parses and validates config text.
 * @throws ConfigError (`syntax`, `unknown-key`, `type`, `range`).
 */
function parseConfigText(text: string, file: string): FileValues {
  const infos = scanLines(text.split(/\r?\n/));
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const details = error as { line?: unknown; col?: unknown; message?: unknown };
    const line = typeof details.line === 'number' ? details.line + 1 : null;
    const column = typeof details.col === 'number' ? details.col + 1 : null;
    // The parser appends " at row R, col C, pos P:" and a code excerpt; keep the first sentence.
    const reason =
      String(details.message ?? error)
        .split('\n')[0]
        ?.replace(/ at row \d+, col \d+, pos \d+:?$/, '') ?? 'parse error';
    const info = line === null ? undefined : infos[line - 1];
    const key = info?.kind === 'assign' ? info.key : info?.kind === 'header' ? info.table : null;
    const origin: Origin = { source: 'file', file, line, column };
    const position = line === null ? file : `${file}:${line}${column === null ? '' : `:${column}`}`;
    const keyText = key === null ? '' : ` at key "${key}"`;
    throw configError('syntax', key, origin, `Invalid TOML in ${position}${keyText}: ${reason}`, error);
  }
  const values = new Map<ConfigKey, number | string | boolean>();
  const lines = new Map<ConfigKey, number | null>();
  const visit = (key: string, value: unknown): void => {
    const origin: Origin = { source: 'file', file, line: lineOfKey(infos, key) };
    const spec = SPEC_BY_KEY.get(key);
    if (spec === undefined) throw unknownKeyError(key, origin);
    const result = coerce(spec, value, false);
    if ('problem' in result) throw problemError(key, origin, result.problem);
    values.set(spec.key, result.value);
    lines.set(spec.key, origin.line);
  };
  for (const [name, value] of Object.entries(document)) {
    if (!TABLES.has(name)) {
      visit(name, value);
      continue;
    }
    if (!isTable(value)) {
      const origin: Origin = { source: 'file', file, line: lineOfKey(infos, name) };
      throw configError(
        'type',
        name,
        origin,
        `Wrong type for "${name}" in ${where(origin, name)}: expected a table, got ${describeValue(value)}`,
      );
    }
    for (const [leaf, leafValue] of Object.entries(value)) visit(`${name}.${leaf}`, leafValue);
  }
  return { values, lines };
}

/** Applies the cross-key checks. @throws ConfigError (`range`) naming the blamed key. */
function checkOrder(
  config: DdmConfig,
  sources: Record<ConfigKey, ConfigSource>,
  originOf: (key: ConfigKey) => Origin,
): void {
  for (const { low, high } of ORDER_CHECKS) {
    const lowValue = getValue(config, low) as number;
    const highValue = getValue(config, high) as number;
    if (lowValue <= highValue) continue;
    const isHighBlamed = SOURCE_RANK[sources[high]] > SOURCE_RANK[sources[low]];
    const key = isHighBlamed ? high : low;
    const detail = isHighBlamed
      ? `${highValue} is below ${low} (${lowValue})`
      : `${lowValue} exceeds ${high} (${highValue})`;
    throw problemError(key, originOf(key), { kind: 'range', detail });
  }
}

/**
 * Loads the configuration: defaults, then `file` (a missing file is fine), then `DDM_*`
 * variables from `env` (`DDM_CONNECTIONS`, `DDM_RETRY__ATTEMPTS`; an empty variable is ignored
 * for numeric keys and means "empty" for string keys), then `flags`. Every value is validated
 * the same way wherever it comes from; `download_dir` has `~` expanded against `env.HOME`.
 * Sync: it runs once at start-up.
 * @throws ConfigError `ERR_CONFIG`: broken TOML, unknown key, wrong type, out-of-range value or
 *   violated cross-key rule (min_connections ≤ connections ≤ max_connections,
 *   retry.base_delay_ms ≤ retry.max_delay_ms), or an unreadable file (kind `read`).
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const { file, env, flags } = options;
  const config = cloneDefaults();
  const sources = Object.fromEntries(SPECS.map((spec) => [spec.key, 'default'])) as Record<ConfigKey, ConfigSource>;
  let fileLines = new Map<ConfigKey, number | null>();

  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') {
      throw configError(
        'read',
        null,
        { source: 'file', file, line: null },
        `Cannot read config file ${file}: ${errnoOf(error) ?? String(error)}`,
        error,
      );
    }
  }
  if (text !== null) {
    const parsed = parseConfigText(text, file);
    fileLines = parsed.lines;
    for (const [key, value] of parsed.values) {
      setValue(config, key, value);
      sources[key] = 'file';
    }
  }

  for (const spec of SPECS) {
    const variable = envVarOf(spec.key);
    const raw = env[variable];
    if (raw === undefined || (raw === '' && (spec.type === 'integer' || spec.type === 'size'))) continue;
    const result = coerce(spec, raw, true);
    if ('problem' in result) throw problemError(spec.key, { source: 'env', variable }, result.problem);
    setValue(config, spec.key, result.value);
    sources[spec.key] = 'env';
  }

  for (const spec of SPECS) {
    const value = getValue(flags as DdmConfig, spec.key);
    if (value === undefined) continue;
    const result = coerce(spec, value, false);
    if ('problem' in result) throw problemError(spec.key, { source: 'flag' }, result.problem);
    setValue(config, spec.key, result.value);
    sources[spec.key] = 'flag';
  }

  checkOrder(config, sources, (key) => {
    switch (sources[key]) {
      case 'env':
        return { source: 'env', variable: envVarOf(key) };
      case 'flag':
        return { source: 'flag' };
      default:
        return { source: 'file', file, line: fileLines.get(key) ?? null };
    }
  });

  config.downloadDir = expandHome(config.downloadDir, homeDirFrom(env));
  return { config, sources, file, hasFile: text !== null };
}

/** The key catalogue, in display order, for docs, `config show` and completion. */
export function configKeys(): ConfigKeyInfo[] {
  return SPECS.map((spec) => ({
    key: spec.key,
    description: spec.description,
    default: getValue(DEFAULT_CONFIG as DdmConfig, spec.key) as number | string | boolean,
    type: spec.type,
    ...(spec.min === undefined ? {} : { min: spec.min }),
    ...(spec.max === undefined ? {} : { max: spec.max }),
    ...(spec.values === undefined ? {} : { values: spec.values }),
    envVar: envVarOf(spec.key),
  }));
}

/** A TOML basic string. JSON's escapes are valid TOML; DEL must be escaped too. */
function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\u007f/g, '\\u007f');
}

function tomlLiteral(value: number | string | boolean): string {
  return typeof value === 'string' ? tomlString(value) : String(value);
}

/**
 * One line per key, `key = value  (source)`, in catalogue order; values are TOML literals and
 * secrets (proxy credentials, tokens in hook commands) are redacted.
 */
export function formatConfigShow(result: Pick<LoadedConfig, 'config' | 'sources'>): string {
  return SPECS.map((spec) => {
    const value = getValue(result.config, spec.key) as number | string | boolean;
    const hidden = spec.type === 'secret' && value !== '' ? '***' : value;
    const shown = typeof hidden === 'string' ? tomlString(redactText(hidden)) : String(hidden);
    return `${spec.key} = ${shown}  (${result.sources[spec.key]})`;
  }).join('\n');
}

function defaultLiteral(spec: KeySpec): string {
  const value = getValue(DEFAULT_CONFIG as DdmConfig, spec.key) as number | string | boolean;
  if (spec.type === 'size' && typeof value === 'number' && formatSize(value) !== String(value)) {
    return tomlString(formatSize(value));
  }
  return tomlLiteral(value);
}

function describeRange(spec: KeySpec): string {
  if (spec.values !== undefined) return `One of: ${spec.values.join(', ')}.`;
  if (spec.min === undefined || spec.max === undefined) return '';
  const show = (bytes: number): string => (spec.type === 'size' ? formatSize(bytes) : String(bytes));
  if (spec.max === MAX_SAFE) return spec.min === 0 ? '' : `At least ${show(spec.min)}.`;
  return `Range ${show(spec.min)}..${show(spec.max)}.`;
}

/**
 * The text `ddm config init` writes: a commented `config.toml` listing every key, commented
 * out at its default, with its description, range and environment variable. Parses to all
 * defaults as is; uncommenting any line keeps it valid.
 */
export function initConfigText(): string {
  const out: string[] = [
    '# ddm configuration.',
    '#',
    '# Every key is listed at its default, commented out: uncomment a line to change it, or run',
    '# `ddm config set <key> <value>`. Sizes take bytes or a binary unit ("512K", "10M", "1G").',
    '# DDM_<KEY> environment variables override this file (DDM_RETRY__ATTEMPTS for',
    '# [retry] attempts), and command-line flags override both. `ddm config show` prints the',
    '# value in effect for each key and where it came from.',
  ];
  let table = '';
  for (const spec of SPECS) {
    const specTable = tableOf(spec.key);
    if (specTable !== table) {
      table = specTable;
      out.push('', `[${table}]`);
    }
    const range = describeRange(spec);
    out.push('', `# ${spec.description}`, `# ${range === '' ? '' : `${range} `}Env: ${envVarOf(spec.key)}.`);
    out.push(`# ${specTable === '' ? spec.key : leafOf(spec.key)} = ${defaultLiteral(spec)}`);
  }
  return `${out.join('\n')}\n`;
}

/** End offset of the TOML value at the start of `text` (a string, or up to a comment). */
function valueEnd(text: string): number {
  if (text.startsWith('"""') || text.startsWith("'''")) {
    const close = text.indexOf(text.slice(0, 3), 3);
    return close === -1 ? text.length : close + 3;
  }
  if (text.startsWith('"')) {
    for (let index = 1; index < text.length; index++) {
      if (text[index] === '\\') index++;
      else if (text[index] === '"') return index + 1;
    }
    return text.length;
  }
  if (text.startsWith("'")) {
    const close = text.indexOf("'", 1);
    return close === -1 ? text.length : close + 1;
  }
  const hash = text.indexOf('#');
  return (hash === -1 ? text : text.slice(0, hash)).trimEnd().length;
}

/** Index after the last line that belongs to the section starting at `from` (before `to`). */
function sectionInsertIndex(infos: readonly LineInfo[], from: number, to: number): number {
  let end = to;
  // Blank lines and the comment block just before the next header belong to that header.
  if (to < infos.length) {
    while (end > from && infos[end - 1]?.kind === 'blank') end--;
    while (end > from && infos[end - 1]?.kind === 'comment' && infos[end - 1]?.commentedKey === null) end--;
  }
  while (end > from && infos[end - 1]?.kind === 'blank') end--;
  return end;
}

/**
 * Sets `key` to `rawValue` (text as typed on the command line) in `fileText` and returns the new
 * text. The value is validated like an env value. An existing `key = ...` line is edited in
 * place (indentation and trailing comment kept); else a commented-out `# key = ...` line (as
 * written by `config init`) is replaced; else the line is appended to its table, which is
 * created when missing. All other lines, comments included, are kept byte for byte. Size
 * values keep the unit they were given in (`"10M"`).
 * @throws ConfigError `ERR_CONFIG`: unknown key (with a suggestion), invalid value, or a
 *   resulting file that does not validate (e.g. connections above max_connections).
 */
export function setConfigValue(fileText: string, key: string, rawValue: string, file = 'config.toml'): string {
  const spec = SPEC_BY_KEY.get(key);
  const argumentOrigin: Origin = { source: 'argument', file };
  if (spec === undefined) throw unknownKeyError(key, argumentOrigin);
  const result = coerce(spec, rawValue, true);
  if ('problem' in result) throw problemError(key, argumentOrigin, result.problem);
  const literal =
    spec.type === 'size' && !/^\s*\d+\s*$/.test(rawValue) ? tomlString(rawValue.trim()) : tomlLiteral(result.value);

  const newline = fileText.includes('\r\n') ? '\r\n' : '\n';
  const lines = fileText === '' ? [] : fileText.split(/\r?\n/);
  const hasFinalNewline = lines.length > 0 && lines[lines.length - 1] === '';
  if (hasFinalNewline) lines.pop();
  const infos = scanLines(lines);
  const table = tableOf(spec.key);
  const leaf = table === '' ? spec.key : leafOf(spec.key);

  const activeIndex = infos.findIndex((info) => info.kind === 'assign' && info.key === spec.key);
  if (activeIndex !== -1) {
    const match = ASSIGN_LINE.exec(lines[activeIndex] ?? '');
    if (match) {
      const [, indent = '', keyText = '', equals = ''] = match;
      // A multi-line string value may run on over the following lines.
      const rest = lines
        .slice(activeIndex)
        .join('\n')
        .slice((indent + keyText + equals).length);
      const end = valueEnd(rest);
      const consumedLines = rest.slice(0, end).split('\n').length;
      const trailing = rest.slice(end).split('\n')[0] ?? '';
      const comment = trailing.includes('#') ? trailing : '';
      lines.splice(activeIndex, consumedLines, `${indent}${keyText}${equals}${literal}${comment}`);
    }
  } else {
    const commentedIndex = infos.findIndex((info) => info.kind === 'comment' && info.commentedKey === spec.key);
    if (commentedIndex !== -1) {
      const indent = /^\s*/.exec(lines[commentedIndex] ?? '')?.[0] ?? '';
      lines.splice(commentedIndex, 1, `${indent}${leaf} = ${literal}`);
    } else if (table === '') {
      const firstHeader = infos.findIndex((info) => info.kind === 'header');
      const at =
        firstHeader === -1 ? sectionInsertIndex(infos, 0, infos.length) : sectionInsertIndex(infos, 0, firstHeader);
      lines.splice(at, 0, `${leaf} = ${literal}`);
      if (firstHeader !== -1 && at === firstHeader) lines.splice(at + 1, 0, '');
    } else {
      const headerIndex = infos.findIndex((info) => info.kind === 'header' && info.table === table);
      if (headerIndex === -1) {
        while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
        if (lines.length > 0) lines.push('');
        lines.push(`[${table}]`, `${leaf} = ${literal}`);
      } else {
        let next = infos.findIndex((info, index) => index > headerIndex && info.kind === 'header');
        if (next === -1) next = infos.length;
        lines.splice(sectionInsertIndex(infos, headerIndex + 1, next), 0, `${leaf} = ${literal}`);
      }
    }
  }
  const text = `${lines.join(newline)}${newline}`;

  const parsed = parseConfigText(text, file);
  const config = cloneDefaults();
  const sources = Object.fromEntries(SPECS.map((candidate) => [candidate.key, 'default'])) as Record<
    ConfigKey,
    ConfigSource
  >;
  for (const [parsedKey, value] of parsed.values) {
    setValue(config, parsedKey, value);
    sources[parsedKey] = 'file';
  }
  checkOrder(config, sources, (blamed) => ({ source: 'file', file, line: parsed.lines.get(blamed) ?? null }));
  return text;
}

/**
 * Parses `rawValue` for `key` as the CLI would for a flag (`--max-bytes-per-sec 10M`).
 * @throws ConfigError `ERR_CONFIG` (source `flag`) for an unknown key or an invalid value.
 */
export function parseConfigValue(key: string, rawValue: string): number | string | boolean {
  const spec = SPEC_BY_KEY.get(key);
  if (spec === undefined) throw unknownKeyError(key, { source: 'flag' });
  const result = coerce(spec, rawValue, true);
  if ('problem' in result) throw problemError(key, { source: 'flag' }, result.problem);
  return result.value;
}

/** True when `key` is a known dotted config key. */
export function isConfigKey(key: string): key is ConfigKey {
  return SPEC_BY_KEY.has(key);
}
