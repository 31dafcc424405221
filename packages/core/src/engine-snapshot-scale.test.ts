/**
 * The engine's snapshot costs work for active and changed jobs only: idle jobs stored in the DB
 * are read once, not once per snapshot (10,000 paused jobs cost seconds of CPU per download).
 */
import { describe, expect, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';

describe('Engine.snapshot with many stored jobs', () => {
  test('reads idle jobs and their segments once; later snapshots re-read only changed rows', async () => {
    await using h = harness();
    const { repos, engine } = h;
    const ids: number[] = [];
    repos.db.transaction(() => {
      for (let i = 0; i < 200; i++) {
        const job = repos.jobs.insert({
          url: `http://127.0.0.1:9/f${i}`,
          dir: h.dir,
          fileName: `f${i}`,
          connections: 2,
          state: 'paused',
        });
        repos.segments.replace(job.id, [{ index: 0, start: 0, end: 100, writtenBytes: i % 100, splitFrom: null }]);
        ids.push(job.id);
      }
    })();
    const calls = { list: 0, listAll: 0, jobsGet: 0 };
    const segments = repos.segments;
    const { list, listAll } = segments;
    segments.list = (id) => {
      calls.list++;
      return list.call(segments, id);
    };
    segments.listAll = () => {
      calls.listAll++;
      return listAll.call(segments);
    };
    const jobsGet = repos.jobs.get;
    repos.jobs.get = (id) => {
      calls.jobsGet++;
      return jobsGet.call(repos.jobs, id);
    };

    const first = engine.snapshot();
    expect(first.jobs).toHaveLength(200);
    expect(first.jobs.find((j) => j.id === ids[7])?.doneBytes).toBe(7);
    expect(calls).toEqual({ list: 0, listAll: 1, jobsGet: 0 });

    // A later snapshot (the 100 ms cache expired) touches no idle job.
    await Bun.sleep(120);
    const second = engine.snapshot();
    expect(second).not.toBe(first);
    expect(second.jobs).toHaveLength(200);
    expect(calls).toEqual({ list: 0, listAll: 1, jobsGet: 0 });

    // One changed job is read again, alone, with its new segments.
    const changed = ids[3] as number;
    repos.segments.save(changed, [{ index: 0, start: 0, end: 100, writtenBytes: 50, splitFrom: null }]);
    repos.jobs.update(changed, { why: 'touched' }, Date.now() + 1);
    await Bun.sleep(120);
    const third = engine.snapshot();
    expect(third.jobs.find((j) => j.id === changed)).toMatchObject({ doneBytes: 50, why: 'touched' });
    expect(calls).toEqual({ list: 1, listAll: 1, jobsGet: 1 });
  });
});
