/**
 * The one preallocated `.part` file a job writes in place. Every write is positioned (all four
 * arguments) and looped until complete; nothing relies on a file cursor or append mode.
 */
import { writeSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { DdmError, errnoOf } from './errors.ts';

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

export class PartFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /**
   * Creates a new part file (never over an existing one) and reserves `sizeBytes`: a sparse
   * file by default, or written with zeros (`full`) so a full disk shows up before the download.
   * @throws DdmError ERR_FILE_EXISTS, ERR_DISK_FULL, ERR_IO
   */
  static async create(path: string, sizeBytes: number | null, allocation: 'sparse' | 'full'): Promise<PartFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx', 0o644);
    } catch (error) {
      throw ioError(error, 'creating the download file', path);
    }
    const file = new PartFile(path, handle);
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

  /** Opens an existing part file for resuming; null when it is gone. */
  static async openExisting(path: string): Promise<PartFile | null> {
    try {
      return new PartFile(path, await open(path, 'r+'));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw ioError(error, 'opening the download file', path);
    }
  }

  /** Writes `length` bytes of `buffer` at `position`, looping over short writes. */
  async write(buffer: Uint8Array, length: number, position: number): Promise<void> {
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
