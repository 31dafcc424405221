/**
 * The fenced engine lock: every take-over gets a new epoch, and a holder whose epoch is stale can
 * neither heartbeat, nor write through `fenced`, nor release the new holder's lock.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbError } from './errors.ts';
import { openDb, reposFor } from './index.ts';

const alive = () => true;
const dead = () => false;

function lockLost(fn: () => unknown): DbError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DbError) return error;
    throw error;
  }
  throw new Error('expected ERR_LOCK_LOST');
}

describe('engine lock fencing', () => {
  test('each acquisition takes a new, larger epoch, also after a release', () => {
    const repos = reposFor(openDb(':memory:'));
    const a = repos.lock.tryAcquire(100, 'h', alive);
    const b = repos.lock.tryAcquire(200, 'h', dead);
    repos.lock.release(200, b.epoch as number);
    const c = repos.lock.tryAcquire(300, 'h', dead);
    expect(a.epoch).toBe(1);
    expect(b.epoch).toBe(2);
    expect(c.epoch).toBe(3);
    expect(repos.lock.get()?.epoch).toBe(3);
  });

  test('a stale epoch cannot heartbeat, checkpoint, transition or release', () => {
    const repos = reposFor(openDb(':memory:'));
    const job = repos.jobs.insert({ url: 'http://h/a', dir: '/d', fileName: 'a', connections: 1 });
    repos.segments.replace(job.id, [{ index: 0, start: 0, end: 100, writtenBytes: 0, splitFrom: null }]);
    const old = repos.lock.tryAcquire(100, 'h', alive).epoch as number;
    // The old holder writes while it holds the lock.
    repos.lock.fenced(100, old, () => repos.jobs.update(job.id, { state: 'downloading' }));
    expect(repos.lock.heartbeat(100, old)).toBe(true);

    // Frozen past the staleness window: another engine takes over.
    const next = repos.lock.tryAcquire(200, 'h', dead).epoch as number;
    expect(next).toBeGreaterThan(old);
    expect(repos.lock.isHeld(100, old)).toBe(false);
    expect(repos.lock.heartbeat(100, old)).toBe(false);

    let didRun = false;
    const checkpoint = lockLost(() =>
      repos.lock.fenced(100, old, () => {
        didRun = true;
        repos.segments.save(job.id, [{ index: 0, start: 0, end: 100, writtenBytes: 50, splitFrom: null }]);
      }),
    );
    expect(checkpoint.code).toBe('ERR_LOCK_LOST');
    expect(
      lockLost(() => repos.lock.fenced(100, old, () => repos.jobs.update(job.id, { state: 'completed' }))).code,
    ).toBe('ERR_LOCK_LOST');
    expect(didRun).toBe(false);
    expect(repos.jobs.get(job.id)?.state).toBe('downloading');
    expect(repos.segments.list(job.id)[0]?.writtenBytes).toBe(0);

    // The old holder's release leaves the new lock alone; the new holder writes as usual.
    repos.lock.release(100, old);
    expect(repos.lock.get()?.pid).toBe(200);
    repos.lock.fenced(200, next, () => repos.jobs.update(job.id, { state: 'queued' }));
    expect(repos.jobs.get(job.id)?.state).toBe('queued');
  });

  test('a write that fails inside fenced commits nothing, and the same pid with an old epoch is stale too', () => {
    const root = mkdtempSync(join(tmpdir(), 'ddm-lock-'));
    try {
      const path = join(root, 'ddm.db');
      const a = reposFor(openDb(path));
      const b = reposFor(openDb(path));
      const job = a.jobs.insert({ url: 'http://h/a', dir: '/d', fileName: 'a', connections: 1 });
      const first = a.lock.tryAcquire(100, 'h', alive).epoch as number;
      expect(() =>
        a.lock.fenced(100, first, () => {
          a.jobs.update(job.id, { state: 'probing' });
          throw new Error('disk said no');
        }),
      ).toThrow('disk said no');
      expect(b.jobs.get(job.id)?.state).toBe('queued');
      // Another connection (another process) re-takes the lock with the same pid: a new epoch.
      const second = b.lock.tryAcquire(100, 'h', alive).epoch as number;
      expect(lockLost(() => a.lock.fenced(100, first, () => a.jobs.update(job.id, { state: 'probing' }))).code).toBe(
        'ERR_LOCK_LOST',
      );
      expect(a.lock.fenced(100, second, () => 'ok')).toBe('ok');
      a.db.close();
      b.db.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
