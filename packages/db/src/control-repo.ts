import type { Database } from 'bun:sqlite';
import { DbError } from './errors.ts';
import { write } from './write.ts';

/**
 * `adopt`: a `get` engine also runs this job (a second `ddm get` hands its job over); `move`:
 * to the top or bottom of its priority (`arg.where`).
 */
export type CommandKind =
  | 'pause'
  | 'resume'
  | 'cancel'
  | 'remove'
  | 'limit'
  | 'connections'
  | 'refresh'
  | 'wake'
  | 'adopt'
  | 'move';

export interface CommandRow {
  id: number;
  jobId: number | null;
  kind: CommandKind;
  arg: Record<string, unknown>;
  createdAt: number;
  doneAt: number | null;
  error: string | null;
}

interface RawCommand {
  id: number;
  job_id: number | null;
  kind: CommandKind;
  arg_json: string;
  created_at: number;
  done_at: number | null;
  error: string | null;
}

const toCommand = (r: RawCommand): CommandRow => ({
  id: r.id,
  jobId: r.job_id,
  kind: r.kind,
  arg: JSON.parse(r.arg_json) as Record<string, unknown>,
  createdAt: r.created_at,
  doneAt: r.done_at,
  error: r.error,
});

/** The `commands` table: requests from other processes to the running engine. */
export class CommandsRepo {
  constructor(private readonly db: Database) {}

  enqueue(kind: CommandKind, jobId: number | null, arg: Record<string, unknown> = {}): number {
    const row = write(
      this.db,
      () =>
        this.db
          .query('INSERT INTO commands (job_id, kind, arg_json, created_at) VALUES (?, ?, ?, ?) RETURNING id')
          .get(jobId, kind, JSON.stringify(arg), Date.now()) as { id: number },
    );
    return row.id;
  }

  pending(): CommandRow[] {
    return (this.db.query('SELECT * FROM commands WHERE done_at IS NULL ORDER BY id').all() as RawCommand[]).map(
      toCommand,
    );
  }

  get(id: number): CommandRow | null {
    const raw = this.db.query('SELECT * FROM commands WHERE id = ?').get(id) as RawCommand | null;
    return raw ? toCommand(raw) : null;
  }

  markDone(id: number, error: string | null = null): void {
    write(this.db, () =>
      this.db.query('UPDATE commands SET done_at = ?, error = ? WHERE id = ?').run(Date.now(), error, id),
    );
  }

  /** Drops handled commands older than `olderThanMs`. */
  prune(olderThanMs: number): void {
    write(this.db, () =>
      this.db.query('DELETE FROM commands WHERE done_at IS NOT NULL AND done_at < ?').run(Date.now() - olderThanMs),
    );
  }
}

export interface EngineLockRow {
  pid: number;
  hostname: string;
  startedAt: number;
  heartbeatAt: number;
  /** The take-over counter value this holder got; only the holder with this epoch may write. */
  epoch: number;
}

/** The outcome of {@link EngineLockRepo.tryAcquire}: the new epoch, or the live holder. */
export type LockAcquisition = { epoch: number; holder: null } | { epoch: null; holder: EngineLockRow };

/**
 * The `engine_lock` table: at most one engine runs jobs on a DB, and it is fenced.
 *
 * Every acquisition increments `lock_epoch` (a counter that never goes down) and stamps the new
 * value into the lock row. A holder that was frozen past the staleness window may have been
 * taken over meanwhile; it proves it still holds the lock by finding its own pid and epoch in
 * the row, inside the same IMMEDIATE transaction as the write it is about to make
 * ({@link EngineLockRepo.fenced}), so no write of a stale holder can ever commit.
 */
export class EngineLockRepo {
  constructor(private readonly db: Database) {}

  get(): EngineLockRow | null {
    const r = this.db.query('SELECT * FROM engine_lock WHERE id = 1').get() as {
      pid: number;
      hostname: string;
      started_at: number;
      heartbeat_at: number;
      epoch: number;
    } | null;
    return r
      ? { pid: r.pid, hostname: r.hostname, startedAt: r.started_at, heartbeatAt: r.heartbeat_at, epoch: r.epoch }
      : null;
  }

  /**
   * Takes the lock unless `isHolderAlive` says the current holder still runs, with a new epoch.
   * Atomic: done in one IMMEDIATE transaction so two engines starting together cannot both win.
   */
  tryAcquire(pid: number, hostname: string, isHolderAlive: (lock: EngineLockRow) => boolean): LockAcquisition {
    return this.db
      .transaction((): LockAcquisition => {
        const holder = this.get();
        if (holder && holder.pid !== pid && isHolderAlive(holder)) return { epoch: null, holder };
        const { epoch } = this.db
          .query('UPDATE lock_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch')
          .get() as { epoch: number };
        const now = Date.now();
        this.db
          .query(
            `INSERT INTO engine_lock (id, pid, hostname, started_at, heartbeat_at, epoch) VALUES (1, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname,
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, epoch = excluded.epoch`,
          )
          .run(pid, hostname, now, now, epoch);
        return { epoch, holder: null };
      })
      .immediate();
  }

  /**
   * Records that the holder `(pid, epoch)` is alive at `atMs` (wall clock, what other engines
   * compare against their staleness window). Returns false when the lock is no longer its own.
   */
  heartbeat(pid: number, epoch: number, atMs = Date.now()): boolean {
    const result = this.db
      .query('UPDATE engine_lock SET heartbeat_at = ? WHERE id = 1 AND pid = ? AND epoch = ?')
      .run(atMs, pid, epoch);
    return result.changes === 1;
  }

  /** True when `(pid, epoch)` holds the lock now (one primary-key read). */
  isHeld(pid: number, epoch: number): boolean {
    return this.db.query('SELECT 1 FROM engine_lock WHERE id = 1 AND pid = ? AND epoch = ?').get(pid, epoch) !== null;
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction after checking, inside it, that `(pid, epoch)` still
   * holds the lock: the check and the writes commit together or not at all. Nested calls run in
   * a savepoint of the outer transaction.
   * @throws DbError ERR_LOCK_LOST (nothing of `fn` ran) when another engine took the lock over.
   */
  fenced<T>(pid: number, epoch: number, fn: () => T): T {
    return this.db
      .transaction((): T => {
        if (!this.isHeld(pid, epoch)) {
          throw new DbError(
            `The engine lock (pid ${pid}, epoch ${epoch}) was taken over by another engine`,
            'ERR_LOCK_LOST',
          );
        }
        return fn();
      })
      .immediate();
  }

  /** Releases the lock if `(pid, epoch)` still holds it; a stale holder never removes a newer one. */
  release(pid: number, epoch: number): void {
    this.db.query('DELETE FROM engine_lock WHERE id = 1 AND pid = ? AND epoch = ?').run(pid, epoch);
  }
}

export interface EventRow {
  id: number;
  jobId: number | null;
  at: number;
  type: string;
  data: Record<string, unknown>;
}

/** The `events` table: the engine's facts, for `status` and attached TUIs. */
export class EventsRepo {
  constructor(private readonly db: Database) {}

  append(jobId: number | null, type: string, data: Record<string, unknown>, at = Date.now()): number {
    const row = write(
      this.db,
      () =>
        this.db
          .query('INSERT INTO events (job_id, at, type, data_json) VALUES (?, ?, ?, ?) RETURNING id')
          .get(jobId, at, type, JSON.stringify(data)) as { id: number },
    );
    return row.id;
  }

  since(afterId: number, limit = 500): EventRow[] {
    return (
      this.db.query('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as {
        id: number;
        job_id: number | null;
        at: number;
        type: string;
        data_json: string;
      }[]
    ).map((r) => ({ id: r.id, jobId: r.job_id, at: r.at, type: r.type, data: JSON.parse(r.data_json) }));
  }

  lastId(): number {
    return (this.db.query('SELECT COALESCE(MAX(id), 0) AS id FROM events').get() as { id: number }).id;
  }

  forJob(jobId: number, limit = 20): EventRow[] {
    return (
      this.db.query('SELECT * FROM events WHERE job_id = ? ORDER BY id DESC LIMIT ?').all(jobId, limit) as {
        id: number;
        job_id: number | null;
        at: number;
        type: string;
        data_json: string;
      }[]
    )
      .map((r) => ({ id: r.id, jobId: r.job_id, at: r.at, type: r.type, data: JSON.parse(r.data_json) }))
      .reverse();
  }

  /** Keeps the newest `keep` events. */
  trim(keep = 5000): void {
    write(this.db, () => this.db.query('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?').run(keep));
  }
}

export interface LiveRow {
  jobId: number;
  rateBytesPerSec: number;
  connections: number;
  segments: unknown[];
  /** Per-mirror state of a job with several URLs; empty otherwise. */
  mirrors?: unknown[];
  updatedAt: number;
}

/** The `live` table: per-job rate and segment status written by the running engine. */
export class LiveRepo {
  constructor(private readonly db: Database) {}

  put(row: LiveRow): void {
    write(this.db, () =>
      this.db
        .query(
          `INSERT INTO live (job_id, rate_bytes_per_sec, connections, segments_json, mirrors_json, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET rate_bytes_per_sec = excluded.rate_bytes_per_sec,
           connections = excluded.connections, segments_json = excluded.segments_json,
           mirrors_json = excluded.mirrors_json, updated_at = excluded.updated_at`,
        )
        .run(
          row.jobId,
          row.rateBytesPerSec,
          row.connections,
          JSON.stringify(row.segments),
          JSON.stringify(row.mirrors ?? []),
          row.updatedAt,
        ),
    );
  }

  all(): LiveRow[] {
    return (
      this.db.query('SELECT * FROM live').all() as {
        job_id: number;
        rate_bytes_per_sec: number;
        connections: number;
        segments_json: string;
        mirrors_json: string;
        updated_at: number;
      }[]
    ).map((r) => ({
      jobId: r.job_id,
      rateBytesPerSec: r.rate_bytes_per_sec,
      connections: r.connections,
      segments: JSON.parse(r.segments_json) as unknown[],
      mirrors: JSON.parse(r.mirrors_json) as unknown[],
      updatedAt: r.updated_at,
    }));
  }

  delete(jobId: number): void {
    write(this.db, () => this.db.query('DELETE FROM live WHERE job_id = ?').run(jobId));
  }

  clear(): void {
    write(this.db, () => this.db.run('DELETE FROM live'));
  }
}

export interface HostRow {
  host: string;
  bestConnections: number;
  results: { connections: number; bytesPerSec: number }[];
  measuredAt: number;
}

/** The `hosts` table: measured best connection counts (`ddm bench`). */
export class HostsRepo {
  constructor(private readonly db: Database) {}

  get(host: string): HostRow | null {
    const r = this.db.query('SELECT * FROM hosts WHERE host = ?').get(host) as {
      host: string;
      best_connections: number;
      results_json: string;
      measured_at: number;
    } | null;
    return r
      ? {
          host: r.host,
          bestConnections: r.best_connections,
          results: JSON.parse(r.results_json),
          measuredAt: r.measured_at,
        }
      : null;
  }

  put(row: HostRow): void {
    write(this.db, () =>
      this.db
        .query(
          `INSERT INTO hosts (host, best_connections, results_json, measured_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (host) DO UPDATE SET best_connections = excluded.best_connections,
           results_json = excluded.results_json, measured_at = excluded.measured_at`,
        )
        .run(row.host, row.bestConnections, JSON.stringify(row.results), row.measuredAt),
    );
  }
}
