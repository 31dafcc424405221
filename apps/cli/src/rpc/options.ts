/**
 * aria2 download options onto ddm's AddOptions, through the same checks as the CLI's flags:
 * `dir` must be an absolute directory (the engine checks it is writable), `out` a bare file name
 * (the engine sanitizes it), `header` values are stored like `-H` values, and on-complete
 * hooks (`on-download-*`) cannot be set over RPC at all. Options ddm does not implement are
 * ignored, as aria2 ignores options that do not apply.
 */
import { isAbsolute } from 'node:path';
import { type AddOptions, DdmError, parseChecksumSpec, parseRate } from '@ddm/core';
import { parseHeader } from '../job-options.ts';
import { RpcError } from './protocol.ts';

/** What `addUri` needs besides AddOptions. */
export interface Aria2AddOptions {
  options: AddOptions;
  /** aria2's `pause=true`: add the job paused. */
  isPaused: boolean;
}

export interface OptionDefaults {
  dir: string;
  connections: number;
  maxConnectionsPerJob: number;
}

/** aria2's message for an option it cannot take. */
function optionError(name: string, detail?: string): RpcError {
  const why = detail ? `: ${detail}` : '';
  return new RpcError(`We encountered a problem while processing the option '--${name}'${why}.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Options that run commands: never settable over RPC (a web page must not run programs). */
export function assertNoHooks(name: string): void {
  if (name.startsWith('on-')) {
    throw new RpcError(`Option '--${name}' cannot be set over RPC in ddm (set on_complete / on_error in config.toml)`);
  }
}

function text(raw: Record<string, unknown>, name: string): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw optionError(name, 'expected a string');
  return value;
}

function bool(raw: Record<string, unknown>, name: string): boolean | undefined {
  const value = text(raw, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw optionError(name, 'expected "true" or "false"');
  return value === 'true';
}

export function positiveInt(raw: Record<string, unknown>, name: string, max: number): number | undefined {
  const value = text(raw, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw optionError(name, `expected a whole number from 1 to ${max}`);
  }
  return n;
}

/** `max-download-limit` and friends: bytes per second, `1M`/`500K` allowed; 0 = unlimited. */
export function rate(raw: Record<string, unknown>, name: string): number | null | undefined {
  const value = text(raw, name);
  if (value === undefined) return undefined;
  try {
    return parseRate(value);
  } catch {
    throw optionError(name, 'expected bytes per second like 1M or 500K');
  }
}

function headersOf(raw: Record<string, unknown>): Record<string, string> {
  const value = raw.header;
  if (value === undefined) return {};
  const list = Array.isArray(value) ? value : [value];
  const headers: Record<string, string> = {};
  for (const item of list) {
    if (typeof item !== 'string') throw optionError('header', 'expected "Name: value" strings');
    try {
      const [name, headerValue] = parseHeader(item);
      headers[name] = headerValue;
    } catch (error) {
      throw optionError('header', error instanceof DdmError ? error.message : undefined);
    }
  }
  return headers;
}

/**
 * Reads addUri's options object.
 * @throws RpcError for a value of the wrong type or out of range, a relative `dir`, an `out`
 *   with a directory part, a bad checksum, or an `on-*` hook.
 */
export function addOptionsFrom(value: unknown, defaults: OptionDefaults, uris: readonly string[]): Aria2AddOptions {
  if (value === undefined) value = {};
  if (!isRecord(value)) throw new RpcError('The parameter at 1 has wrong type.');
  for (const name of Object.keys(value)) assertNoHooks(name);
  const raw = value;
  const options: AddOptions = { dir: defaults.dir };
  const dir = text(raw, 'dir');
  if (dir !== undefined) {
    if (!isAbsolute(dir) || dir.includes('\0')) throw optionError('dir', 'the directory must be an absolute path');
    options.dir = dir;
  }
  const out = text(raw, 'out');
  if (out !== undefined) {
    if (!out || out.includes('/') || out.includes('\0') || out === '.' || out === '..') {
      throw optionError('out', 'a file name without a directory (use dir for the directory)');
    }
    options.fileName = out;
  }
  const split = positiveInt(raw, 'split', defaults.maxConnectionsPerJob);
  const perServer = positiveInt(raw, 'max-connection-per-server', defaults.maxConnectionsPerJob);
  if (split !== undefined || perServer !== undefined) {
    const wanted = split ?? defaults.connections;
    options.connections = perServer === undefined ? wanted : Math.min(wanted, perServer * uris.length);
  }
  const headers = headersOf(raw);
  const referer = text(raw, 'referer');
  // aria2's `referer=*` means "the download's own URI".
  if (referer !== undefined) headers.Referer = referer === '*' ? (uris[0] ?? '') : referer;
  const userAgent = text(raw, 'user-agent');
  if (userAgent !== undefined) headers['User-Agent'] = userAgent;
  for (const [name, headerValue] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(headerValue)) throw optionError('header', `invalid value for ${name}`);
  }
  if (Object.keys(headers).length > 0) options.headers = headers;
  const limit = rate(raw, 'max-download-limit');
  if (limit !== undefined) options.limitBytesPerSec = limit;
  const checksum = text(raw, 'checksum');
  if (checksum !== undefined) {
    try {
      parseChecksumSpec(checksum);
    } catch (error) {
      throw optionError('checksum', error instanceof Error ? error.message : undefined);
    }
    options.checksum = checksum;
  }
  if (bool(raw, 'allow-overwrite') === true) options.overwrite = true;
  return { options, isPaused: bool(raw, 'pause') === true };
}
