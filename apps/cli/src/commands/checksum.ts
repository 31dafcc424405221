import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ChecksumAlgo, DdmError, hashFile } from '@ddm/core';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

const ALGOS: readonly ChecksumAlgo[] = ['sha256', 'sha1', 'sha512', 'md5'];
const ALGO_BY_HEX_LENGTH: Readonly<Record<number, ChecksumAlgo>> = {
  32: 'md5',
  40: 'sha1',
  64: 'sha256',
  128: 'sha512',
};

function algoOf(text: string | undefined): ChecksumAlgo | undefined {
  if (text === undefined) return undefined;
  const algo = text.toLowerCase().replaceAll('-', '') as ChecksumAlgo;
  if (!ALGOS.includes(algo)) {
    throw new DdmError(`Unknown algorithm "${text}" (use ${ALGOS.join(', ')})`, { code: 'ERR_USAGE' });
  }
  return algo;
}

/**
 * `ddm checksum <file...> [--algo sha256]`: prints `hex  file` lines as `sha256sum` does (so the
 * output is a SHA256SUMS file); `ddm checksum -c SHA256SUMS` checks such a file.
 */
export async function checksumCommand(
  out: Output,
  files: readonly string[],
  flags: { algo?: string; check?: string | boolean },
): Promise<ExitCode> {
  if (flags.check !== undefined)
    return checkSums(out, [...(typeof flags.check === 'string' ? [flags.check] : []), ...files], algoOf(flags.algo));
  if (files.length === 0) throw new DdmError('Give files to hash, or -c <SHA256SUMS> to check', { code: 'ERR_USAGE' });
  const algo = algoOf(flags.algo) ?? 'sha256';
  const results: { file: string; algo: ChecksumAlgo; hex: string }[] = [];
  for (const file of files.map(String)) {
    if (!existsSync(resolve(file))) throw new DdmError(`No such file: ${resolve(file)}`, { code: 'ERR_IO' });
    const hex = await hashFile(resolve(file), algo);
    results.push({ file, algo, hex });
    if (!out.isJson) out.data(`${hex}  ${file}`);
  }
  if (out.isJson) out.json(results.length === 1 ? results[0] : { files: results });
  return EXIT.ok;
}

/** One `sha256sum` line: `hex  name` (text mode) or `hex *name` (binary mode). */
const SUM_LINE = /^([0-9a-fA-F]+) [ *](.+)$/;

async function checkSums(out: Output, lists: readonly string[], forced: ChecksumAlgo | undefined): Promise<ExitCode> {
  if (lists.length === 0)
    throw new DdmError('Give the checksum file to check: ddm checksum -c SHA256SUMS', { code: 'ERR_USAGE' });
  let mismatches = 0;
  let unreadable = 0;
  const results: { file: string; status: 'ok' | 'mismatch' | 'unreadable' }[] = [];
  for (const list of lists.map(String)) {
    let text: string;
    try {
      text = readFileSync(list, 'utf8');
    } catch (cause) {
      throw new DdmError(`Cannot read the checksum file: ${list}`, { code: 'ERR_IO', cause });
    }
    const lines = text.split(/\r?\n/);
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const match = SUM_LINE.exec(line);
      const algo = match ? (forced ?? ALGO_BY_HEX_LENGTH[(match[1] as string).length]) : undefined;
      if (!match || !algo) {
        throw new DdmError(`${list}:${index + 1}: not a "<hex>  <file>" checksum line`, { code: 'ERR_USAGE' });
      }
      const file = match[2] as string;
      let status: 'ok' | 'mismatch' | 'unreadable';
      try {
        status = (await hashFile(resolve(file), algo)) === (match[1] as string).toLowerCase() ? 'ok' : 'mismatch';
      } catch {
        status = 'unreadable';
      }
      if (status === 'mismatch') mismatches++;
      if (status === 'unreadable') unreadable++;
      results.push({ file, status });
      if (!out.isJson) {
        const text = { ok: 'OK', mismatch: 'FAILED', unreadable: 'FAILED open or read' }[status];
        if (status === 'ok') out.line(`${file}: ${text}`);
        else out.data(`${file}: ${text}`);
      }
    }
  }
  if (out.isJson) out.json({ files: results });
  if (mismatches > 0) out.error(`${mismatches} computed checksum${mismatches === 1 ? '' : 's'} did NOT match`);
  if (unreadable > 0) out.error(`${unreadable} listed file${unreadable === 1 ? '' : 's'} could not be read`);
  if (mismatches > 0) return EXIT.integrity;
  if (unreadable > 0) return EXIT.io;
  return EXIT.ok;
}
