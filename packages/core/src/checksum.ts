/**
 * Checksum specs (`sha256:<hex>`) and streaming file hashes for verifying a finished download.
 */
import type { FileHandle } from 'node:fs/promises';
import { DdmError } from './errors.ts';

export type ChecksumAlgo = 'sha256' | 'sha1' | 'sha512' | 'md5';

export interface ChecksumSpec {
  algo: ChecksumAlgo;
  /** Lower-case hex digest. */
  hex: string;
}

/** Hex digits of each algorithm's digest. */
export const HEX_LENGTH_BY_ALGO: Readonly<Record<ChecksumAlgo, number>> = {
  md5: 32,
  sha1: 40,
  sha256: 64,
  sha512: 128,
};

function isChecksumAlgo(value: string): value is ChecksumAlgo {
  return Object.hasOwn(HEX_LENGTH_BY_ALGO, value);
}

/**
 * Parses `algo:hex`, e.g. `sha256:9f86d0…`. The algorithm is case-insensitive and may be written
 * with a dash (`SHA-256`); aria2's `sha-256=hex` form is accepted too. Hex digits may be in
 * either case and are returned lower-case.
 *
 * @throws DdmError `ERR_USAGE` naming the spec when the algorithm is not one of
 *   sha256, sha1, sha512, md5, or the digest is not hex of that algorithm's length.
 */
export function parseChecksumSpec(spec: string): ChecksumSpec {
  const match = /^\s*([a-z0-9-]+)\s*[:=]\s*([0-9a-f]+)\s*$/i.exec(spec);
  const algo = match?.[1]?.toLowerCase().replaceAll('-', '') ?? '';
  const hex = match?.[2]?.toLowerCase() ?? '';
  if (!isChecksumAlgo(algo)) {
    throw new DdmError(`Invalid checksum (expected sha256:, sha512:, sha1: or md5: followed by hex): "${spec}"`, {
      code: 'ERR_USAGE',
    });
  }
  const expectedLength = HEX_LENGTH_BY_ALGO[algo];
  if (hex.length !== expectedLength) {
    throw new DdmError(`Invalid checksum (a ${algo} digest is ${expectedLength} hex digits): "${spec}"`, {
      code: 'ERR_USAGE',
    });
  }
  return { algo, hex };
}

function readError(path: string, cause: unknown): DdmError {
  return new DdmError(`Cannot read file to verify its checksum: ${path}`, { code: 'ERR_IO', cause });
}

/**
 * Hashes a file in constant memory by streaming it through `Bun.CryptoHasher`.
 *
 * @returns the lower-case hex digest.
 * @throws DdmError `ERR_IO` (with the errno error as `cause`) when the file cannot be read;
 *   rejects with `signal.reason` when `signal` aborts, and stops reading.
 */
export async function hashFile(path: string, algo: ChecksumAlgo, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const hasher = new Bun.CryptoHasher(algo);
  const openReader = () => Bun.file(path).stream().getReader();
  let reader: ReturnType<typeof openReader>;
  try {
    // Bun opens the file here and throws ENOENT & co. synchronously.
    reader = openReader();
  } catch (error) {
    throw readError(path, error);
  }
  const onAbort = (): void => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      hasher.update(value);
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw readError(path, error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
  return hasher.digest('hex');
}

const READ_CHUNK_BYTES = 1 << 20;

/**
 * Hashes an open file from byte 0 with positioned reads: the bytes of the file that handle
 * refers to, whatever its name points to meanwhile. `path` only names it in errors.
 *
 * @returns the lower-case hex digest.
 * @throws DdmError `ERR_IO` when the file cannot be read; rejects with `signal.reason` on abort.
 */
export async function hashFileHandle(
  handle: FileHandle,
  algo: ChecksumAlgo,
  path: string,
  signal?: AbortSignal,
): Promise<string> {
  signal?.throwIfAborted();
  const hasher = new Bun.CryptoHasher(algo);
  const buffer = new Uint8Array(READ_CHUNK_BYTES);
  let position = 0;
  for (;;) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
    } catch (error) {
      throw readError(path, error);
    }
    signal?.throwIfAborted();
    if (bytesRead === 0) break;
    hasher.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hasher.digest('hex');
}

export interface ChecksumResult {
  /** True when the digests are equal. */
  ok: boolean;
  /** Lower-case hex digest of the file. */
  actual: string;
  /** Lower-case hex digest from the spec. */
  expected: string;
}

/**
 * Hashes `path` (or an already open, checked file: a job's `.part` is hashed through its handle,
 * never reopened by name) with the spec's algorithm and compares it with the spec's digest. A
 * mismatch is a result, not an error: the caller decides whether it becomes
 * `ERR_CHECKSUM_MISMATCH`.
 *
 * @param spec `algo:hex` (see {@link parseChecksumSpec}) or an already parsed spec.
 * @returns `{ok, actual, expected}` with lower-case hex digests.
 * @throws DdmError `ERR_USAGE` for an invalid spec, `ERR_IO` when the file cannot be read;
 *   rejects with `signal.reason` on abort.
 */
export async function verifyChecksum(
  source: string | { handle: FileHandle; path: string },
  spec: string | ChecksumSpec,
  signal?: AbortSignal,
): Promise<ChecksumResult> {
  const { algo, hex } = typeof spec === 'string' ? parseChecksumSpec(spec) : spec;
  const actual =
    typeof source === 'string'
      ? await hashFile(source, algo, signal)
      : await hashFileHandle(source.handle, algo, source.path, signal);
  return { ok: actual === hex.toLowerCase(), actual, expected: hex.toLowerCase() };
}
