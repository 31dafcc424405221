import type { Migration } from '../migrate.ts';

/**
 * Per-mirror progress of a running job (URL, state, rate, bytes, why) beside its segments, so
 * `ddm status` and an attached TUI show what the engine in another process sees.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'live-mirrors',
  sql: `
    ALTER TABLE live ADD COLUMN mirrors_json TEXT NOT NULL DEFAULT '[]';
  `,
};
