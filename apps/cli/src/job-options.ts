/** Per-job flags shared by `get`, `add` and `import-har`, validated into AddOptions. */
import { type AddOptions, DdmError, parseChecksumSpec, parseRate } from '@ddm/core';
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
}

export function asList(value: string | number | (string | number)[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Parses `Name: value`. @throws DdmError ERR_USAGE naming the header. */
export function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const name = i > 0 ? text.slice(0, i).trim() : '';
  if (!name || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new DdmError(`Invalid header (expected "Name: value"): ${text}`, { code: 'ERR_USAGE' });
  }
  return [name, text.slice(i + 1).trim()];
}

export function parseIntFlag(name: string, value: string | number, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new DdmError(`${name} must be a whole number from ${min} to ${max}: ${value}`, { code: 'ERR_USAGE' });
  }
  return n;
}

export function jobOptions(ctx: Context, flags: JobFlags): AddOptions {
  const headers: Record<string, string> = {};
  for (const h of asList(flags.header)) {
    const [name, value] = parseHeader(h);
    headers[name] = value;
  }
  const options: AddOptions = { dir: downloadDir(ctx, flags.dir), headers };
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
