/**
 * The one rule for writing the job DB under contention (many CLI processes and an engine share
 * it): every write transaction takes the write lock up front with BEGIN IMMEDIATE, waits under
 * `busy_timeout`, and is retried with a bounded backoff while the DB stays busy.
 *
 * Why IMMEDIATE: a deferred transaction starts as a reader; when it then writes and another
 * connection committed since its read began, SQLite returns SQLITE_BUSY at once without calling
 * the busy handler (it cannot wait: its snapshot is stale). That is how `ddm add` failed with
 * "database is locked" while an engine ran. An IMMEDIATE transaction waits for the lock before
 * it reads anything, so the busy handler always applies.
 */
import { Database } from 'bun:sqlite';
import { isBusyError, toDbError } from './errors.ts';

/** Retries of BEGIN IMMEDIATE after the busy timeout ran out, and the backoff between them. */
const MAX_BUSY_RETRIES = 2;
const BASE_BACKOFF_MS = 25;
const MAX_BACKOFF_MS = 400;

function backoffMs(attempt: number): number {
  const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2);
}

/** The pid in `engine_lock`, to name who holds a busy DB; null when unknown. */
function lockHolderPid(db: Database): number | null {
  try {
    const row = db.query('SELECT pid FROM engine_lock WHERE id = 1').get() as { pid: number } | null;
    return row?.pid ?? null;
  } catch {
    return null;
  }
}

function pathOf(db: Database): string {
  return db.filename || ':memory:';
}

type Mode = 'IMMEDIATE' | 'EXCLUSIVE';

/**
 * Runs `fn` in a write transaction (BEGIN IMMEDIATE), retrying the BEGIN while the DB is busy.
 * Inside an open transaction `fn` simply joins it (the outer transaction owns the lock).
 * SQLite failures come out as DbError (ERR_DISK_FULL, ERR_DB_BUSY naming the engine's pid,
 * ERR_DB_READONLY, ERR_DB_CORRUPT, ...); other errors pass through unchanged, after a rollback.
 */
export function write<R>(db: Database, fn: () => R, mode: Mode = 'IMMEDIATE'): R {
  if (db.inTransaction) return fn();
  for (let attempt = 0; ; attempt++) {
    try {
      db.run(`BEGIN ${mode}`);
      break;
    } catch (error) {
      if (!isBusyError(error) || attempt >= MAX_BUSY_RETRIES) throw toDbError(error, pathOf(db), lockHolderPid(db));
      Bun.sleepSync(backoffMs(attempt));
    }
  }
  try {
    const result = fn();
    db.run('COMMIT');
    return result;
  } catch (error) {
    if (db.inTransaction) {
      try {
        db.run('ROLLBACK');
      } catch {
        // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR): the original error matters.
      }
    }
    throw toDbError(error, pathOf(db), isBusyError(error) ? lockHolderPid(db) : null);
  }
}

/** Runs a read, mapping a SQLite failure to a DbError (see `write`). */
export function read<R>(db: Database, fn: () => R): R {
  try {
    return fn();
  } catch (error) {
    throw toDbError(error, pathOf(db), isBusyError(error) ? lockHolderPid(db) : null);
  }
}

/**
 * The Database `openDb` returns: `db.transaction(fn)` (and `.immediate`, `.exclusive`) runs
 * through `write`, so every transaction in ddm, whoever writes it, takes the lock up front and
 * retries while busy. Nested calls keep bun's savepoints. `.deferred` stays available for
 * read-only snapshots.
 */
export class DdmDatabase extends Database {
  // biome-ignore lint/suspicious/noExplicitAny: the signature of bun:sqlite's own transaction().
  override transaction<A extends any[], T>(insideTransaction: (...args: A) => T) {
    const base = super.transaction(insideTransaction);
    const run =
      (mode: Mode) =>
      (...args: A): T =>
        this.inTransaction ? base(...args) : write(this, () => insideTransaction(...args), mode);
    return Object.assign(run('IMMEDIATE'), {
      deferred: base.deferred,
      immediate: run('IMMEDIATE'),
      exclusive: run('EXCLUSIVE'),
    });
  }
}
