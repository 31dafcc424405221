import type { Migration } from '../migrate.ts';

/**
 * What steering a running engine from another process needs: the engine lock, a command
 * queue, an event log, per-host measurements, queue order, limits, and live progress.
 */
export const migration0002: Migration = {
  version: 2,
  name: 'control-and-queue',
  sql: `
    ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN queue_pos REAL NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN limit_bytes_per_sec INTEGER;
    ALTER TABLE jobs ADD COLUMN why TEXT;
    ALTER TABLE jobs ADD COLUMN is_resumable INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE jobs ADD COLUMN created_file INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET queue_pos = id;

    ALTER TABLE segments ADD COLUMN split_from INTEGER;

    -- One row at most: the engine that runs jobs on this DB.
    CREATE TABLE engine_lock (
      id            INTEGER PRIMARY KEY CHECK (id = 1),
      pid           INTEGER NOT NULL,
      hostname      TEXT    NOT NULL,
      started_at    INTEGER NOT NULL,
      heartbeat_at  INTEGER NOT NULL
    );

    -- Requests from other processes to the running engine; done_at marks them handled.
    CREATE TABLE commands (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id      INTEGER,
      kind        TEXT    NOT NULL,
      arg_json    TEXT    NOT NULL DEFAULT '{}',
      created_at  INTEGER NOT NULL,
      done_at     INTEGER,
      error       TEXT
    );

    CREATE TABLE events (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id     INTEGER,
      at         INTEGER NOT NULL,
      type       TEXT    NOT NULL,
      data_json  TEXT    NOT NULL
    );
    CREATE INDEX events_job ON events(job_id, id);

    -- Written by the running engine about once a second, read by status and attached TUIs.
    CREATE TABLE live (
      job_id              INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
      rate_bytes_per_sec  REAL    NOT NULL,
      connections         INTEGER NOT NULL,
      segments_json       TEXT    NOT NULL,
      updated_at          INTEGER NOT NULL
    );

    CREATE TABLE hosts (
      host              TEXT PRIMARY KEY,
      best_connections  INTEGER NOT NULL,
      results_json      TEXT    NOT NULL,
      measured_at       INTEGER NOT NULL
    );
  `,
};
