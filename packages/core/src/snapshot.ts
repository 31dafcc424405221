/**
 * Job snapshots: what `snapshot()` shows of a job, built from its stored row and segments, or
 * from its run while it runs. Shared by the engine and the DB-only view (`snapshotFromDb`).
 */
import { join } from 'node:path';
import { dataVersion, type JobRow, type JobSummaryRow, type Repos } from '@ddm/db';
import type { ErrorCode } from './errors.ts';
import type { Logger } from './log.ts';
import { storedMirrorSnapshots } from './mirrors.ts';
import { redactUrl } from './redact.ts';
import type { JobSnapshot, MirrorSnapshot, SegmentSnapshot } from './types.ts';

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
  mirrorSnapshots(): MirrorSnapshot[];
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
    segmentCount: segments.length,
    mirrors: run.mirrorSnapshots(),
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

/**
 * A job that is not running, from its row and stored segments; or, with `sums` (a status
 * listing), from the SQL sums of its segments, with an empty `segments` list.
 */
export function storedJobSnapshot(
  job: SnapshotRow,
  segments: SegmentSnapshot[],
  sums?: { writtenBytes: number; count: number },
): JobSnapshot {
  const writtenBytes = sums ? sums.writtenBytes : segments.reduce((s, seg) => s + seg.writtenBytes, 0);
  const doneBytes = job.state === 'completed' ? (job.sizeBytes ?? 0) : writtenBytes;
  const snapshot = baseSnapshot(job) as { -readonly [K in keyof JobSnapshot]: JobSnapshot[K] };
  snapshot.doneBytes = doneBytes;
  snapshot.segments = segments;
  snapshot.segmentCount = sums ? sums.count : segments.length;
  return snapshot;
}

/**
 * The columns of a job a snapshot shows: a full row (mirrors in its settings) or a listing's
 * `JobSummaryRow` (mirrors alone, without the rest of the settings).
 */
export type SnapshotRow = Omit<JobSummaryRow, 'segmentWrittenBytes' | 'segmentCount' | 'mirrors' | 'droppedMirrors'> &
  (
    | { settings: Pick<JobRow['settings'], 'mirrors' | 'droppedMirrors'> }
    | { mirrors: readonly string[] | null; droppedMirrors: readonly { url: string; why: string }[] | null }
  );

function baseSnapshot(job: SnapshotRow): JobSnapshot {
  const settings =
    'settings' in job
      ? job.settings
      : { mirrors: job.mirrors ? [...job.mirrors] : undefined, droppedMirrors: job.droppedMirrors ?? undefined };
  return {
    mirrors: storedMirrorSnapshots({ url: job.url, settings: settings as JobRow['settings'] }),
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
    segmentCount: 0,
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  };
}

/**
 * Snapshots of every job in queue order for the engine. Running jobs come from their run; the
 * others from a cache that re-reads a row only when its `updated_at` moved, so a snapshot costs
 * work for active or changed jobs only, not a query per stored job:
 * - the list of ids and `updated_at` is read again only when something was committed since
 *   (`PRAGMA data_version` for other processes, `total_changes()` for this connection, both
 *   counters SQLite keeps for free); changes made through `quietly` (the engine's heartbeat, its
 *   events, a running job's writes to its own rows) do not count;
 * - a bulk read (the first snapshot) takes the rows with their segment sums from SQL, without
 *   settings or segment rows; a stored job's `segments` are read from the DB the first time
 *   someone looks at them (the TUI's selected job), once.
 * A job's cache entry is dropped while it runs, so the row it ends with is read again.
 */
export class JobSnapshotCache {
  /** Snapshots of jobs that are not running, with the `updated_at` they were built from. */
  private readonly stored = new Map<number, { updatedAt: number; snapshot: JobSnapshot }>();
  /** Every job's id and `updated_at` in queue order, as read at `storedKey` (see `changeKey`). */
  private storedOrder: { id: number; updatedAt: number }[] | null = null;
  private storedKey: string | null = null;
  /**
   * Rows this connection changed that no stored job's snapshot depends on: the lock's heartbeat,
   * event rows, and a running job's writes to its own rows (a running job is read fresh every
   * snapshot, and re-read once it stops). See `quietly`.
   */
  private ownQuietChanges = 0;
  private quietDepth = 0;

  constructor(
    private readonly repos: Repos,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `fn` and counts the rows it changed as quiet: rows no stored job's snapshot depends on
   * (see `ownQuietChanges`). Only the outermost call counts, so nested calls never count a row
   * twice.
   */
  quietly<T>(fn: () => T): T {
    if (this.quietDepth > 0) return fn();
    const before = this.totalChanges();
    this.quietDepth++;
    try {
      return fn();
    } finally {
      this.quietDepth--;
      this.ownQuietChanges += this.totalChanges() - before;
    }
  }

  /**
   * Snapshots of these jobs only (those that exist), fresh from their rows, in queue order: what a
   * command that runs a few jobs reports, without building the other thousands of a large DB.
   */
  some(ids: readonly number[], runs: ReadonlyMap<number, LiveRun>): JobSnapshot[] {
    const rows = [...new Set(ids)]
      .map((id) => this.repos.jobs.get(id))
      .filter((row): row is JobRow => row !== null)
      // Queue order, as in the full snapshot.
      .sort((a, b) => b.priority - a.priority || a.queuePos - b.queuePos);
    return rows.map((row) => {
      const run = runs.get(row.id);
      return run
        ? liveJobSnapshot(row, run)
        : storedJobSnapshot(row, this.repos.segments.list(row.id).map(storedSegment));
    });
  }

  jobs(runs: ReadonlyMap<number, LiveRun>): JobSnapshot[] {
    const key = this.changeKey();
    if (key !== this.storedKey || this.storedOrder === null) {
      this.storedOrder = this.repos.jobs.versions();
      this.storedKey = key;
    }
    const versions = this.storedOrder;
    const changed = versions.filter((v) => {
      if (runs.has(v.id)) return false;
      return this.stored.get(v.id)?.updatedAt !== v.updatedAt;
    });
    if (changed.length > 0) {
      // Many changed rows (the first snapshot): one summary query (plus a GROUP BY) for all.
      const isBulk = changed.length > 32;
      const rows = isBulk ? new Map(this.repos.jobs.summaries().map((j) => [j.id, j])) : null;
      for (const v of changed) {
        const summary = rows?.get(v.id);
        const job = rows ? summary : this.repos.jobs.get(v.id);
        if (!job) continue;
        // A job that ran was written quietly: the list's `updated_at` may be older than its row.
        v.updatedAt = job.updatedAt;
        const snapshot = summary
          ? this.lazySegments(
              storedJobSnapshot(summary, [], {
                writtenBytes: summary.segmentWrittenBytes,
                count: summary.segmentCount,
              }),
            )
          : storedJobSnapshot(job, this.repos.segments.list(v.id).map(storedSegment));
        this.stored.set(v.id, { updatedAt: job.updatedAt, snapshot });
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

  private totalChanges(): number {
    return (this.repos.db.query('SELECT total_changes() AS n').get() as { n: number }).n;
  }

  /**
   * What was committed to the DB, by anyone, as one comparable value: `data_version` moves on
   * another connection's commit, `total_changes()` on this connection's writes.
   */
  private changeKey(): string {
    return `${dataVersion(this.repos.db)}:${this.totalChanges() - this.ownQuietChanges}`;
  }

  /**
   * A stored job's `segments`, read when first looked at (once). A read that fails (a DB
   * failure) shows none this time and is tried again next time: a getter must not throw into a
   * render.
   */
  private lazySegments(snapshot: JobSnapshot): JobSnapshot {
    let loaded: readonly SegmentSnapshot[] | null = null;
    return Object.defineProperty(snapshot, 'segments', {
      enumerable: true,
      get: (): readonly SegmentSnapshot[] => {
        if (loaded) return loaded;
        try {
          loaded = Object.freeze(this.repos.segments.list(snapshot.id).map(storedSegment));
          return loaded;
        } catch (error) {
          this.log.warn('cannot read segments', { jobId: snapshot.id, error: String(error) });
          return [];
        }
      },
    });
  }
}
