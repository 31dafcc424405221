/**
 * The one preallocated `.part` file a job writes in place. Every write is positioned (all four
 * arguments) and looped until complete; nothing relies on a file cursor or append mode.
 *
 * File safety: a job's files are opened with O_NOFOLLOW (a symlink planted at the name is
 * refused, never followed), then checked on the handle: a regular file with one link (a planted
 * hard link to a file outside the folder is the same attack) and, when known, the inode ddm
 * created. Anything else is `ERR_UNSAFE_PATH` and nothing is written.
 */
import { constants, lstatSync, type Stats, writeSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { ChecksumResult, ChecksumSpec } from './checksum.ts';
import { verifyChecksum } from './checksum.ts';
import { DdmError, errnoOf } from './errors.ts';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR } = constants;

/**
 * A job's file that is not the one ddm created there: `reason` says what it is instead.
 * Code `ERR_UNSAFE_PATH` (not retryable); the message names the path.
 */
export function unsafePathError(path: string, reason: string, cause?: unknown): DdmError {
  return new DdmError(`Refusing to use ${path}: ${reason}; move it away or delete it to start over`, {
    code: 'ERR_UNSAFE_PATH',
    cause,
  });
}

/** lstat that never follows a symlink; null when nothing has that name. */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw ioError(error, 'checking', path);
  }
}

/** True when anything has this name: a file, a directory, a symlink (even a dangling one). */
export function isNameTaken(path: string): boolean {
  return lstatOrNull(path) !== null;
}

/** Which file ddm created: its inode and birth time (0 where the file system keeps none). */
export interface FileIdentity {
  ino: number;
  birthtimeMs: number;
}

export function identityOf(stat: Stats): FileIdentity {
  return { ino: stat.ino, birthtimeMs: stat.birthtimeMs };
}

/** True when `stat` is the file `identity` names (a reused inode number has a new birth time). */
export function isSameFile(stat: Stats, identity: FileIdentity): boolean {
  if (stat.ino !== identity.ino) return false;
  return identity.birthtimeMs === 0 || stat.birthtimeMs === 0 || stat.birthtimeMs === identity.birthtimeMs;
}

/**
 * Checks that `stat` (an lstat of `path` or an fstat of its handle) is a job's own file: a
 * regular file with one link and, when `expected` is known, the file ddm created.
 * @throws DdmError ERR_UNSAFE_PATH naming the path.
 */
export function assertOwnFile(stat: Stats, path: string, expected: FileIdentity | null | undefined): void {
  if (stat.isSymbolicLink()) throw unsafePathError(path, 'it is a symbolic link');
  if (!stat.isFile()) throw unsafePathError(path, 'it is not a regular file');
  if (stat.nlink !== 1) throw unsafePathError(path, `it has ${stat.nlink} hard links (ddm's file has one)`);
  if (expected && !isSameFile(stat, expected)) {
    throw unsafePathError(path, 'it is not the file ddm created (another file was put in its place)');
  }
}

/** Maps an fs errno to ERR_DISK_FULL / ERR_IO with a message naming the path. */
export function ioError(error: unknown, action: string, path: string): DdmError {
  if (error instanceof DdmError) return error;
  const code = errnoOf(error);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new DdmError(`Disk full while ${action}: ${path}`, { code: 'ERR_DISK_FULL', cause: error });
    case 'EFBIG':
      return new DdmError(`File too large for this file system while ${action}: ${path}`, {
        code: 'ERR_IO',
        cause: error,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new DdmError(`Permission denied while ${action}: ${path}`, { code: 'ERR_IO', cause: error });
    case 'EEXIST':
      return new DdmError(`File already exists: ${path}`, { code: 'ERR_FILE_EXISTS', cause: error });
    case 'ELOOP':
      return unsafePathError(path, 'it is a symbolic link', error);
    case 'EISDIR':
      return unsafePathError(path, 'it is a directory', error);
    case 'ENOENT':
    case 'ENOTDIR':
      return new DdmError(`No such directory while ${action}: ${path}`, { code: 'ERR_IO', cause: error });
    default:
      return new DdmError(`I/O error${code ? ` (${code})` : ''} while ${action}: ${path}`, {
        code: 'ERR_IO',
        cause: error,
      });
  }
}

const ZERO_CHUNK_BYTES = 1 << 20;

/** A checkpoint also starts after 1% of the file (within these bounds) was written since the last. */
const MIN_CHECKPOINT_BYTES = 8 * 1024 * 1024;
const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;

/**
 * Bytes written since the last checkpoint after which the next one starts early: on a fast link
 * a second's worth of data is a lot to fetch again after a crash.
 */
export function checkpointThresholdBytes(sizeBytes: number | null): number {
  return Math.min(MAX_CHECKPOINT_BYTES, Math.max(MIN_CHECKPOINT_BYTES, Math.floor((sizeBytes ?? 0) / 100)));
}

export class PartFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** The job records it, so a file swapped in later is recognised. */
    readonly identity: FileIdentity,
  ) {}

  /**
   * Creates a new part file (never over an existing one) and reserves `sizeBytes`: a sparse
   * file by default, or written with zeros (`full`) so a full disk shows up before the download.
   * O_EXCL also refuses a symlink at the name (even a dangling one): nothing is created through it.
   * @throws DdmError ERR_FILE_EXISTS, ERR_DISK_FULL, ERR_IO
   */
  static async create(path: string, sizeBytes: number | null, allocation: 'sparse' | 'full'): Promise<PartFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    } catch (error) {
      throw ioError(error, 'creating the download file', path);
    }
    let file: PartFile;
    try {
      file = new PartFile(path, handle, identityOf(await handle.stat()));
    } catch (error) {
      await handle.close().catch(() => {});
      throw ioError(error, 'creating the download file', path);
    }
    try {
      if (sizeBytes !== null && sizeBytes > 0) {
        if (allocation === 'full') {
          const zeros = new Uint8Array(Math.min(ZERO_CHUNK_BYTES, sizeBytes));
          for (let pos = 0; pos < sizeBytes; pos += zeros.length) {
            await file.write(zeros, Math.min(zeros.length, sizeBytes - pos), pos);
          }
        } else {
          await handle.truncate(sizeBytes);
        }
      }
    } catch (error) {
      await handle.close().catch(() => {});
      // The file is ours (created exclusively just above) and the job does not know it exists
      // yet; left behind it would make every later attempt fail with EEXIST instead of resuming.
      await unlink(path).catch(() => {});
      throw ioError(error, 'reserving space for the download', path);
    }
    return file;
  }

  /**
   * Opens an existing part file for resuming, never through a symlink, and checks the handle:
   * a regular file with one link and, when `expected` is known, the file ddm created.
   * @returns null when nothing has that name.
   * @throws DdmError ERR_UNSAFE_PATH (symlink, hard link, other file), ERR_IO
   */
  static async openExisting(path: string, expected: FileIdentity | null | undefined): Promise<PartFile | null> {
    let handle: FileHandle;
    try {
      handle = await open(path, O_RDWR | O_NOFOLLOW);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw ioError(error, 'opening the download file', path);
    }
    try {
      const stat = await handle.stat();
      assertOwnFile(stat, path, expected);
      return new PartFile(path, handle, identityOf(stat));
    } catch (error) {
      await handle.close().catch(() => {});
      throw ioError(error, 'opening the download file', path);
    }
  }

  /**
   * Checks that `path` (by default the name this file was opened by) still names this very
   * file and nothing else: right before it is linked, renamed or deleted.
   * @throws DdmError ERR_UNSAFE_PATH naming the path.
   */
  assertAt(path = this.path): void {
    const stat = lstatOrNull(path);
    if (!stat) throw unsafePathError(path, 'it disappeared while ddm had it open');
    assertOwnFile(stat, path, this.identity);
  }

  /** Hashes the file through this open handle, never by path (the name could be swapped). */
  checksum(spec: string | ChecksumSpec, signal?: AbortSignal): Promise<ChecksumResult> {
    return verifyChecksum({ handle: this.handle, path: this.path }, spec, signal);
  }

  /**
   * Writes `length` bytes of `buffer` at `position`, looping over short writes.
   * @throws DdmError ERR_DISK_FULL, ERR_IO.
   */
  async write(buffer: Uint8Array, length: number, position: number): Promise<void> {
    this.writeNow(buffer, length, position);
  }

  /**
   * {@link write} without a promise, for the body pump's hot path: every promise allocated per
   * chunk is garbage that makes the JS heap collect more often, and each young-generation
   * collection promotes the response chunks in flight at that moment, which then stay in memory
   * until the next full collection (`bun run bench` scenario 9: see docs/BENCHMARKS.md).
   * @throws DdmError ERR_DISK_FULL, ERR_IO.
   */
  writeNow(buffer: Uint8Array, length: number, position: number): void {
    let done = 0;
    try {
      while (done < length) {
        // A synchronous pwrite on the handle's fd: writes land in the page cache in microseconds,
        // and skipping the thread-pool round trip of `handle.write` saved ~12% CPU per GiB in
        // `bun run bench`. Durability still comes from the fdatasync in `sync()`.
        const bytesWritten = writeSync(this.handle.fd, buffer, done, length - done, position + done);
        if (bytesWritten <= 0) throw new DdmError(`Write made no progress: ${this.path}`, { code: 'ERR_IO' });
        done += bytesWritten;
      }
    } catch (error) {
      throw ioError(error, 'writing', this.path);
    }
  }

  async truncate(sizeBytes: number): Promise<void> {
    try {
      await this.handle.truncate(sizeBytes);
    } catch (error) {
      throw ioError(error, 'resizing', this.path);
    }
  }

  async sizeBytes(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  /** fdatasync: the data written so far survives a power cut once this resolves. */
  async sync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (error) {
      throw ioError(error, 'syncing', this.path);
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}
