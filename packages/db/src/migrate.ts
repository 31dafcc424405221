import type { Database } from 'bun:sqlite';
import { DbError } from './errors.ts';
import { migration0001 } from './migrations/0001-jobs-and-segments.ts';
import { migration0002 } from './migrations/0002-control-and-queue.ts';
import { migration0003 } from './migrations/0003-lock-epoch-and-indexes.ts';
import { migration0004 } from './migrations/0004-live-mirrors.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Statically imported so the compiled binary carries them. */
export const migrations: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004];

/** The newest version this ddm knows (the last migration's; versions only grow). */
export const LATEST_VERSION = (migrations[migrations.length - 1] as Migration).version;

/** The recorded version without creating anything; null for a DB without `schema_version`. */
export function readSchemaVersion(db: Database): number | null {
  const hasTable = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!hasTable) return null;
  return (db.query('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
}

/** Version recorded in `schema_version` (creating the table when missing); 0 for an empty DB. */
export function schemaVersion(db: Database): number {
  const version = readSchemaVersion(db);
  if (version !== null) return version;
  db.run(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  return 0;
}

/**
 * Applies the pending migrations up to `target` in one transaction.
 * @throws DbError ERR_DB_TOO_NEW when the DB was written by a newer ddm.
 */
export function migrate(db: Database, target: number = LATEST_VERSION, path = 'database'): number {
  // Up to date (every open but the first): no write lock, so opening never waits for writers.
  const seen = readSchemaVersion(db);
  if (seen !== null && seen === target && seen <= LATEST_VERSION) return seen;
  // Read the version and apply what is pending under one write lock (BEGIN IMMEDIATE): two
  // processes opening a fresh DB at once would otherwise both apply migration 1, and the
  // slower one fail on "table jobs already exists".
  return db
    .transaction(() => {
      const current = schemaVersion(db);
      if (current > LATEST_VERSION) {
        throw new DbError(
          `Database schema version ${current} is newer than this ddm supports (${LATEST_VERSION}); upgrade ddm: ${path}`,
          'ERR_DB_TOO_NEW',
        );
      }
      const pending = migrations.filter((m) => m.version > current && m.version <= target);
      for (const m of pending) {
        db.run(m.sql);
        db.query('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now(),
        );
      }
      return pending.length === 0 ? current : target;
    })
    .immediate();
}
