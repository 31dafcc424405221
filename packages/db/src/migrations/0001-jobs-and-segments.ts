import type { Migration } from '../migrate.ts';

/** Jobs and their byte ranges: everything a resume needs. */
export const migration0001: Migration = {
  version: 1,
  name: 'jobs-and-segments',
  sql: `
    CREATE TABLE jobs (
      id               INTEGER PRIMARY KEY AUTOINCREMENT,
      url              TEXT    NOT NULL,
      final_url        TEXT,
      dir              TEXT    NOT NULL,
      file_name        TEXT    NOT NULL,
      size_bytes       INTEGER,
      etag             TEXT,
      last_modified    TEXT,
      accepts_ranges   INTEGER,
      state            TEXT    NOT NULL CHECK (state IN ('queued','probing','downloading','paused','verifying','completed','failed','canceled')),
      error_code       TEXT,
      error_message    TEXT,
      connections      INTEGER NOT NULL,
      settings_json    TEXT    NOT NULL DEFAULT '{}',
      checksum         TEXT,
      created_at       INTEGER NOT NULL,
      updated_at       INTEGER NOT NULL,
      completed_at     INTEGER
    );
    CREATE INDEX jobs_state ON jobs(state);

    -- "end" is exclusive; NULL while the size is unknown (a chunked body).
    CREATE TABLE segments (
      job_id         INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      idx            INTEGER NOT NULL,
      start          INTEGER NOT NULL,
      "end"          INTEGER,
      written_bytes  INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (job_id, idx)
    ) WITHOUT ROWID;
  `,
};
