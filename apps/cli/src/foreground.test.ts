import { describe, expect, test } from 'bun:test';
import type { JobSnapshot } from '@ddm/core';
import { jobSnapshot } from '@ddm/core/testing';
import { pollWait, RunStats } from './foreground.ts';

function job(overrides: Partial<JobSnapshot>): JobSnapshot {
  return jobSnapshot({ url: 'http://127.0.0.1/x', fileName: 'x.bin', ...overrides });
}

describe('pollWait: a just-paused job is never reported as downloading', () => {
  test('the engine pauses the job and exits between two reads: the wait sees paused, not stranded', () => {
    // A get engine that pauses its only job and ends: its state row says paused before the lock goes.
    let state: JobSnapshot['state'] = 'downloading';
    let isEngineUp = true;
    let reads = 0;
    const source = {
      runningEngine: () => {
        // The engine ends right around this look: pause persisted, lock released.
        state = 'paused';
        isEngineUp = false;
        return isEngineUp ? { pid: 1 } : null;
      },
      snapshot: () => {
        reads++;
        return { jobs: [job({ state })] };
      },
    };
    const poll = pollWait(source, [1]);
    expect(reads).toBe(1);
    expect(poll.jobs.map((j) => j.state)).toEqual(['paused']);
    expect(poll).toMatchObject({ isDone: true, isStranded: false });
  });

  test('a job an engine left downloading when it died is stranded, and all final jobs are done', () => {
    const dead = { runningEngine: () => null, snapshot: () => ({ jobs: [job({ state: 'downloading' })] }) };
    expect(pollWait(dead, [1])).toMatchObject({ isDone: false, isStranded: true });
    const done = { runningEngine: () => null, snapshot: () => ({ jobs: [job({ state: 'completed' })] }) };
    expect(pollWait(done, [1])).toMatchObject({ isDone: true, isStranded: false });
    const running = { runningEngine: () => ({ pid: 1 }), snapshot: () => ({ jobs: [job({})] }) };
    expect(pollWait(running, [1])).toMatchObject({ isDone: false, isStranded: false });
  });
});

describe('RunStats', () => {
  test('time from begin to completion, bytes fetched since begin, most connections seen', () => {
    let nowMs = 10_000;
    const stats = new RunStats(nowMs, () => nowMs);
    stats.begin([job({ doneBytes: 400, state: 'queued' })]);
    nowMs += 500;
    stats.observe([job({ doneBytes: 600, connections: 3 })]);
    stats.observe([job({ doneBytes: 800, connections: 5 })]);
    const done = job({ state: 'completed', doneBytes: 1000, connections: 0, completedAt: 12_000 });
    expect(stats.statsFor(done)).toEqual({ elapsedMs: 2000, fetchedBytes: 600, connectionsUsed: 5 });
  });

  test('a job never seen active counts from the start of the run, its segments as connections', () => {
    const stats = new RunStats(1000, () => 5000);
    const segments = [0, 1, 2, 3].map((index) => ({ index })) as unknown as JobSnapshot['segments'];
    const done = job({ state: 'completed', completedAt: 3000, maxConnections: 2, segments });
    expect(stats.statsFor(done)).toEqual({ elapsedMs: 2000, fetchedBytes: 1000, connectionsUsed: 2 });
  });

  test('a wait that only saw a job already complete has no summary for it', () => {
    const stats = new RunStats(null, () => 5000);
    const done = job({ state: 'completed', completedAt: 3000 });
    stats.begin([done]);
    stats.observe([done]);
    expect(stats.statsFor(done)).toBeNull();
    expect(stats.doneLines([done], () => null).size).toBe(0);
  });
});
