/**
 * `config.toml`: loading with precedence default < file < env < flag, value checks, and one-line
 * errors that name the file, the key and the line. The keys are declared once in
 * config-table.ts; `config show` / `config init` text is in config-docs.ts, `config set` in
 * config-edit.ts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from '@iarna/toml';
import { lineOfKey, scanLines } from './config-lines.ts';
import {
  CONFIG_TABLE,
  type ConfigKey,
  type ConfigKeySpec,
  type DdmConfig,
  defaultConfig,
  envVarOf,
  flagNameOf,
  getConfigValue,
  leafOf,
  MAX_SAFE,
  REMOVED_CONFIG_KEYS,
  setConfigField,
  tableOf,
} from './config-table.ts';
import { DdmError, errnoOf } from './errors.ts';
import { expandHome, homeDirFrom } from './paths.ts';
import { redactText } from './redact.ts';
import { parseBytes } from './units.ts';

export {
  CONFIG_TABLE,
  type ConfigKey,
  type ConfigKeySpec,
  type ConfigValueType,
  type DdmConfig,
  DEFAULT_CONFIG,
  type FileAllocation,
  getConfigValue,
  type OverwritePolicy,
  REMOVED_CONFIG_KEYS,
  type RetryConfig,
  type RpcConfig,
  type TimeoutsConfig,
} from './config-table.ts';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

/**
 * Flag overrides: any top-level field, and any subset of a table's fields (`retry`, `timeouts`, `rpc`)
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
  /** Notes on the file that are not errors: removed keys it still sets (their values are ignored). */
  notes: string[];
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

type KeySpec = ConfigKeySpec & { readonly key: ConfigKey };

const SPECS = CONFIG_TABLE as readonly KeySpec[];
const SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(SPECS.map((spec) => [spec.key, spec]));
const TABLES: ReadonlySet<string> = new Set(
  SPECS.filter((spec) => spec.key.includes('.')).map((spec) => tableOf(spec.key)),
);

/** `a <= b` checks across keys; on a violation the later-set key (or `low` on a tie) is blamed. */
const ORDER_CHECKS: readonly { low: ConfigKey; high: ConfigKey }[] = SPECS.flatMap((spec) =>
  spec.atMost === undefined ? [] : [{ low: spec.key, high: spec.atMost as ConfigKey }],
);

const SOURCE_RANK: Record<ConfigSource, number> = { default: 0, file: 1, env: 2, flag: 3 };

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
export function coerce(
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
export type Origin =
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

export function problemError(key: string, origin: Origin, problem: ValueProblem): ConfigError {
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

/** An unknown key; a removed one says so and why, rather than guessing at a typo. */
export function unknownKeyError(key: string, origin: Origin): ConfigError {
  const removed = REMOVED_CONFIG_KEYS[key];
  if (removed !== undefined) {
    return configError('unknown-key', key, origin, `Key "${key}" in ${where(origin, key)} was removed (${removed})`);
  }
  const suggestion = nearestKey(key);
  const hint = suggestion === null ? '' : ` (did you mean "${suggestion}"?)`;
  return configError('unknown-key', key, origin, `Unknown key "${key}" in ${where(origin, key)}${hint}`);
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

interface FileValues {
  values: Map<ConfigKey, number | string | boolean>;
  lines: Map<ConfigKey, number | null>;
  notes: string[];
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
  const notes: string[] = [];
  const visit = (key: string, value: unknown): void => {
    const origin: Origin = { source: 'file', file, line: lineOfKey(infos, key) };
    const removed = REMOVED_CONFIG_KEYS[key];
    if (removed !== undefined) {
      // An old file stays loadable: the key did nothing, so ignoring it changes nothing.
      notes.push(`"${key}" in ${where(origin, key)} is ignored: the key was removed (${removed}); delete the line`);
      return;
    }
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
  return { values, lines, notes };
}

function defaultSources(): Record<ConfigKey, ConfigSource> {
  return Object.fromEntries(SPECS.map((spec) => [spec.key, 'default'])) as Record<ConfigKey, ConfigSource>;
}

function applyFileValues(parsed: FileValues, config: DdmConfig, sources: Record<ConfigKey, ConfigSource>): void {
  for (const [key, value] of parsed.values) {
    setConfigField(config, key, value);
    sources[key] = 'file';
  }
}

/** Applies the cross-key checks. @throws ConfigError (`range`) naming the blamed key. */
function checkOrder(
  config: DdmConfig,
  sources: Record<ConfigKey, ConfigSource>,
  originOf: (key: ConfigKey) => Origin,
): void {
  for (const { low, high } of ORDER_CHECKS) {
    const lowValue = getConfigValue(config, low) as number;
    const highValue = getConfigValue(config, high) as number;
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
 * for numeric and boolean keys and means "empty" for string keys), then `flags`. Every value is validated
 * the same way wherever it comes from; `download_dir` has `~` expanded against `env.HOME`.
 * Sync: it runs once at start-up.
 * @throws ConfigError `ERR_CONFIG`: broken TOML, unknown key, wrong type, out-of-range value or
 *   violated cross-key rule (a key above its `atMost` key in the table: connections ≤
 *   max_connections, retry.base_delay_ms ≤ retry.max_delay_ms), or an unreadable file (kind `read`).
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const { file, env, flags } = options;
  const config = defaultConfig();
  const sources = defaultSources();
  let fileLines = new Map<ConfigKey, number | null>();
  let notes: string[] = [];

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
    notes = parsed.notes;
    applyFileValues(parsed, config, sources);
  }

  for (const spec of SPECS) {
    const variable = envVarOf(spec.key);
    const raw = env[variable];
    // An empty variable has no number or boolean to give, so it counts as unset.
    const isNonText = spec.type === 'integer' || spec.type === 'size' || spec.type === 'boolean';
    if (raw === undefined || (raw === '' && isNonText)) continue;
    const result = coerce(spec, raw, true);
    if ('problem' in result) throw problemError(spec.key, { source: 'env', variable }, result.problem);
    setConfigField(config, spec.key, result.value);
    sources[spec.key] = 'env';
  }

  for (const spec of SPECS) {
    const value = getConfigValue(flags as DdmConfig, spec.key);
    if (value === undefined) continue;
    const result = coerce(spec, value, false);
    if ('problem' in result) throw problemError(spec.key, { source: 'flag' }, result.problem);
    setConfigField(config, spec.key, result.value);
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
  config.tls.caFile = expandHome(config.tls.caFile, homeDirFrom(env));
  config.tls.caPath = expandHome(config.tls.caPath, homeDirFrom(env));
  return { config, sources, file, hasFile: text !== null, notes };
}

/** The table row of `key`; undefined for an unknown (or removed) key. */
export function specOf(key: string): KeySpec | undefined {
  return SPEC_BY_KEY.get(key);
}

/**
 * Validates config text as `loadConfig` would with no env or flags (for `config set`).
 * @throws ConfigError (`syntax`, `unknown-key`, `type`, `range`) naming `file` and the line.
 */
export function checkConfigText(text: string, file: string): void {
  const parsed = parseConfigText(text, file);
  const config = defaultConfig();
  const sources = defaultSources();
  applyFileValues(parsed, config, sources);
  checkOrder(config, sources, (blamed) => ({ source: 'file', file, line: parsed.lines.get(blamed) ?? null }));
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
