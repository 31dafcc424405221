import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ChecksumAlgo, DdmError, hashFile } from '@ddm/core';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

const ALGOS: readonly ChecksumAlgo[] = ['sha256', 'sha1', 'sha512', 'md5'];

/** `ddm checksum <file> [--algo sha256]`: prints `algo:hex  file`. */
export async function checksumCommand(out: Output, file: string, flags: { algo?: string }): Promise<ExitCode> {
  const algo = (flags.algo ?? 'sha256').toLowerCase() as ChecksumAlgo;
  if (!ALGOS.includes(algo))
    throw new DdmError(`Unknown algorithm "${flags.algo}" (use ${ALGOS.join(', ')})`, { code: 'ERR_USAGE' });
  const path = resolve(String(file));
  if (!existsSync(path)) throw new DdmError(`No such file: ${path}`, { code: 'ERR_IO' });
  const hex = await hashFile(path, algo);
  if (out.isJson) out.json({ file: path, algo, hex });
  else out.data(`${algo}:${hex}  ${path}`);
  return EXIT.ok;
}
