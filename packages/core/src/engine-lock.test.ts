/**
 * The fenced engine lock, in process: an engine whose lock another engine took over (here by
 * force, through a second connection) cannot checkpoint, transition or complete its jobs any
 * more; it stops every run at once and `run()` ends with ERR_LOCK_LOST naming the new holder.
 * The CLI test (apps/cli/test/engine-fencing.test.ts) freezes a real process with SIGSTOP.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { hostname } from 'node:os';
import { openDb, reposFor } from '@ddm/db';
import { Engine } from './engine.ts';
import { DdmError } from './errors.ts';
import { FAST_SETTINGS, harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, waitFor } from './testing/index.ts';

setDefaultTimeout(30_000);

const MiB = 1024 * 1024;

describe('fenced engine lock', () => {
  test('a taken-over engine stops all its runs without writing their rows, and run() ends with ERR_LOCK_LOST', async () => {
    const specs = [1, 2].map((n) => ({
      path: `/f${n}.bin`,
      body: generatedBody(8 * MiB, 40 + n),
      knobs: { throttleBytesPerSec: 1 * MiB },
    }));
    await using server = await startTestServer({ files: specs });
    await using h = harness({ isFileDb: true });
    const engine = new Engine({ repos: h.repos, settings: FAST_SETTINGS, env: {}, pollIntervalMs: 20, pid: 1001 });
    const ids = specs.map((s) => engine.addJob(server.url(s.path), { dir: h.dir, connections: 2 }));
    const running = engine.run().then(
      () => null,
      (error: unknown) => error,
    );
    await waitFor(() => ids.every((id) => h.repos.segments.list(id).some((s) => s.writtenBytes > 0)), {
      timeoutMs: 15_000,
      what: 'both jobs to checkpoint progress',
    });

    // Another engine (another connection, as another process would have) takes the lock over.
    const other = reposFor(openDb(h.dbPath));
    const taken = other.lock.tryAcquire(2002, hostname(), () => false);
    expect(taken.holder).toBeNull();
    const rowsAtTakeOver = ids.map((id) => ({ job: other.jobs.get(id), segments: other.segments.list(id) }));

    const error = await running;
    expect(error).toBeInstanceOf(DdmError);
    expect((error as DdmError).code).toBe('ERR_LOCK_LOST');
    expect((error as DdmError).message).toContain('lost its lock on the job database to pid 2002');
    expect((error as DdmError).message).toContain('that engine continues the jobs');
    // Not one fenced write after the take-over: rows and checkpoints are as the new holder found them.
    expect(ids.map((id) => ({ job: other.jobs.get(id), segments: other.segments.list(id) }))).toEqual(rowsAtTakeOver);
    expect(rowsAtTakeOver.map((r) => r.job?.state)).toEqual(['downloading', 'downloading']);
    // The old engine did not release (or overwrite) the new holder's lock.
    expect(other.lock.get()).toMatchObject({ pid: 2002, epoch: taken.epoch as number });
    await waitFor(() => server.openConnections === 0, {
      timeoutMs: 5000,
      what: 'the old engine to close its connections',
    });
    other.db.close();
  });

  test('a stale engine cannot move a job: a pause fails the fence instead of writing `paused`', async () => {
    await using server = await startTestServer({
      files: [{ path: '/p.bin', body: generatedBody(4 * MiB, 50), knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    await using h = harness({ isFileDb: true });
    const engine = new Engine({ repos: h.repos, settings: FAST_SETTINGS, env: {}, pollIntervalMs: 20, pid: 1001 });
    const id = engine.addJob(server.url('/p.bin'), { dir: h.dir });
    const running = engine.run({ isWatching: true }).catch((error: unknown) => error);
    await waitFor(() => h.job(id).state === 'downloading', { timeoutMs: 10_000, what: 'the job to start' });
    const other = reposFor(openDb(h.dbPath));
    other.lock.tryAcquire(2002, hostname(), () => false);
    // The pause ends in a transition: it must fail the fence, not write `paused`.
    await expect(engine.pause(id)).rejects.toMatchObject({ code: 'ERR_LOCK_LOST' });
    expect(((await running) as DdmError).code).toBe('ERR_LOCK_LOST');
    expect(other.jobs.get(id)?.state).toBe('downloading');
    other.db.close();
  });

  test('a short lease keeps renewing under normal operation: the download completes', async () => {
    const body = generatedBody(4 * MiB, 60);
    await using server = await startTestServer({
      files: [{ path: '/l.bin', body, knobs: { throttleBytesPerSec: 4 * MiB } }],
    });
    await using h = harness({ isFileDb: true });
    // A 300 ms window: a 100 ms lease, a 50 ms heartbeat; writes past the lease confirm from the DB.
    const engine = new Engine({
      repos: h.repos,
      settings: FAST_SETTINGS,
      env: {},
      pollIntervalMs: 20,
      pid: 1001,
      lockStaleMs: 300,
    });
    const id = engine.addJob(server.url('/l.bin'), { dir: h.dir });
    const summary = await engine.run();
    expect(summary.completed).toEqual([id]);
    expect(await h.sha256('l.bin')).toBe(body.sha256Hex());
    expect(h.repos.lock.get()).toBeNull();
  });
});
