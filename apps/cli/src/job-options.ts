/** Per-job flags shared by `get`, `add` and `import-har`, validated into AddOptions. */
import { readFileSync } from 'node:fs';
import {
  type AddOptions,
  DdmError,
  type JobSecrets,
  type JobSettings,
  parseChecksumSpec,
  parseInputFile,
  parseRate,
} from '@ddm/core';
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

/** The options with an input file's extra URLs of the same file kept as the job's `mirrors`. */
export function withMirrors(options: JobAddOptions, mirrors: readonly string[]): JobAddOptions {
  if (mirrors.length === 0) return options;
  return { ...options, settings: { ...options.settings, mirrors: [...mirrors] } };
}

/** `-c/--continue`, `-i/--input-file`, `--mirrors` and `--mirror` of `get` and `add`. */
export interface ListFlags {
  continue?: boolean;
  inputFile?: string | number;
  /** The command line's URLs are mirrors of ONE file. */
  mirrors?: boolean;
  /** More URLs of the command line's one URL (repeatable). */
  mirror?: string | string[];
}

/**
 * The command line's URLs as downloads: one each, or with `--mirrors` / `--mirror` one file
 * from all of them (the first URL names it; the others are its mirrors).
 * @throws DdmError ERR_USAGE when `--mirror` is given with several URLs and no `--mirrors`.
 */
function commandLineSpecs(urls: readonly string[], flags: JobFlags & ListFlags): DownloadSpec[] {
  const extra = asList(flags.mirror);
  if (urls.length === 0) {
    if (extra.length > 0)
      throw new DdmError('--mirror needs the URL it mirrors: ddm get URL --mirror URL2', { code: 'ERR_USAGE' });
    return [];
  }
  if (!flags.mirrors && extra.length > 0 && urls.length > 1) {
    throw new DdmError(
      `--mirror adds URLs of one file, but ${urls.length} URLs were given: add --mirrors if they are all the same file`,
      { code: 'ERR_USAGE' },
    );
  }
  if (flags.mirrors || extra.length > 0) {
    const [url, ...rest] = urls as [string, ...string[]];
    return [{ url, mirrors: [...new Set([...rest, ...extra])].filter((u) => u !== url), flags, origin: null }];
  }
  return urls.map((url) => ({ url, mirrors: [], flags, origin: null }));
}

/** One download to add: a URL (and mirrors) with the flags that apply to it. */
export interface DownloadSpec {
  url: string;
  mirrors: string[];
  flags: JobFlags;
  /** `file:line` of an input-file entry, for messages. */
  origin: string | null;
}

/**
 * The downloads of a `get`/`add` command line: its URLs with its flags, then the entries of
 * `-i FILE` (`-i -` reads `stdin`) with the command's flags overridden by each entry's options.
 * @throws DdmError ERR_USAGE (no URL, a bad input file naming file:line), ERR_IO (unreadable file).
 */
export async function downloadSpecs(
  urls: readonly string[],
  flags: JobFlags & ListFlags,
  stdin: () => Promise<string> = () => Bun.stdin.text(),
): Promise<DownloadSpec[]> {
  const specs: DownloadSpec[] = commandLineSpecs(urls.map(String), flags);
  if (flags.inputFile !== undefined) {
    const source = String(flags.inputFile);
    let text: string;
    try {
      text = source === '-' ? await stdin() : readFileSync(source, 'utf8');
    } catch (cause) {
      throw new DdmError(`Cannot read the input file: ${source}`, { code: 'ERR_IO', cause });
    }
    for (const entry of parseInputFile(text, source === '-' ? 'stdin' : source)) {
      const [url, ...mirrors] = entry.urls as [string, ...string[]];
      const entryFlags: JobFlags = { ...flags };
      if (entry.dir !== undefined) entryFlags.dir = entry.dir;
      if (entry.out !== undefined) entryFlags.output = entry.out;
      if (entry.headers.length > 0) entryFlags.header = [...asList(flags.header), ...entry.headers];
      if (entry.checksum !== undefined) entryFlags.checksum = entry.checksum;
      specs.push({ url, mirrors, flags: entryFlags, origin: `${source === '-' ? 'stdin' : source}:${entry.line}` });
    }
  }
  if (specs.length === 0) {
    throw new DdmError('Nothing to download: give a URL or -i <file> (-i - reads stdin)', { code: 'ERR_USAGE' });
  }
  return specs;
}

const DEPRECATED_CONNECTIONS = /^-c=?(\d+)$/;

/**
 * `-c <n>` meant `--connections` until `-c` became `--continue` (wget, aria2); for one release a
 * number after `-c` of `get`, `add` or `import-har` still means connections, with a note.
 * Returns the rewritten argv and the note to print (null when nothing was rewritten).
 */
export function rewriteDeprecatedConnections(argv: readonly string[]): { argv: string[]; note: string | null } {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command !== 'get' && command !== 'add' && command !== 'import-har') return { argv: [...argv], note: null };
  const out: string[] = [];
  let note: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const joined = i >= 2 ? DEPRECATED_CONNECTIONS.exec(arg) : null;
    if (i >= 2 && arg === '-c' && next !== undefined && /^\d+$/.test(next)) {
      out.push('-x', next);
      i++;
    } else if (joined) {
      out.push('-x', joined[1] as string);
    } else {
      out.push(arg);
      continue;
    }
    note =
      'ddm: note: "-c <n>" for connections is deprecated and goes away in the next release; use -x <n> (--connections). -c now means --continue.';
  }
  return { argv: out, note };
}

/**
 * `-i -` (stdin) as `--input-file=-`: cac's parser takes a lone `-` for a missing value.
 */
export function spellStdinInputFile(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if ((arg === '-i' || arg === '--input-file') && argv[i + 1] === '-') {
      out.push('--input-file=-');
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
