/**
 * A job's files outside a download: the directory it is added to, and which names on disk are
 * the job's own (so a remove with --delete-files and a hook never touch a file ddm did not create).
 */
import { closeSync, constants, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import type { JobRow, Repos } from '@ddm/db';
import { DdmError } from './errors.ts';
import { isSameFile, lstatOrNull, PartFile } from './file-writer.ts';

/** True when `path` is a regular file with one link and, when recorded, the job's own file. */
export function isOwnFile(path: string, job: JobRow): boolean {
  let stat: ReturnType<typeof lstatOrNull>;
  try {
    stat = lstatOrNull(path);
  } catch {
    return false;
  }
  if (!stat?.isFile() || stat.nlink !== 1) return false;
  const identity = job.settings.partFile;
  return identity === undefined || isSameFile(stat, identity);
}

/**
 * Deletes only the files the job created: a name that holds a symlink, a directory, a file with
 * other hard links, or (when the job recorded it) another inode than the one ddm created is left
 * alone.
 */
export function deleteOwnJobFiles(job: JobRow): void {
  if (!job.hasCreatedFile) return;
  tryUnlinkOwn(join(job.dir, `${job.fileName}.part`), job);
  if (job.state === 'completed') tryUnlinkOwn(join(job.dir, job.fileName), job);
}

function tryUnlinkOwn(path: string, job: JobRow): void {
  if (!isOwnFile(path, job)) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to delete.
  }
}

/**
 * Creates the download directory when missing and checks it is a writable directory.
 * @throws DdmError ERR_IO naming the directory.
 */
export function ensureWritableDir(dir: string): void {
  if (!isAbsolute(dir)) throw new DdmError(`Download directory must be absolute: ${dir}`, { code: 'ERR_USAGE' });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new DdmError(`Cannot create the download directory: ${dir}`, { code: 'ERR_IO', cause });
  }
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (cause) {
    throw new DdmError(`Cannot use the download directory: ${dir}`, { code: 'ERR_IO', cause });
  }
  if (!isDir) throw new DdmError(`Not a directory: ${dir}`, { code: 'ERR_IO' });
  // An unguessable name, created exclusively (O_EXCL never follows a symlink planted there).
  const probePath = join(dir, `.ddm-write-test-${process.pid}-${crypto.randomUUID()}`);
  try {
    const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;
    closeSync(openSync(probePath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
    unlinkSync(probePath);
  } catch (cause) {
    throw new DdmError(`Download directory is not writable: ${dir}`, { code: 'ERR_IO', cause });
  }
}

/**
 * The job's `.part`, ready for this attempt: the existing one reopened (O_NOFOLLOW, checked to be
 * ddm's own) or, for a fresh plan (a restart from zero, a new version), emptied and reserved
 * again so stale bytes never stand in for the new version; else a new one created exclusively.
 * `gone` when a job with written bytes lost its file (the run restarts from zero).
 * @throws DdmError ERR_UNSAFE_PATH, ERR_FILE_EXISTS, ERR_DISK_FULL, ERR_IO
 */
export async function openJobPart(o: {
  job: JobRow;
  path: string;
  sizeBytes: number | null;
  hasProgress: boolean;
  allocation: 'sparse' | 'full';
}): Promise<{ file: PartFile; isCreated: boolean } | 'gone'> {
  if (o.job.hasCreatedFile) {
    const existing = await PartFile.openExisting(o.path, o.job.settings.partFile);
    if (existing) {
      if (!o.job.isResumable || !o.hasProgress) {
        await existing.truncate(0);
        await existing.truncate(o.sizeBytes ?? 0);
      }
      return { file: existing, isCreated: false };
    }
    if (o.hasProgress) return 'gone';
  }
  return { file: await PartFile.create(o.path, o.sizeBytes, o.allocation), isCreated: true };
}

/** True when `path` is the target (final name or `.part`) of another job than `exceptJobId`. */
export function isPathReserved(repos: Repos, path: string, exceptJobId: number): boolean {
  // Only a job named `name` or `name` minus ".part" can hold this path.
  const name = basename(path);
  const names = name.endsWith('.part') ? [name, name.slice(0, -'.part'.length)] : [name];
  for (const t of repos.jobs.targetPathsNamed(names)) {
    if (t.id === exceptJobId) continue;
    const full = join(t.dir, t.fileName);
    if (full === path || `${full}.part` === path) return true;
  }
  return false;
}
