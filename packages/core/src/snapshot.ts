/**
 * Job snapshots: what `snapshot()` shows of a job, built from its stored row and segments, or
 * from its run while it runs. Shared by the engine and the DB-only view (`snapshotFromDb`).
 */
import { join } from 'node:path';
import type { JobRow, Repos } from '@ddm/db';
import type { ErrorCode } from './errors.ts';
import { redactUrl } from './redact.ts';
import type { JobSnapshot, SegmentSnapshot } from './types.ts';

/** What a snapshot reads from a running job (a `JobRun`). */
export interface LiveRun {
  readonly job: JobRow;
  readonly doneBytes: number;
  readonly rateBytesPerSec: number;
  readonly connections: number;
  readonly maxConnections: number;
  readonly bucket: { readonly rate: number | null };
  readonly why: string | null;
  segmentSnapshots(): SegmentSnapshot[];
}

/** A running job: its row (state, why) with the live counters of its run. */
export function liveJobSnapshot(job: JobRow, run: LiveRun): JobSnapshot {
  const segments = run.segmentSnapshots();
  const doneBytes = run.doneBytes;
  const size = run.job.sizeBytes;
  const rate = run.rateBytesPerSec;
  return {
    ...baseSnapshot({ ...job, ...pickLive(run.job) }),
    doneBytes: segments.length > 0 ? doneBytes : 0,
    rateBytesPerSec: rate,
    etaSec: size !== null && rate > 0 ? Math.max(0, (size - doneBytes) / rate) : null,
    connections: run.connections,
    maxConnections: run.maxConnections,
    limitBytesPerSec: run.bucket.rate,
    why: run.why,
    segments,
  };
}

function pickLive(job: JobRow): Partial<JobRow> {
  return { fileName: job.fileName, sizeBytes: job.sizeBytes, finalUrl: job.finalUrl };
}

export function storedSegment(s: {
  index: number;
  start: number;
  end: number | null;
  writtenBytes: number;
  splitFrom: number | null;
}): SegmentSnapshot {
  return {
    index: s.index,
    start: s.start,
    end: s.end,
    writtenBytes: s.writtenBytes,
    status: s.end !== null && s.start + s.writtenBytes >= s.end ? 'done' : 'pending',
    rateBytesPerSec: 0,
    retries: 0,
    splitFrom: s.splitFrom,
  };
}

export function storedJobSnapshot(job: JobRow, segments: SegmentSnapshot[]): JobSnapshot {
  const doneBytes =
    job.state === 'completed' ? (job.sizeBytes ?? 0) : segments.reduce((s, seg) => s + seg.writtenBytes, 0);
  return { ...baseSnapshot(job), doneBytes, segments };
}

function baseSnapshot(job: JobRow): JobSnapshot {
  const mirrors = job.settings.mirrors;
  return {
    ...(mirrors && mirrors.length > 0 ? { mirrors: mirrors.map(redactUrl) } : {}),
    id: job.id,
    url: redactUrl(job.url),
    fileName: job.fileName,
    dir: job.dir,
    path: join(job.dir, job.fileName),
    state: job.state,
    sizeBytes: job.sizeBytes,
    doneBytes: 0,
    rateBytesPerSec: 0,
    etaSec: null,
    connections: 0,
    maxConnections: job.connections,
    limitBytesPerSec: job.limitBytesPerSec,
    priority: job.priority,
    errorCode: job.errorCode as ErrorCode | null,
    errorMessage: job.errorMessage,
    why: job.why,
    segments: [],
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  };
}

/**
 * Snapshots of every job in queue order for the engine. Running jobs come from their run; the
 * others from a cache that re-reads a row (and its segments) only when its `updated_at` moved,
 * so a snapshot costs one `SELECT id, updated_at` plus work for active or changed jobs, not a
 * query per stored job. A job's cache entry is dropped while it runs, so the row it ends with is
 * read again.
 */
export class JobSnapshotCache {
  /** Snapshots of jobs that are not running, with the `updated_at` they were built from. */
  private readonly stored = new Map<number, { updatedAt: number; snapshot: JobSnapshot }>();

  constructor(private readonly repos: Repos) {}

  jobs(runs: ReadonlyMap<number, LiveRun>): JobSnapshot[] {
    const versions = this.repos.jobs.versions();
    const changed = versions.filter((v) => {
      if (runs.has(v.id)) return false;
      return this.stored.get(v.id)?.updatedAt !== v.updatedAt;
    });
    if (changed.length > 0) {
      // Many changed rows (the first snapshot): read them all at once, two queries in all.
      const isBulk = changed.length > 32;
      const rows = isBulk ? new Map(this.repos.jobs.list().map((j) => [j.id, j])) : null;
      const segmentsByJob = isBulk ? this.repos.segments.listAll() : null;
      for (const v of changed) {
        const job = rows ? rows.get(v.id) : this.repos.jobs.get(v.id);
        if (!job) continue;
        const segments = segmentsByJob ? (segmentsByJob.get(v.id) ?? []) : this.repos.segments.list(v.id);
        this.stored.set(v.id, {
          updatedAt: job.updatedAt,
          snapshot: storedJobSnapshot(job, segments.map(storedSegment)),
        });
      }
    }
    const jobs: JobSnapshot[] = [];
    const present = new Set<number>();
    for (const v of versions) {
      present.add(v.id);
      const run = runs.get(v.id);
      if (run) {
        // Active jobs are few: their row (state, why) is read fresh every time.
        const row = this.repos.jobs.get(v.id);
        this.stored.delete(v.id);
        if (row) jobs.push(liveJobSnapshot(row, run));
        continue;
      }
      const entry = this.stored.get(v.id);
      if (entry) jobs.push(entry.snapshot);
    }
    for (const id of this.stored.keys()) if (!present.has(id)) this.stored.delete(id);
    return jobs;
  }
}
