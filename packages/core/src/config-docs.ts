/**
 * The text generated from the key table: `config show` lines, the commented file `config init`
 * writes, the README's table cells, and the catalogue for completion.
 */

import type { LoadedConfig } from './config.ts';
import type { ConfigKey, ConfigValueType } from './config-table.ts';
import {
  CONFIG_TABLE,
  type ConfigKeySpec,
  type DdmConfig,
  defaultConfig,
  envVarOf,
  getConfigValue,
  leafOf,
  MAX_SAFE,
  setConfigField,
  tableOf,
} from './config-table.ts';
import { redactText } from './redact.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

type KeySpec = ConfigKeySpec & { readonly key: ConfigKey };
const SPECS = CONFIG_TABLE as readonly KeySpec[];

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

/** The key catalogue, in display order, for docs, `config show` and completion. */
export function configKeys(): ConfigKeyInfo[] {
  return SPECS.map((spec) => ({
    key: spec.key,
    description: spec.description,
    default: spec.default,
    type: spec.type,
    ...(spec.min === undefined ? {} : { min: spec.min }),
    ...(spec.max === undefined ? {} : { max: spec.max }),
    ...(spec.values === undefined ? {} : { values: spec.values }),
    envVar: envVarOf(spec.key),
  }));
}

/** A TOML basic string. JSON's escapes are valid TOML; DEL must be escaped too. */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\u007f/g, '\\u007f');
}

export function tomlLiteral(value: number | string | boolean): string {
  return typeof value === 'string' ? tomlString(value) : String(value);
}

/** Stands for a set `secret` value wherever config values are shown. */
const HIDDEN_SECRET = '***';

/**
 * A value as `config show` may print it: a non-empty `secret` key becomes `"***"`, and
 * credentials inside other strings (proxy URLs, tokens in hook commands) are redacted.
 */
function shownValue(spec: KeySpec, value: number | string | boolean): number | string | boolean {
  if (typeof value !== 'string') return value;
  if (spec.type === 'secret') return value === '' ? '' : HIDDEN_SECRET;
  return redactText(value);
}

/**
 * One line per key, `key = value  (source)`, in catalogue order; values are TOML literals and
 * secrets (`secret` keys as `"***"`, proxy credentials, tokens in hook commands) are hidden.
 */
export function formatConfigShow(result: Pick<LoadedConfig, 'config' | 'sources'>): string {
  return SPECS.map((spec) => {
    const value = getConfigValue(result.config, spec.key) as number | string | boolean;
    return `${spec.key} = ${tomlLiteral(shownValue(spec, value))}  (${result.sources[spec.key]})`;
  }).join('\n');
}

/**
 * `rawValue` as given for `key` (`ddm config set rpc.secret ...`), fit to echo back: `***`
 * for a non-empty `secret` key, credentials redacted otherwise; unknown keys are redacted too.
 */
export function shownConfigArgument(key: string, rawValue: string): string {
  const spec = SPECS.find((candidate) => candidate.key === key);
  if (spec?.type === 'secret') return rawValue === '' ? '' : HIDDEN_SECRET;
  return redactText(rawValue);
}

/**
 * A copy of `config` for `config show --json`, hidden exactly as {@link formatConfigShow} hides
 * values (a set `rpc.secret` is `"***"`), so neither form prints a secret in clear.
 */
export function configForShow(config: DdmConfig): DdmConfig {
  const shown = defaultConfig();
  for (const spec of SPECS) {
    setConfigField(shown, spec.key, shownValue(spec, getConfigValue(config, spec.key) as number | string | boolean));
  }
  return shown;
}

function defaultLiteral(spec: KeySpec): string {
  const value = spec.default;
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
 * The README's key table columns for each key, in catalogue order: `key`, `type`, the default
 * as the docs show it (sizes with a unit, strings bare, `""` for empty) and the range (`1..64`,
 * `4K..1G`, `≥ 0`, or the enum values). A test holds README.md to these.
 */
export function configDocCells(): { key: ConfigKey; type: ConfigValueType; default: string; range: string }[] {
  return SPECS.map((spec) => {
    const show = (value: number): string => (spec.type === 'size' ? formatSize(value) : String(value));
    const value = spec.default;
    const shownDefault =
      spec.docDefault ?? (typeof value === 'number' ? show(value) : value === '' ? '""' : String(value));
    let range = '';
    if (spec.values !== undefined) range = spec.values.join(', ');
    else if (spec.min !== undefined && spec.max !== undefined) {
      range = spec.max === MAX_SAFE ? `≥ ${show(spec.min)}` : `${show(spec.min)}..${show(spec.max)}`;
    }
    return { key: spec.key, type: spec.type, default: shownDefault, range };
  });
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
