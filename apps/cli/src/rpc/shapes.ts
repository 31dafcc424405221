/**
 * aria2's result shapes built from ddm's job snapshots: numbers as decimal strings, statuses
 * mapped onto aria2's six, error codes mapped onto aria2's exit codes. Pure functions.
 */
import type { ErrorCode, JobSnapshot, JobState } from '@ddm/core';
import { gidOf } from './gid.ts';

export type Aria2Status = 'active' | 'waiting' | 'paused' | 'error' | 'complete' | 'removed';

/** ddm's states onto aria2's: canceled is aria2's "removed" (its result stays until purged). */
export const STATUS_OF: Record<JobState, Aria2Status> = {
  queued: 'waiting',
  probing: 'active',
  downloading: 'active',
  verifying: 'active',
  paused: 'paused',
  failed: 'error',
  completed: 'complete',
  canceled: 'removed',
};

/** ddm error codes onto aria2's exit codes (aria2 docs, "EXIT STATUS"); 1 = unknown error. */
const ARIA2_EXIT_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_TIMEOUT: 2,
  ERR_STALLED: 5,
  ERR_NETWORK: 6,
  ERR_RANGE_UNSUPPORTED: 8,
  ERR_DISK_FULL: 9,
  ERR_FILE_EXISTS: 13,
  ERR_IO: 17,
  ERR_HTTP_STATUS: 22,
  ERR_RANGE_MISMATCH: 22,
  ERR_COMPRESSED: 22,
  ERR_TOO_MANY_REDIRECTS: 23,
  ERR_REDIRECT_LOOP: 23,
  ERR_CREDENTIALS_REQUIRED: 24,
  ERR_USAGE: 28,
  ERR_INVALID_URL: 28,
  ERR_CHECKSUM_MISMATCH: 32,
};

export function aria2ExitCode(code: ErrorCode | null): number {
  if (code === null) return 0;
  return ARIA2_EXIT_CODE[code] ?? 1;
}

/** A job as `tellStatus` describes it, before key filtering. */
export function statusOf(job: JobSnapshot): Record<string, unknown> {
  const status = STATUS_OF[job.state];
  const status_: Record<string, unknown> = {
    gid: gidOf(job.id),
    status,
    totalLength: String(job.sizeBytes ?? 0),
    completedLength: String(job.doneBytes),
    uploadLength: '0',
    downloadSpeed: String(Math.round(job.rateBytesPerSec)),
    uploadSpeed: '0',
    connections: String(job.connections),
    numPieces: String(job.segmentCount),
    pieceLength: String(pieceLengthOf(job)),
    dir: job.dir,
    files: filesOf(job),
  };
  if (status === 'error' || status === 'complete' || status === 'removed') {
    status_.errorCode = String(status === 'removed' ? 31 : aria2ExitCode(job.errorCode));
    if (job.errorMessage) status_.errorMessage = job.errorMessage;
  }
  return status_;
}

function pieceLengthOf(job: JobSnapshot): number {
  const first = job.segments[0];
  return first && first.end !== null ? first.end - first.start : 1024 * 1024;
}

/**
 * The job's URIs as aria2 lists them: the ones still in play (a dropped mirror is gone, as aria2
 * removes a failed URI), `used` while the download runs, else `waiting`. From the snapshot, so
 * every front end sees the engine's own view.
 */
export function urisOf(job: JobSnapshot): { uri: string; status: 'used' | 'waiting' }[] {
  const isActive = STATUS_OF[job.state] === 'active';
  const live = job.mirrors.filter((m) => m.state !== 'dropped').map((m) => m.url);
  const uris = live.length > 0 ? live : [job.url];
  return uris.map((uri, i) => ({ uri, status: isActive && (job.mirrors.length > 0 || i === 0) ? 'used' : 'waiting' }));
}

/** `getServers`: one entry per URI in use, with its own download speed (a mirror's connections). */
export function serversOf(job: JobSnapshot): { uri: string; currentUri: string; downloadSpeed: string }[] {
  if (job.mirrors.length === 0) {
    return [{ uri: job.url, currentUri: job.url, downloadSpeed: String(Math.round(job.rateBytesPerSec)) }];
  }
  return job.mirrors
    .filter((m) => m.state === 'usable')
    .map((m) => ({ uri: m.url, currentUri: m.url, downloadSpeed: String(Math.round(m.rateBytesPerSec)) }));
}

export function filesOf(job: JobSnapshot): Record<string, unknown>[] {
  return [
    {
      index: '1',
      path: job.path,
      length: String(job.sizeBytes ?? 0),
      completedLength: String(job.doneBytes),
      selected: 'true',
      uris: urisOf(job),
    },
  ];
}

/** `tellStatus`'s `keys`: only those keys, in any order; none given = all. */
export function pickKeys(status: Record<string, unknown>, keys: readonly string[] | null): Record<string, unknown> {
  if (keys === null || keys.length === 0) return status;
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (key in status) picked[key] = status[key];
  return picked;
}

/**
 * aria2's paging of `tellWaiting`/`tellStopped`: a non-negative `offset` takes
 * `[offset, offset + num)`; a negative one counts from the end (-1 = last) and returns the
 * items backwards from there.
 */
export function page<T>(items: readonly T[], offset: number, num: number): T[] {
  if (num <= 0) return [];
  if (offset >= 0) return items.slice(offset, offset + num);
  const start = items.length + offset;
  const out: T[] = [];
  for (let i = start; i >= 0 && out.length < num; i--) {
    const item = items[i];
    if (item !== undefined) out.push(item);
  }
  return out;
}

/** aria2 writes option values as strings; ddm rates as bytes per second (0 = unlimited). */
export function rateText(bytesPerSec: number | null): string {
  return String(bytesPerSec ?? 0);
}
