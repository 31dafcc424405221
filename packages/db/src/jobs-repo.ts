import type { Database } from 'bun:sqlite';
import { write } from './write.ts';

export type JobStateName =
  | 'queued'
  | 'probing'
  | 'downloading'
  | 'paused'
  | 'verifying'
  | 'completed'
  | 'failed'
  | 'canceled';

/** Per-job request and behaviour settings, stored as JSON. Secrets only when the user opted in. */
export interface JobSettings {
  headers?: Record<string, string>;
  /** Header names whose values were not stored (credentials); a later process must get them again. */
  withheldHeaders?: string[];
  /** The user named the file (-o): never rename it from Content-Disposition. */
  isFileNameFixed?: boolean;
  overwrite?: 'rename' | 'overwrite' | 'fail';
  /** Request to re-issue for a fresh signed URL (the pre-redirect URL and its headers). */
  originalUrl?: string;
  /** HAR or curl import: where the request came from. */
  source?: 'url' | 'har' | 'curl';
  /** Cookie header values scoped per origin, only with --remember-cookies. */
  cookies?: { name: string; value: string; domain: string; path: string; secure: boolean; hostOnly: boolean }[];
  needsCookies?: boolean;
  restarts?: number;
  /**
   * Identity of the `.part` ddm created for this job (kept by link and rename, so also the final
   * file's): a file at the job's names with another identity is not ddm's and is never written,
   * moved or deleted. The inode plus its birth time (0 where the file system has none), because
   * a freed inode number is reused at once; not the device number, which may change across
   * reboots.
   */
  partFile?: { ino: number; birthtimeMs: number };
  /**
   * Other URLs of the same file (an input file's tab-separated URLs, `--mirror`, aria2's
   * `addUri` URIs; may repeat `url`): the engine downloads from `url` and these together.
   */
  mirrors?: string[];
  /** Mirrors dropped in the last run, each with the why that names it (written when dropped). */
  droppedMirrors?: { url: string; why: string }[];
}

export interface JobRow {
  id: number;
  url: string;
  finalUrl: string | null;
  dir: string;
  fileName: string;
  sizeBytes: number | null;
  etag: string | null;
  lastModified: string | null;
  acceptsRanges: boolean | null;
  state: JobStateName;
  errorCode: string | null;
  errorMessage: string | null;
  why: string | null;
  connections: number;
  settings: JobSettings;
  checksum: string | null;
  priority: number;
  queuePos: number;
  limitBytesPerSec: number | null;
  isResumable: boolean;
  /** ddm created the `.part`/final file of this job (so `remove --delete-files` may delete it). */
  hasCreatedFile: boolean;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

interface RawJob {
  id: number;
  url: string;
  final_url: string | null;
  dir: string;
  file_name: string;
  size_bytes: number | null;
  etag: string | null;
  last_modified: string | null;
  accepts_ranges: number | null;
  state: JobStateName;
  error_code: string | null;
  error_message: string | null;
  why: string | null;
  connections: number;
  settings_json: string;
  checksum: string | null;
  priority: number;
  queue_pos: number;
  limit_bytes_per_sec: number | null;
  is_resumable: number;
  created_file: number;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

function toRow(raw: RawJob): JobRow {
  return {
    id: raw.id,
    url: raw.url,
    finalUrl: raw.final_url,
    dir: raw.dir,
    fileName: raw.file_name,
    sizeBytes: raw.size_bytes,
    etag: raw.etag,
    lastModified: raw.last_modified,
    acceptsRanges: raw.accepts_ranges === null ? null : raw.accepts_ranges === 1,
    state: raw.state,
    errorCode: raw.error_code,
    errorMessage: raw.error_message,
    why: raw.why,
    connections: raw.connections,
    settings: JSON.parse(raw.settings_json) as JobSettings,
    checksum: raw.checksum,
    priority: raw.priority,
    queuePos: raw.queue_pos,
    limitBytesPerSec: raw.limit_bytes_per_sec,
    isResumable: raw.is_resumable === 1,
    hasCreatedFile: raw.created_file === 1,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    completedAt: raw.completed_at,
  };
}

/** The columns of a job that a listing shows (`JobsRepo.summaries`), with its segments' sums. */
export type JobSummaryRow = Pick<
  JobRow,
  | 'id'
  | 'url'
  | 'dir'
  | 'fileName'
  | 'sizeBytes'
  | 'state'
  | 'errorCode'
  | 'errorMessage'
  | 'why'
  | 'connections'
  | 'priority'
  | 'limitBytesPerSec'
  | 'createdAt'
  | 'updatedAt'
  | 'completedAt'
> & {
  /** `settings.mirrors` (the one setting a listing shows: the RPC server lists a job's URIs), or null. */
  mirrors: string[] | null;
  /** `settings.droppedMirrors`: the mirrors a run dropped, with why, or null. */
  droppedMirrors: { url: string; why: string }[] | null;
  /** Sum of the stored `written_bytes` of its segments. */
  segmentWrittenBytes: number;
  segmentCount: number;
};

export interface NewJob {
  url: string;
  dir: string;
  fileName: string;
  connections: number;
  settings?: JobSettings;
  checksum?: string | null;
  priority?: number;
  limitBytesPerSec?: number | null;
  state?: JobStateName;
}

/** Columns a caller may change, in camelCase. */
export type JobPatch = Partial<Omit<JobRow, 'id' | 'createdAt' | 'updatedAt'>>;

const COLUMN: Record<keyof JobPatch, string> = {
  url: 'url',
  finalUrl: 'final_url',
  dir: 'dir',
  fileName: 'file_name',
  sizeBytes: 'size_bytes',
  etag: 'etag',
  lastModified: 'last_modified',
  acceptsRanges: 'accepts_ranges',
  state: 'state',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  why: 'why',
  connections: 'connections',
  settings: 'settings_json',
  checksum: 'checksum',
  priority: 'priority',
  queuePos: 'queue_pos',
  limitBytesPerSec: 'limit_bytes_per_sec',
  isResumable: 'is_resumable',
  hasCreatedFile: 'created_file',
  completedAt: 'completed_at',
};

function toSql(value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object') return JSON.stringify(value);
  return value as string | number;
}

/** The `jobs` table. */
export class JobsRepo {
  constructor(private readonly db: Database) {}

  insert(job: NewJob, now = Date.now()): JobRow {
    return write(this.db, () => this.insertLocked(job, now));
  }

  private insertLocked(job: NewJob, now: number): JobRow {
    // Under the write lock, so two processes adding at once cannot take the same queue position.
    const maxPos = this.db.query('SELECT COALESCE(MAX(queue_pos), 0) AS p FROM jobs').get() as { p: number };
    const raw = this.db
      .query(
        `INSERT INTO jobs (url, dir, file_name, state, connections, settings_json, checksum, priority,
           queue_pos, limit_bytes_per_sec, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      )
      .get(
        job.url,
        job.dir,
        job.fileName,
        job.state ?? 'queued',
        job.connections,
        JSON.stringify(job.settings ?? {}),
        job.checksum ?? null,
        job.priority ?? 0,
        maxPos.p + 1,
        job.limitBytesPerSec ?? null,
        now,
        now,
      ) as RawJob;
    return toRow(raw);
  }

  get(id: number): JobRow | null {
    const raw = this.db.query('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | null;
    return raw ? toRow(raw) : null;
  }

  /** All jobs in queue order: priority (high first), then queue position (old first). */
  list(): JobRow[] {
    return (this.db.query('SELECT * FROM jobs ORDER BY priority DESC, queue_pos ASC').all() as RawJob[]).map(toRow);
  }

  /**
   * Every job's id and `updated_at`, in queue order: one cheap indexed query that tells a cache
   * which rows changed (every `update` bumps `updated_at`).
   */
  versions(): { id: number; updatedAt: number }[] {
    return (
      this.db.query('SELECT id, updated_at FROM jobs ORDER BY priority DESC, queue_pos ASC').all() as {
        id: number;
        updated_at: number;
      }[]
    ).map((r) => ({ id: r.id, updatedAt: r.updated_at }));
  }

  /**
   * Every job in queue order with what a listing shows (see `JobSummaryRow`): no settings but
   * the mirrors (taken out of the settings JSON in SQL, parsed only for a job that has some),
   * and the sum of its segments' written bytes and their count, summed in SQL. Two queries whatever
   * the number of jobs, rows named in SQL so no per-row mapping runs: `ddm status` of 10,000
   * jobs reads no segment row into JavaScript. (Two, not one join: SQLite materialises a grouped
   * subquery and indexes it on the fly, which costs more than the two scans.) Call it inside a
   * transaction when the two must agree.
   */
  summaries(): JobSummaryRow[] {
    const sums = new Map<number, { written: number; n: number }>();
    const grouped = this.db
      .query('SELECT job_id, SUM(written_bytes) AS written, COUNT(*) AS n FROM segments GROUP BY job_id')
      .all() as { job_id: number; written: number; n: number }[];
    for (const g of grouped) sums.set(g.job_id, g);
    const rows = this.db
      .query(
        `SELECT id, url, dir, file_name AS fileName, size_bytes AS sizeBytes, state, error_code AS errorCode,
           error_message AS errorMessage, why, connections, priority, limit_bytes_per_sec AS limitBytesPerSec,
           created_at AS createdAt, updated_at AS updatedAt, completed_at AS completedAt,
           json_extract(settings_json, '$.mirrors') AS mirrors,
           json_extract(settings_json, '$.droppedMirrors') AS droppedMirrors, 0 AS segmentWrittenBytes, 0 AS segmentCount
         FROM jobs ORDER BY priority DESC, queue_pos ASC`,
      )
      .all() as JobSummaryRow[];
    for (const row of rows) {
      // json_extract gives an array as its JSON text.
      if (row.mirrors !== null) row.mirrors = JSON.parse(row.mirrors as unknown as string) as string[];
      if (row.droppedMirrors !== null) {
        row.droppedMirrors = JSON.parse(row.droppedMirrors as unknown as string) as { url: string; why: string }[];
      }
      const sum = sums.get(row.id);
      if (!sum) continue;
      row.segmentWrittenBytes = sum.written;
      row.segmentCount = sum.n;
    }
    return rows;
  }

  /** Jobs whose original URL is `url` (what `ddm get URL` again continues), in queue order. */
  listByUrl(url: string): JobRow[] {
    return (
      this.db.query('SELECT * FROM jobs WHERE url = ? ORDER BY priority DESC, queue_pos ASC').all(url) as RawJob[]
    ).map(toRow);
  }

  listByState(states: readonly JobStateName[]): JobRow[] {
    const marks = states.map(() => '?').join(',');
    return (
      this.db
        .query(`SELECT * FROM jobs WHERE state IN (${marks}) ORDER BY priority DESC, queue_pos ASC`)
        .all(...states) as RawJob[]
    ).map(toRow);
  }

  update(id: number, patch: JobPatch, now = Date.now()): void {
    const keys = Object.keys(patch) as (keyof JobPatch)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${COLUMN[k]} = ?`).join(', ');
    const values = keys.map((k) => toSql(patch[k]));
    write(this.db, () => this.db.query(`UPDATE jobs SET ${sets}, updated_at = ? WHERE id = ?`).run(...values, now, id));
  }

  /** Moves a job to the front or the back of its priority class. */
  move(id: number, where: 'top' | 'bottom'): void {
    const sql =
      where === 'top'
        ? 'SELECT COALESCE(MIN(queue_pos), 0) - 1 AS p FROM jobs'
        : 'SELECT COALESCE(MAX(queue_pos), 0) + 1 AS p FROM jobs';
    write(this.db, () => {
      const { p } = this.db.query(sql).get() as { p: number };
      this.db.query('UPDATE jobs SET queue_pos = ?, updated_at = ? WHERE id = ?').run(p, Date.now(), id);
    });
  }

  delete(id: number): void {
    write(this.db, () => this.db.query('DELETE FROM jobs WHERE id = ?').run(id));
  }

  /** Final paths (dir + name) of jobs that have not ended in `canceled`/`failed`... i.e. every job. */
  targetPaths(): { id: number; dir: string; fileName: string }[] {
    return (
      this.db.query('SELECT id, dir, file_name FROM jobs').all() as { id: number; dir: string; file_name: string }[]
    ).map((r) => ({ id: r.id, dir: r.dir, fileName: r.file_name }));
  }
  /**
   * `targetPaths` of the jobs whose file name is one of `fileNames` only: one scan inside
   * SQLite, not every job's row into JavaScript (a name check with 10,000 jobs in the DB).
   */
  targetPathsNamed(fileNames: readonly string[]): { id: number; dir: string; fileName: string }[] {
    if (fileNames.length === 0) return [];
    const marks = fileNames.map(() => '?').join(',');
    return (
      this.db.query(`SELECT id, dir, file_name FROM jobs WHERE file_name IN (${marks})`).all(...fileNames) as {
        id: number;
        dir: string;
        file_name: string;
      }[]
    ).map((r) => ({ id: r.id, dir: r.dir, fileName: r.file_name }));
  }
}
