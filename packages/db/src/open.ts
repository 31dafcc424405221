import { Database } from 'bun:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DbError } from './errors.ts';
import { migrate } from './migrate.ts';

export interface OpenDbOptions {
  /** Apply migrations (default true). Tests pass false to migrate step by step. */
  shouldMigrate?: boolean;
  busyTimeoutMs?: number;
}

/**
 * Opens (creating when missing, mode 0600) the job DB: WAL, synchronous=NORMAL, foreign keys,
 * busy timeout, migrated to the latest schema.
 * @throws DbError ERR_DB_OPEN when the file cannot be opened; ERR_DB_TOO_NEW (see migrate).
 */
export function openDb(path: string, options: OpenDbOptions = {}): Database {
  let db: Database;
  try {
    if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    db = new Database(path, { create: true, strict: true });
  } catch (error) {
    throw new DbError(`Cannot open the job database: ${path}`, 'ERR_DB_OPEN', error);
  }
  try {
    db.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
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
    throw new DbError(`Cannot use the job database (is it a ddm database?): ${path}`, 'ERR_DB_OPEN', error);
  }
  return db;
}

/** `PRAGMA data_version`: changes when another connection commits. Cheap to poll. */
export function dataVersion(db: Database): number {
  const row = db.query('PRAGMA data_version').get() as { data_version: number };
  return row.data_version;
}
