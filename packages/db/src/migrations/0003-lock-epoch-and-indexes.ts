import type { Migration } from '../migrate.ts';

/**
 * A fenced engine lock and the indexes the queue and the command channel read by.
 *
 * `lock_epoch` is a counter that only grows: every take-over of the engine lock increments it
 * and stamps the new value into `engine_lock.epoch`. A holder proves it still holds the lock by
 * finding its own epoch there, inside the same transaction as the write it is about to make.
 */
export const migration0003: Migration = {
  version: 3,
  name: 'lock-epoch-and-indexes',
  sql: `
    ALTER TABLE engine_lock ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE lock_epoch (
      id     INTEGER PRIMARY KEY CHECK (id = 1),
      epoch  INTEGER NOT NULL
    );
    INSERT INTO lock_epoch (id, epoch) VALUES (1, 0);

    CREATE INDEX jobs_queue ON jobs(priority DESC, queue_pos ASC);
    CREATE INDEX commands_pending ON commands(done_at, id);
  `,
};
