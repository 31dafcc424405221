import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbError, LATEST_VERSION, migrate, openDb, reposFor, schemaVersion } from './index.ts';

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ddm-db-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('migrations', () => {
  test('migrate to 1, insert a job, migrate on: the job gains queue defaults', () => {
    const db = new Database(':memory:', { strict: true });
    expect(migrate(db, 1)).toBe(1);
    db.query(
      `INSERT INTO jobs (url, dir, file_name, state, connections, created_at, updated_at)
       VALUES ('http://h/a', '/tmp', 'a', 'queued', 8, 1, 1)`,
    ).run();
    db.query(`INSERT INTO segments (job_id, idx, start, "end", written_bytes) VALUES (1, 0, 0, 100, 40)`).run();
    expect(migrate(db)).toBe(LATEST_VERSION);
    const repos = reposFor(db);
    const job = repos.jobs.get(1);
    expect(job?.priority).toBe(0);
    expect(job?.queuePos).toBe(1);
    expect(job?.isResumable).toBe(true);
    expect(repos.segments.list(1)).toEqual([
      { jobId: 1, index: 0, start: 0, end: 100, writtenBytes: 40, splitFrom: null },
    ]);
  });

  test('is idempotent and records each version once', () => {
    const db = new Database(':memory:', { strict: true });
    migrate(db);
    migrate(db);
    const rows = db.query('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[];
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
  });

  test('refuses a database written by a newer ddm', () => {
    using t = tempDir();
    const path = join(t.dir, 'ddm.db');
    openDb(path).close();
    const raw = new Database(path);
    raw
      .query('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST_VERSION + 1, 'x', 0);
    raw.close();
    expect(() => openDb(path)).toThrow(DbError);
    try {
      openDb(path);
    } catch (error) {
      expect((error as DbError).code).toBe('ERR_DB_TOO_NEW');
      expect((error as DbError).message).toContain(path);
    }
  });

  test('a failing migration leaves the schema as it was', () => {
    const db = new Database(':memory:', { strict: true });
    migrate(db, 1);
    db.run('CREATE TABLE engine_lock (x INTEGER)'); // 0002 will collide with this
    expect(() => migrate(db)).toThrow();
    expect(schemaVersion(db)).toBe(1);
    const cols = db.query('PRAGMA table_info(jobs)').all() as { name: string }[];
    expect(cols.some((c) => c.name === 'priority')).toBe(false);
  });
});

describe('openDb', () => {
  test('creates the file with mode 0600 in WAL mode with foreign keys', () => {
    using t = tempDir();
    const path = join(t.dir, 'ddm.db');
    const db = openDb(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((db.query('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect((db.query('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys).toBe(1);
    db.close();
  });

  test('a file that is not a database gives ERR_DB_CORRUPT naming the path and how to start anew', async () => {
    using t = tempDir();
    const path = join(t.dir, 'junk.db');
    await Bun.write(path, 'this is not sqlite '.repeat(100));
    try {
      openDb(path);
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(DbError);
      expect((error as DbError).code).toBe('ERR_DB_CORRUPT');
      expect((error as DbError).message).toContain(path);
      expect((error as DbError).message).toContain('move it aside');
    }
  });
});

describe('repositories', () => {
  test('jobs are listed by priority then age; move changes the order', () => {
    const repos = reposFor(openDb(':memory:'));
    const a = repos.jobs.insert({ url: 'http://h/a', dir: '/d', fileName: 'a', connections: 4 });
    const b = repos.jobs.insert({ url: 'http://h/b', dir: '/d', fileName: 'b', connections: 4 });
    const c = repos.jobs.insert({ url: 'http://h/c', dir: '/d', fileName: 'c', connections: 4, priority: 5 });
    expect(repos.jobs.list().map((j) => j.id)).toEqual([c.id, a.id, b.id]);
    repos.jobs.move(b.id, 'top');
    expect(repos.jobs.list().map((j) => j.id)).toEqual([c.id, b.id, a.id]);
    repos.jobs.update(a.id, { state: 'paused', acceptsRanges: true, settings: { headers: { 'X-A': '1' } } });
    const got = repos.jobs.get(a.id);
    expect(got?.state).toBe('paused');
    expect(got?.acceptsRanges).toBe(true);
    expect(got?.settings.headers).toEqual({ 'X-A': '1' });
  });

  test('deleting a job deletes its segments', () => {
    const repos = reposFor(openDb(':memory:'));
    const a = repos.jobs.insert({ url: 'http://h/a', dir: '/d', fileName: 'a', connections: 4 });
    repos.segments.replace(a.id, [{ index: 0, start: 0, end: 10, writtenBytes: 0, splitFrom: null }]);
    repos.jobs.delete(a.id);
    expect(repos.segments.list(a.id)).toEqual([]);
  });

  test('the engine lock is taken over only from a dead holder', () => {
    const repos = reposFor(openDb(':memory:'));
    expect(repos.lock.tryAcquire(100, 'h', () => true).holder).toBeNull();
    expect(repos.lock.tryAcquire(200, 'h', () => true).holder?.pid).toBe(100);
    const taken = repos.lock.tryAcquire(200, 'h', () => false);
    expect(taken.holder).toBeNull();
    expect(repos.lock.get()?.pid).toBe(200);
    repos.lock.release(200, taken.epoch as number);
    expect(repos.lock.get()).toBeNull();
  });
});
