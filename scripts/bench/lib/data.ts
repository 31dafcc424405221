/** Generated bench files (deterministic, from @ddm/core/testing) and their SHA-256. */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody } from '@ddm/core/testing';

const CHUNK_BYTES = 8 * 1024 * 1024;

export interface DataFile {
  name: string;
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** Writes the generated body for `seed` to `dir/name`, hashing it on the way. */
export function writeDataFile(dir: string, name: string, sizeBytes: number, seed: number): DataFile {
  const body = generatedBody(sizeBytes, seed);
  const path = join(dir, name);
  const hasher = new Bun.CryptoHasher('sha256');
  const scratch = new Uint32Array(CHUNK_BYTES / 4 + 2);
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let pos = 0; pos < sizeBytes; pos += CHUNK_BYTES) {
      const chunk = body.sliceInto(pos, Math.min(sizeBytes, pos + CHUNK_BYTES), scratch);
      hasher.update(chunk);
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done, pos + done);
    }
  } finally {
    closeSync(fd);
  }
  return { name, path, sizeBytes, sha256: hasher.digest('hex') };
}

const readBuffer = new Uint8Array(CHUNK_BYTES);

/** SHA-256 of a file on disk, or null when it cannot be read. */
export function hashFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const hasher = new Bun.CryptoHasher('sha256');
    for (;;) {
      const n = readSync(fd, readBuffer, 0, readBuffer.length, null);
      if (n <= 0) break;
      hasher.update(readBuffer.subarray(0, n));
    }
    return hasher.digest('hex');
  } finally {
    closeSync(fd);
  }
}
