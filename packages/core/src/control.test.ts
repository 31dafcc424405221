/**
 * Commands from another process: the same job rules and the same writer whether a running engine
 * applies them or, with no engine, the DB is changed for the next run.
 */
import { describe, expect, test } from 'bun:test';
import { openDb, reposFor } from '@ddm/db';
import { applyOffline, runningEngine, sendCommand } from './control.ts';
import { harness } from './testing/engine-test-kit.ts';
import { waitFor } from './testing/index.ts';

const URL_BASE = 'http://127.0.0.1:9/file';

describe('move command', () => {
  test('with no engine running, moves the job to the top or bottom of its priority', async () => {
    await using h = harness();
    const [a, b, c] = [1, 2, 3].map((n) => h.engine.addJob(`${URL_BASE}${n}`, { dir: h.dir })) as [
      number,
      number,
      number,
    ];
    const order = () => h.repos.jobs.list().map((j) => j.id);
    expect((await sendCommand(h.repos, 'move', c, { where: 'top' })).via).toBe('offline');
    expect(order()).toEqual([c, a, b]);
    applyOffline(h.repos, 'move', c, { where: 'bottom' });
    expect(order()).toEqual([a, b, c]);
  });

  test('a running engine applies a move sent from another connection', async () => {
    await using h = harness({ isFileDb: true });
    const first = h.engine.addJob(`${URL_BASE}1`, { dir: h.dir });
    await h.engine.pause(first);
    const second = h.engine.addJob(`${URL_BASE}2`, { dir: h.dir });
    await h.engine.pause(second);
    const ended = h.engine.run({ isWatching: true });
    const other = reposFor(openDb(h.dbPath));
    try {
      await waitFor(() => runningEngine(other) !== null);
      expect((await sendCommand(other, 'move', second, { where: 'top' })).via).toBe('engine');
      expect(other.jobs.list().map((j) => j.id)).toEqual([second, first]);
    } finally {
      h.engine.stop();
      await ended;
      other.db.close();
    }
  });

  test('a move anywhere but top or bottom is refused with ERR_USAGE and changes nothing', async () => {
    await using h = harness();
    const ids = [1, 2].map((n) => h.engine.addJob(`${URL_BASE}${n}`, { dir: h.dir }));
    expect(() => applyOffline(h.repos, 'move', ids[1] as number, { where: 'middle' })).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE' }),
    );
    expect(h.repos.jobs.list().map((j) => j.id)).toEqual(ids);
  });
});

describe('offline control uses the job rules of the table', () => {
  test('an interrupted job (downloading, no engine) pauses, and a resume clears its error', async () => {
    await using h = harness();
    const id = h.engine.addJob(`${URL_BASE}1`, { dir: h.dir });
    h.repos.jobs.update(id, { state: 'downloading' });
    applyOffline(h.repos, 'pause', id, {});
    expect(h.job(id).state).toBe('paused');
    h.repos.jobs.update(id, { errorCode: 'ERR_NETWORK', errorMessage: 'reset' });
    applyOffline(h.repos, 'resume', id, {});
    expect(h.job(id)).toMatchObject({ state: 'queued', errorCode: null, errorMessage: null });
    const moves = h.repos.events.forJob(id, 10).filter((e) => e.type === 'job-state');
    expect(moves.map((e) => e.data.to)).toEqual(expect.arrayContaining(['paused', 'queued']));
  });

  test('a refused verb names the state and writes nothing', async () => {
    await using h = harness();
    const id = h.engine.addJob(`${URL_BASE}1`, { dir: h.dir });
    h.repos.jobs.update(id, { state: 'completed' });
    expect(() => applyOffline(h.repos, 'cancel', id, {})).toThrow(
      expect.objectContaining({ code: 'ERR_ILLEGAL_TRANSITION' }),
    );
    expect(h.job(id).state).toBe('completed');
  });
});
