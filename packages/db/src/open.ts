import { constants, type Database } from 'bun:sqlite';
import { accessSync, chmodSync, closeSync, existsSync, constants as fsConstants, openSync, statSync } from 'node:fs';
import { DbError, sqliteCodeOf, toDbError } from './errors.ts';
import { LATEST_VERSION, migrate, readSchemaVersion } from './migrate.ts';
import { DdmDatabase } from './write.ts';

export interface OpenDbOptions {
  /** Apply migrations (default true). Tests pass false to migrate step by step. */
  shouldMigrate?: boolean;
  /** How long one statement waits for another connection's lock. @default 5000 */
  busyTimeoutMs?: number;
  /**
   * Open read-only: never creates the file, never migrates, and every write fails with
   * ERR_DB_READONLY. For a DB whose file or folder this process cannot write.
   * @default false
   */
  isReadOnly?: boolean;
  /** `PRAGMA max_page_count`: caps the DB's size (tests use it to fill the DB). */
  maxPageCount?: number;
}

/**
 * Opens (creating when missing, mode 0600) the job DB: WAL, synchronous=NORMAL, foreign keys,
 * busy timeout, migrated to the latest schema. Its `transaction()` takes the write lock up
 * front and retries while busy (see write.ts).
 * @throws DbError ERR_DB_OPEN when the file cannot be opened; ERR_DB_CORRUPT when it is damaged
 *   or not a database; ERR_DB_READONLY (a read-only DB that needs a migration); ERR_DB_BUSY;
 *   ERR_DISK_FULL; ERR_DB_TOO_NEW (see migrate).
 */
export function openDb(path: string, options: OpenDbOptions = {}): Database {
  const isReadOnly = options.isReadOnly === true && path !== ':memory:';
  // Opening races other processes that open, create or migrate the same DB: switching to WAL and
  // reading a DB under recovery answer SQLITE_BUSY at once, without the busy handler. Such an
  // open is tried again (short randomised pauses) until the busy timeout is spent.
  const deadline = Date.now() + (options.busyTimeoutMs ?? 5000);
  for (;;) {
    try {
      return isReadOnly ? openReadOnly(path, options) : openWritable(path, options);
    } catch (error) {
      if (!(error instanceof DbError && error.code === 'ERR_DB_BUSY') || Date.now() >= deadline) throw error;
      Bun.sleepSync(10 + Math.random() * 40);
    }
  }
}

function openWritable(path: string, options: OpenDbOptions): Database {
  let db: Database;
  try {
    if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    db = new DdmDatabase(path, { create: true, strict: true });
  } catch (error) {
    const mapped = toDbError(error, path);
    if (mapped instanceof DbError) throw mapped;
    throw new DbError(`Cannot open the job DB: ${path}`, 'ERR_DB_OPEN', error);
  }
  try {
    db.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (options.maxPageCount !== undefined) db.run(`PRAGMA max_page_count = ${options.maxPageCount}`);
    db.run('PRAGMA journal_mode = WAL');
    db.run('PRAGMA synchronous = NORMAL');
    db.run('PRAGMA foreign_keys = ON');
    // Freed bytes (a wiped credential, a removed job) are zeroed, not left in free space.
    db.run('PRAGMA secure_delete = ON');
    if (options.shouldMigrate ?? true) migrate(db, undefined, path);
    if (path !== ':memory:') {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        if (existsSync(file)) chmodSync(file, 0o600);
      }
    }
  } catch (error) {
    db.close();
    if (error instanceof DbError) throw error;
    const mapped = toDbError(error, path);
    if (mapped instanceof DbError) throw mapped;
    throw new DbError(`Cannot use the job DB: ${path}`, 'ERR_DB_OPEN', error);
  }
  return db;
}

/**
 * Opens an existing DB read-only. A WAL database needs its `-shm` file, which SQLite cannot
 * create in a folder it cannot write (a read-only mount): SQLITE_CANTOPEN. When no `-wal` file
 * holds commits (the last writer closed cleanly, and nobody can write here to start one), the
 * main file is the whole DB and is opened `immutable` (no locks, no `-shm`); a `-wal` with
 * commits that cannot be read this way is an error rather than a stale view.
 */
function openReadOnly(path: string, options: OpenDbOptions): Database {
  const attempt = (open: () => Database): Database => {
    const db = open();
    try {
      db.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      checkReadOnlySchema(db, path);
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  };
  try {
    try {
      return attempt(() => new DdmDatabase(path, { readonly: true, strict: true }));
    } catch (error) {
      if (sqliteCodeOf(error) !== SQLITE_CANTOPEN || !existsSync(path) || hasWalCommits(path)) throw error;
      const uri = `file:${path.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}?immutable=1`;
      return attempt(() => new DdmDatabase(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI));
    }
  } catch (error) {
    // A DB we could write whose `-shm` is not there yet: a writer is creating it right now.
    const code = sqliteCodeOf(error instanceof DbError ? error.cause : error);
    if (code === SQLITE_CANTOPEN && existsSync(path) && isWritable(path)) {
      throw new DbError(`The job DB is being created: ${path}`, 'ERR_DB_BUSY', error);
    }
    if (error instanceof DbError) throw error;
    const mapped = toDbError(error, path);
    if (mapped instanceof DbError) throw mapped;
    throw new DbError(`Cannot open the job DB read-only: ${path}`, 'ERR_DB_OPEN', error);
  }
}

const SQLITE_CANTOPEN = 14;

function isWritable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function hasWalCommits(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** A read-only DB can be read only when it already has this ddm's schema (it cannot migrate). */
function checkReadOnlySchema(db: Database, path: string): void {
  const version = readSchemaVersion(db) ?? 0;
  if (version > LATEST_VERSION) {
    throw new DbError(
      `Database schema version ${version} is newer than this ddm supports (${LATEST_VERSION}); upgrade ddm: ${path}`,
      'ERR_DB_TOO_NEW',
    );
  }
  if (version < LATEST_VERSION) {
    // A DB we could write is being created or upgraded by another ddm right now: wait for it.
    if (isWritable(path)) throw new DbError(`The job DB is being created or upgraded: ${path}`, 'ERR_DB_BUSY');
    throw new DbError(`The job DB is read-only and needs an upgrade this ddm cannot write: ${path}`, 'ERR_DB_READONLY');
  }
}

/** `PRAGMA data_version`: changes when another connection commits. Cheap to poll. */
export function dataVersion(db: Database): number {
  const row = db.query('PRAGMA data_version').get() as { data_version: number };
  return row.data_version;
}
