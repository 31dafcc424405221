/**
 * The end of a download: check the finished `.part` (size, optional checksum), then give it its
 * final name without ever following a symlink or replacing a file that appeared meanwhile, and
 * end a move that a crashed run left halfway.
 */

import { lstatSync, readdirSync } from 'node:fs';
import { link, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRow } from '@ddm/db';
import type { OverwritePolicy } from './config-table.ts';
import { DdmError, errnoOf } from './errors.ts';
import {
  type FileIdentity,
  ioError,
  isNameTaken,
  isSameFile,
  lstatOrNull,
  type PartFile,
  unsafePathError,
} from './file-writer.ts';

/** Names tried when the final name keeps being taken while the finished file is moved into place. */
const MAX_MOVE_TRIES = 5;

/**
 * Checks the finished file through its open handle: its size is the job's, its bytes are synced,
 * and they match the job's checksum when it has one.
 * @throws DdmError ERR_SIZE_MISMATCH, ERR_CHECKSUM_MISMATCH (the data stays in the `.part`), ERR_IO
 */
export async function verifyPart(file: PartFile, job: JobRow, partPath: string): Promise<void> {
  const size = job.sizeBytes ?? 0;
  const actual = await file.sizeBytes();
  if (actual !== size) {
    throw new DdmError(`Size check failed: ${actual} bytes on disk, expected ${size}: ${partPath}`, {
      code: 'ERR_SIZE_MISMATCH',
    });
  }
  await file.sync();
  if (job.checksum) {
    // Through the open, checked handle: by now the name could point somewhere else.
    const result = await file.checksum(job.checksum);
    if (!result.ok) {
      throw new DdmError(
        `Checksum mismatch: expected ${result.expected}, got ${result.actual}; data kept in ${partPath}`,
        { code: 'ERR_CHECKSUM_MISMATCH' },
      );
    }
  }
}

export interface MoveOptions {
  dir: string;
  /** The name the job wants. */
  fileName: string;
  partPath: string;
  overwrite: OverwritePolicy;
  /** Proves the lock from the DB now, right before the file gets a user-visible name. @throws ERR_LOCK_LOST */
  confirmLock: () => void;
  /** The next free name for `fileName` (see `freeFileName`). */
  freeName: (wanted: string) => string;
  /** Records a name other than `fileName` before the `.part` name goes, so a crash leaves it findable. */
  recordName: (name: string) => void;
}

/**
 * Gives the finished `.part` its final name, never through a symlink and never over a file
 * that appeared meanwhile (unless `overwrite`). The `.part` keeps its name until the end: it is
 * linked under the final name (EEXIST: under the next free `name (n).ext`), the name is
 * recorded, then the `.part` is unlinked. A crash at any step leaves the job's inode under the
 * `.part`, under both names, or under the final name only; {@link interruptedMoveName} ends
 * the move from each of them on the next run.
 * @throws DdmError ERR_UNSAFE_PATH (the .part was swapped), ERR_FILE_EXISTS (overwrite = "fail"), ERR_IO
 */
export async function moveIntoPlace(file: PartFile, options: MoveOptions): Promise<void> {
  const { dir, fileName, partPath: part, confirmLock } = options;
  const finalPath = join(dir, fileName);
  file.assertAt(part);
  if (options.overwrite === 'overwrite') {
    // rename() replaces the name itself: a symlink there is replaced, its target left alone.
    try {
      // The file becomes the user's here: prove the lock is still this engine's right before.
      confirmLock();
      await rename(part, finalPath);
    } catch (error) {
      throw ioError(error, 'renaming the finished download', finalPath);
    }
    return;
  }
  let name = fileName;
  for (let tries = 0; ; tries++) {
    const target = join(dir, name);
    if ((await linkAs(file, part, target, confirmLock)) === 'linked') break;
    if (options.overwrite === 'fail') {
      throw new DdmError(`File already exists (overwrite = "fail"): ${target}`, { code: 'ERR_FILE_EXISTS' });
    }
    if (tries >= MAX_MOVE_TRIES) {
      throw new DdmError(`Could not find a free name for: ${finalPath}`, { code: 'ERR_FILE_EXISTS' });
    }
    name = options.freeName(fileName);
  }
  if (name !== fileName) options.recordName(name);
  try {
    await unlink(part);
  } catch (error) {
    // Gone already: the rename fallback below moved it.
    if (errnoOf(error) !== 'ENOENT') throw ioError(error, 'removing', part);
  }
}

/** Links the checked `.part` as `target`; 'taken' when anything has that name. */
async function linkAs(
  file: PartFile,
  part: string,
  target: string,
  confirmLock: () => void,
): Promise<'linked' | 'taken'> {
  try {
    // The file gets a user-visible name here: prove the lock is still this engine's first.
    confirmLock();
    // link() fails with EEXIST instead of replacing: no race with a file created meanwhile.
    await link(part, target);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') return 'taken';
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // No hard links on this file system (FAT, some network mounts): rename to a free name.
      if (isNameTaken(target)) return 'taken';
      try {
        confirmLock();
        await rename(part, target);
      } catch (renameError) {
        throw ioError(renameError, 'renaming the finished download', target);
      }
      return 'linked';
    }
    throw ioError(error, 'renaming the finished download', target);
  }
  // link() does not follow a symlink at `part`: had one been swapped in since the check, the
  // new name would be a second name of that symlink. Undo it and refuse.
  const linked = lstatOrNull(target);
  if (!linked?.isFile() || !isSameFile(linked, file.identity)) {
    await unlink(target).catch(() => {});
    throw unsafePathError(part, 'it was replaced while ddm moved it into place');
  }
  return 'linked';
}

/**
 * A run that crashed while moving the finished file into place left the job's inode under its
 * final name, and maybe still under `.part`. Its bytes were checked before the move began, so
 * the move is ended now (no request is made): the `.part` name is removed and the final name
 * returned. Null when the job's files show no interrupted move (the run then downloads).
 * @throws DdmError ERR_IO, ERR_LOCK_LOST
 */
export async function interruptedMoveName(
  job: JobRow,
  partPath: string,
  writtenBytes: () => number,
  confirmLock: () => void,
): Promise<string | null> {
  const identity = job.settings.partFile;
  const size = job.sizeBytes;
  if (identity === undefined || size === null || !job.hasCreatedFile) return null;
  const part = lstatOrNull(partPath);
  // The usual case: the .part is the job's only name (opening it checks the rest).
  if (part && part.nlink === 1) return null;
  if (writtenBytes() !== size) return null;
  const finalName = otherNameOf(job, identity, size);
  if (finalName === null) return null;
  if (part && isSameFile(part, identity)) {
    try {
      confirmLock();
      await unlink(partPath);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw ioError(error, 'removing', partPath);
    }
  }
  return finalName;
}

/**
 * The one name in the job's folder, other than the `.part`, of the regular file `identity`
 * names, `sizeBytes` long, on the folder's device; null when there is none or more than one. The
 * final name is tried first; the folder is listed only when the move fell back to another name.
 */
function otherNameOf(job: JobRow, identity: FileIdentity, sizeBytes: number): string | null {
  const dir = job.dir;
  const partName = `${job.fileName}.part`;
  let dev: number;
  let names: string[];
  try {
    dev = lstatSync(dir).dev;
    const isOurs = (name: string): boolean => {
      const stat = lstatOrNull(join(dir, name));
      return stat?.isFile() === true && isSameFile(stat, identity) && stat.dev === dev && stat.size === sizeBytes;
    };
    if (isOurs(job.fileName)) return job.fileName;
    names = readdirSync(dir).filter((name) => name !== partName && isOurs(name));
  } catch {
    return null;
  }
  return names.length === 1 ? (names[0] as string) : null;
}
