import { describe, expect, test } from 'bun:test';
import { makeJob, makeSnapshot } from '../testing/fake-engine.ts';
import { EMPTY_RATE_HISTORY, HISTORY_SAMPLES, isRateChangeVisible, recordRates } from './rate-history.ts';

const at = (ms: number, rate: number, ids: readonly number[] = [1]) =>
  makeSnapshot(
    ids.map((id) => makeJob({ id, rateBytesPerSec: rate })),
    { at: 1_000_000 + ms },
  );

describe('recordRates', () => {
  test('takes one sample a second and returns the same object in between', () => {
    const first = recordRates(EMPTY_RATE_HISTORY, at(0, 10));
    expect(first.samplesByJob.get(1)).toEqual([10]);
    expect(recordRates(first, at(999, 20))).toBe(first);
    const second = recordRates(first, at(1000, 20));
    expect(second.samplesByJob.get(1)).toEqual([10, 20]);
  });

  test('a late poll fills the seconds it missed; history is capped at 60 s', () => {
    let history = recordRates(EMPTY_RATE_HISTORY, at(0, 1));
    history = recordRates(history, at(3500, 7));
    expect(history.samplesByJob.get(1)).toEqual([1, 7, 7, 7]);
    history = recordRates(history, at(200_000, 9));
    expect(history.samplesByJob.get(1)).toHaveLength(HISTORY_SAMPLES);
  });

  test('drops jobs that left the snapshot', () => {
    const both = recordRates(EMPTY_RATE_HISTORY, at(0, 5, [1, 2]));
    const one = recordRates(both, at(1000, 5, [2]));
    expect([...one.samplesByJob.keys()]).toEqual([2]);
  });

  test('zero samples added to an idle history are invisible; any movement is visible', () => {
    const idle = recordRates(EMPTY_RATE_HISTORY, at(0, 0));
    const stillIdle = recordRates(idle, at(1000, 0));
    expect(stillIdle).not.toBe(idle);
    expect(isRateChangeVisible(idle, stillIdle)).toBe(false);
    const moving = recordRates(stillIdle, at(2000, 5));
    expect(isRateChangeVisible(stillIdle, moving)).toBe(true);
    // A stop shifts the earlier movement along the graph.
    expect(isRateChangeVisible(moving, recordRates(moving, at(3000, 0)))).toBe(true);
  });
});
