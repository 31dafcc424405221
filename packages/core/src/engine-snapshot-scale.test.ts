/**
 * The engine's snapshot costs work for active and changed jobs only: idle jobs stored in the DB
 * are read once, not once per snapshot (10,000 paused jobs cost seconds of CPU per download).
 */
import { describe, expect, test } from 'bun:test';
import { openDb, reposFor } from '@ddm/db';
import { type Harness, harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, waitFor } from './testing/index.ts';

const MiB = 1024 * 1024;

/** `count` paused jobs, each with one segment of 100 bytes of which `i % 100` are written. */
function addPausedJobs(repos: Harness['repos'], dir: string, count: number, prefix: string): number[] {
  const ids: number[] = [];
  repos.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const job = repos.jobs.insert({
        url: `http://127.0.0.1:9/${prefix}${i}`,
        dir,
        fileName: `${prefix}${i}`,
        connections: 2,
        state: 'paused',
      });
      repos.segments.replace(job.id, [{ index: 0, start: 0, end: 100, writtenBytes: i % 100, splitFrom: null }]);
      ids.push(job.id);
    }
  })();
  return ids;
}

describe('Engine.snapshot with many stored jobs', () => {
  test('reads idle jobs and their segments once; later snapshots re-read only changed rows', async () => {
    await using h = harness();
    const { repos, engine } = h;
    const ids = addPausedJobs(repos, h.dir, 200, 'f');
    const calls = { list: 0, listAll: 0, jobsGet: 0, summaries: 0, versions: 0 };
    const count = <T extends object, K extends keyof T & keyof typeof calls>(target: T, name: K) => {
      const original = target[name] as (...args: unknown[]) => unknown;
      (target as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[name]++;
        return original.apply(target, args);
      };
    };
    count(repos.segments, 'list');
    count(repos.segments, 'listAll');
    count(repos.jobs, 'summaries');
    count(repos.jobs, 'versions');
    const jobsGet = repos.jobs.get;
    repos.jobs.get = (id) => {
      calls.jobsGet++;
      return jobsGet.call(repos.jobs, id);
    };

    // The first snapshot: one summary query for all, no segment row, no settings.
    const first = engine.snapshot();
    expect(first.jobs).toHaveLength(200);
    const seventh = first.jobs.find((j) => j.id === ids[7]);
    expect(seventh).toMatchObject({ doneBytes: 7, segmentCount: 1 });
    expect(calls).toEqual({ list: 0, listAll: 0, jobsGet: 0, summaries: 1, versions: 1 });

    // A stored job's segments are read when looked at (the TUI's selected job), once.
    expect(seventh?.segments).toEqual([
      {
        index: 0,
        start: 0,
        end: 100,
        writtenBytes: 7,
        status: 'pending',
        rateBytesPerSec: 0,
        retries: 0,
        splitFrom: null,
      },
    ]);
    expect(seventh?.segments).toHaveLength(1);
    expect(calls).toEqual({ list: 1, listAll: 0, jobsGet: 0, summaries: 1, versions: 1 });

    // A later snapshot (the 100 ms cache expired) with nothing committed since reads nothing.
    await Bun.sleep(120);
    const second = engine.snapshot();
    expect(second).not.toBe(first);
    expect(second.jobs).toHaveLength(200);
    expect(calls).toEqual({ list: 1, listAll: 0, jobsGet: 0, summaries: 1, versions: 1 });

    // One changed job is read again, alone, with its new segments.
    const changed = ids[3] as number;
    repos.segments.save(changed, [{ index: 0, start: 0, end: 100, writtenBytes: 50, splitFrom: null }]);
    repos.jobs.update(changed, { why: 'touched' }, Date.now() + 1);
    await Bun.sleep(120);
    const third = engine.snapshot();
    expect(third.jobs.find((j) => j.id === changed)).toMatchObject({ doneBytes: 50, why: 'touched' });
    expect(calls).toEqual({ list: 2, listAll: 0, jobsGet: 1, summaries: 1, versions: 2 });
  });

  test("a bulk read keeps stored jobs' mirrors (the RPC server lists a job's URIs from them)", async () => {
    await using h = harness();
    const { repos, engine } = h;
    const ids: number[] = [];
    repos.db.transaction(() => {
      for (let i = 0; i < 40; i++) {
        const mirrors = i % 2 === 0 ? [`http://127.0.0.1:9/m${i}`] : undefined;
        ids.push(
          repos.jobs.insert({
            url: `http://127.0.0.1:9/f${i}`,
            dir: h.dir,
            fileName: `f${i}`,
            connections: 2,
            state: 'paused',
            settings: mirrors ? { mirrors } : {},
          }).id,
        );
      }
    })();
    const jobs = engine.snapshot().jobs;
    expect(jobs).toHaveLength(40);
    expect(jobs.find((j) => j.id === ids[4])?.mirrors.map((m) => m.url)).toEqual([
      'http://127.0.0.1:9/f4',
      'http://127.0.0.1:9/m4',
    ]);
    expect(jobs.find((j) => j.id === ids[5])?.mirrors).toEqual([]);
  });

  test('a commit by another process is seen by the next snapshot', async () => {
    await using h = harness({ isFileDb: true });
    const { repos, engine } = h;
    const job = repos.jobs.insert({ url: 'http://127.0.0.1:9/a', dir: h.dir, fileName: 'a', connections: 1 });
    expect(engine.snapshot().jobs.map((j) => j.id)).toEqual([job.id]);
    const other = reposFor(openDb(h.dbPath));
    try {
      const added = other.jobs.insert({ url: 'http://127.0.0.1:9/b', dir: h.dir, fileName: 'b', connections: 1 });
      other.jobs.update(job.id, { why: 'from elsewhere' });
      await Bun.sleep(120);
      const next = engine.snapshot();
      expect(next.jobs.map((j) => j.id)).toEqual([job.id, added.id]);
      expect(next.jobs[0]?.why).toBe('from elsewhere');
    } finally {
      other.db.close();
    }
  });

  test('while a job downloads, its checkpoints do not make snapshots re-list the stored jobs', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body: generatedBody(3 * MiB, 5), knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    await using h = harness();
    const { repos } = h;
    repos.db.transaction(() => {
      for (let i = 0; i < 100; i++) {
        repos.jobs.insert({
          url: `http://127.0.0.1:9/f${i}`,
          dir: h.dir,
          fileName: `f${i}`,
          connections: 2,
          state: 'paused',
        });
      }
    })();
    const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir, connections: 1 });
    let versions = 0;
    const original = repos.jobs.versions;
    repos.jobs.versions = () => {
      versions++;
      return original.call(repos.jobs);
    };
    const ran = h.engine.run();
    await waitFor(() => h.engine.snapshot().jobs.find((j) => j.id === id && j.state === 'downloading'), {
      what: 'the download',
    });
    const before = versions;
    let snapshots = 0;
    let checkpointsSeen = 0;
    let lastDone = -1;
    while (h.engine.snapshot().jobs.find((j) => j.id === id)?.state === 'downloading') {
      const done = repos.segments.list(id).reduce((sum, s) => sum + s.writtenBytes, 0);
      if (done !== lastDone) checkpointsSeen++;
      lastDone = done;
      snapshots++;
      await Bun.sleep(110);
    }
    await ran;
    expect(h.job(id).state).toBe('completed');
    expect(checkpointsSeen).toBeGreaterThanOrEqual(5);
    expect(snapshots).toBeGreaterThanOrEqual(5);
    // Only the job's own state changes (downloading -> verifying -> completed) re-list.
    expect(versions - before).toBeLessThanOrEqual(3);
  }, 30_000);
});

describe('Engine.jobSnapshots: a command that runs one job reads that job only', () => {
  test('with 2,000 stored jobs, the snapshot of one reads one row and its segments, nothing of the rest', async () => {
    await using h = harness();
    const { repos, engine } = h;
    const ids = addPausedJobs(repos, h.dir, 2000, 'g');
    const calls = { summaries: 0, versions: 0, list: 0 };
    for (const [target, name] of [
      [repos.jobs, 'summaries'],
      [repos.jobs, 'versions'],
      [repos.jobs, 'list'],
    ] as const) {
      const original = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[name] as (
        ...args: unknown[]
      ) => unknown;
      (target as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[name]++;
        return original.apply(target, args);
      };
    }
    const [one] = engine.jobSnapshots([ids[42] as number]);
    expect(one).toMatchObject({ id: ids[42], doneBytes: 42, segmentCount: 1, state: 'paused' });
    // Two jobs come back in queue order, and an unknown id is left out.
    const two = engine.jobSnapshots([ids[9] as number, 999_999, ids[3] as number]);
    expect(two.map((j) => j.id)).toEqual([ids[3] as number, ids[9] as number]);
    expect(calls).toEqual({ summaries: 0, versions: 0, list: 0 });
  });
});
