/**
 * `-i/--input-file`: a list of downloads in aria2's input-file format. Pure: text in, entries out.
 *
 * ```
 * # a comment
 * https://example.com/a.iso
 * https://one.example/b.iso<TAB>https://two.example/b.iso    (mirrors of one file)
 *   dir=/srv/isos
 *   out=b.iso
 *   header=Authorization: Bearer ...
 *   checksum=sha-256=9f86d0...
 * ```
 * A line that starts with a URL begins an entry; several URLs on it, separated by tabs, are
 * mirrors of the same file. Indented `key=value` lines below it are that entry's options.
 */
import { parseChecksumSpec } from './checksum.ts';
import { DdmError } from './errors.ts';
import { parseHttpUrl } from './http.ts';

/** The options an entry may set (aria2's names). */
export const INPUT_FILE_KEYS = ['dir', 'out', 'header', 'checksum'] as const;
export type InputFileKey = (typeof INPUT_FILE_KEYS)[number];

export interface InputEntry {
  /** The first URL, then its mirrors. */
  urls: string[];
  /** 1-based line of the URL line, for messages. */
  line: number;
  dir?: string;
  out?: string;
  /** `Name: value` texts, in order (repeatable). */
  headers: string[];
  checksum?: string;
}

/**
 * Parses an input file. `source` names it in errors (`list.txt`, or `-` for stdin).
 * @throws DdmError ERR_USAGE naming `source:line`: an option before any URL, an unknown key, a
 *   line without `=`, an invalid URL or checksum, or no entry at all.
 */
export function parseInputFile(text: string, source: string): InputEntry[] {
  const entries: InputEntry[] = [];
  const lines = text.split(/\r?\n/);
  const fail = (line: number, what: string): never => {
    throw new DdmError(`${source}:${line}: ${what}`, { code: 'ERR_USAGE' });
  };
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (/^\s/.test(raw)) {
      const current = entries[entries.length - 1];
      if (!current) fail(line, `option "${trimmed}" comes before any URL`);
      const eq = trimmed.indexOf('=');
      if (eq <= 0) fail(line, `expected key=value, got "${trimmed}"`);
      const key = trimmed.slice(0, eq).trim();
      const value = trimmed.slice(eq + 1).trim();
      if (!(INPUT_FILE_KEYS as readonly string[]).includes(key)) {
        fail(line, `unknown option "${key}" (known: ${INPUT_FILE_KEYS.join(', ')})`);
      }
      const entry = current as InputEntry;
      switch (key as InputFileKey) {
        case 'dir':
          entry.dir = value;
          break;
        case 'out':
          if (!value || value.includes('/') || value === '.' || value === '..') {
            fail(line, `out must be a file name without a directory: "${value}"`);
          }
          entry.out = value;
          break;
        case 'header':
          entry.headers.push(value);
          break;
        case 'checksum':
          try {
            parseChecksumSpec(value);
          } catch (error) {
            fail(line, (error as Error).message);
          }
          entry.checksum = value;
          break;
      }
      return;
    }
    const urls = trimmed
      .split('\t')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    for (const url of urls) {
      try {
        parseHttpUrl(url);
      } catch (error) {
        fail(line, (error as Error).message);
      }
    }
    entries.push({ urls, line, headers: [] });
  });
  if (entries.length === 0) fail(lines.length, 'no URL in the input file');
  return entries;
}
