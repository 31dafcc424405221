/** Per-job flags shared by `get`, `add` and `import-har`, validated into AddOptions. */
import { type AddOptions, DdmError, type JobSecrets, parseChecksumSpec, parseRate } from '@ddm/core';
import type { JobSettings } from '@ddm/db';
import { type Context, downloadDir } from './context.ts';

export interface JobFlags {
  dir?: string;
  output?: string | number;
  connections?: string | number;
  header?: string | string[];
  checksum?: string;
  limit?: string | number;
  priority?: string | number;
  overwrite?: boolean;
  /** Store a `-H 'Cookie: ...'` in the job DB (like HAR / curl cookies); otherwise it stays in this process. */
  rememberCookies?: boolean;
}

/** AddOptions plus what only this process keeps (a `-H Cookie` without --remember-cookies). */
export interface JobAddOptions extends AddOptions {
  secrets?: JobSecrets;
  settings?: JobSettings;
}

export function asList(value: string | number | (string | number)[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Header field-name token (RFC 9110 section 5.1). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `Name: value`. A value with CR, LF or NUL would split into a second header (request
 * smuggling) or be refused by fetch as a network error on every retry: it is a usage error here.
 * @throws DdmError ERR_USAGE naming the header (never quoting its value, which may be a secret).
 */
export function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const name = i > 0 ? text.slice(0, i).trim() : '';
  if (!name || !HEADER_NAME.test(name)) {
    const shown = name ? `"${name.replace(/[\r\n\0]/g, ' ')}" is not a valid header name` : 'expected "Name: value"';
    throw new DdmError(`Invalid header (${shown}): -H ${name ? JSON.stringify(name) : JSON.stringify(text)}`, {
      code: 'ERR_USAGE',
    });
  }
  const value = text.slice(i + 1).trim();
  if (/[\r\n\0]/.test(value)) {
    throw new DdmError(`Invalid header value (contains CR, LF or NUL, which HTTP forbids): -H ${name}`, {
      code: 'ERR_USAGE',
    });
  }
  return [name, value];
}

export function parseIntFlag(name: string, value: string | number, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new DdmError(`${name} must be a whole number from ${min} to ${max}: ${value}`, { code: 'ERR_USAGE' });
  }
  return n;
}

/**
 * The per-job flags as options for `Engine.addJob`. A `-H 'Cookie: ...'` follows the rule of HAR
 * and curl cookies: without --remember-cookies it lives in this process only (`secrets`, listed
 * in `withheldHeaders` so a later process asks for it again instead of failing with a 403).
 * @throws DdmError ERR_USAGE naming the flag.
 */
export function jobOptions(ctx: Context, flags: JobFlags): JobAddOptions {
  const headers: Record<string, string> = {};
  const inMemory: Record<string, string> = {};
  for (const h of asList(flags.header)) {
    const [name, value] = parseHeader(h);
    if (name.toLowerCase() === 'cookie' && flags.rememberCookies !== true) inMemory[name] = value;
    else headers[name] = value;
  }
  const options: JobAddOptions = { dir: downloadDir(ctx, flags.dir), headers };
  const withheld = Object.keys(inMemory);
  if (withheld.length > 0) {
    options.secrets = { headers: inMemory };
    options.settings = { withheldHeaders: withheld };
  }
  if (flags.output !== undefined) {
    const name = String(flags.output);
    if (!name || name.includes('/') || name === '.' || name === '..') {
      throw new DdmError(`--output must be a file name without a directory (use -d for the directory): ${name}`, {
        code: 'ERR_USAGE',
      });
    }
    options.fileName = name;
  }
  if (flags.connections !== undefined) {
    options.connections = parseIntFlag('--connections', flags.connections, 1, ctx.settings.maxConnectionsPerJob);
  }
  if (flags.checksum) {
    parseChecksumSpec(String(flags.checksum));
    options.checksum = String(flags.checksum);
  }
  if (flags.limit !== undefined) options.limitBytesPerSec = parseRate(String(flags.limit));
  if (flags.priority !== undefined) options.priority = parseIntFlag('--priority', flags.priority, -1000, 1000);
  if (flags.overwrite) options.overwrite = true;
  return options;
}
