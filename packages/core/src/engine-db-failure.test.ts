/**
 * A job DB that fails while jobs run (full, read-only): no error escapes as an unhandled
 * rejection or an uncaught timer error; run() ends with the mapped DbError, and the job stays
 * in a state the next run recovers.
 */
import { describe, expect, test } from 'bun:test';
import { DbError } from '@ddm/db';
import { harness } from './testing/engine-test-kit.ts';
import { startTestServer } from './testing/index.ts';

function pageCount(h: { repos: { db: { query: (sql: string) => { get: () => unknown } } } }): number {
  return (h.repos.db.query('PRAGMA page_count').get() as { page_count: number }).page_count;
}

describe('a job DB that fails during a run', () => {
  test('a job whose failure cannot be recorded (DB full) ends run() with ERR_DISK_FULL; the next run recovers it', async () => {
    await using server = await startTestServer({ files: [] });
    await using h = harness({ isFileDb: true });
    // A long URL makes the 404's error message too long for the pages the DB may still use.
    const url = server.url(`/missing-${'x'.repeat(6_000)}.bin`);
    const id = h.engine.addJob(url, { dir: h.dir });
    h.repos.db.run(`PRAGMA max_page_count = ${pageCount(h)}`);

    const ran = h.engine.run().then(
      () => null,
      (error: unknown) => error,
    );
    const error = await ran;
    expect(error).toBeInstanceOf(DbError);
    expect((error as DbError).code).toBe('ERR_DISK_FULL');
    expect((error as DbError).message).toBe(`The disk holding the job DB is full: ${h.dbPath}`);
    // Not started again and again, nor recorded as failed (it could not be): the row still
    // says queued (its move to probing was refused too), so the next run picks it up.
    expect(['queued', 'probing']).toContain(h.job(id).state);

    h.repos.db.run('PRAGMA max_page_count = 1073741823');
    const engine = h.restartEngine();
    const summary = await engine.run();
    expect(summary.failed).toEqual([id]);
    expect(h.job(id)).toMatchObject({ state: 'failed', errorCode: 'ERR_HTTP_STATUS' });
    expect(h.job(id).errorMessage).toContain('404');
  });
});
