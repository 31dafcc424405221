import { afterEach, describe, expect, jest, test } from 'bun:test';
import { DdmError } from './errors.ts';
import { acquire, defaultBurstBytes, TokenBucket } from './rate-limit.ts';

const KiB = 1024;
const MiB = 1024 * 1024;

/** An injected clock that also moves bun:test's fake timers, so the bucket's timer fires. */
function fakeClock() {
  jest.useFakeTimers();
  let nowMs = 0;
  return {
    now: () => nowMs,
    async advance(ms: number): Promise<void> {
      nowMs += ms;
      jest.advanceTimersByTime(ms);
      await settle();
    },
  };
}

/** Lets resolved promises run their callbacks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Tracks when a take settles, without awaiting it. */
function track(promise: Promise<void>) {
  const state = { isDone: false, error: undefined as unknown };
  promise.then(
    () => {
      state.isDone = true;
    },
    (error: unknown) => {
      state.isDone = true;
      state.error = error;
    },
  );
  return state;
}

afterEach(() => {
  jest.useRealTimers();
});

describe('TokenBucket with an injected clock', () => {
  test('passes an unlimited take at once without arming a timer', async () => {
    jest.useFakeTimers();
    const bucket = new TokenBucket(null);
    const taken = track(bucket.take(10 * MiB));
    await settle();
    expect(taken.isDone).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(bucket.rate).toBeNull();
  });

  test('lets the burst pass, then meters at the rate', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, { burstBytes: 100, now: clock.now });
    const first = track(bucket.take(100));
    await settle();
    expect(first.isDone).toBe(true);

    const second = track(bucket.take(100));
    await clock.advance(99);
    expect(second.isDone).toBe(false);
    await clock.advance(1);
    expect(second.isDone).toBe(true);
  });

  test('serves waiters first come, first served', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, { burstBytes: 100, now: clock.now });
    await bucket.take(100);
    const order: string[] = [];
    const big = bucket.take(100).then(() => order.push('big'));
    const small = bucket.take(1).then(() => order.push('small'));
    await clock.advance(50);
    // The small take could pass now, but it queued behind the big one.
    expect(order).toEqual([]);
    await clock.advance(50);
    expect(order).toEqual(['big']);
    await clock.advance(1);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  test('meters a take larger than the burst by going into debt', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, { burstBytes: 100, now: clock.now });
    const huge = track(bucket.take(1000));
    await settle();
    expect(huge.isDone).toBe(true);
    const next = track(bucket.take(100));
    await clock.advance(999);
    expect(next.isDone).toBe(false);
    await clock.advance(2);
    expect(next.isDone).toBe(true);
  });

  test('applies a new rate to callers already waiting', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, { burstBytes: 1000, now: clock.now });
    await bucket.take(1000);
    const waiting = track(bucket.take(1000));
    await clock.advance(10);
    expect(waiting.isDone).toBe(false);
    bucket.setRate(1_000_000);
    await clock.advance(1);
    expect(waiting.isDone).toBe(true);
    expect(bucket.rate).toBe(1_000_000);
  });

  test('releases every waiter when the limit is removed', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, { burstBytes: 10, now: clock.now });
    const takes = [track(bucket.take(1000)), track(bucket.take(1000)), track(bucket.take(1000))];
    await settle();
    bucket.setRate(null);
    await settle();
    expect(takes.every((take) => take.isDone && take.error === undefined)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('rejects an aborted take with the signal reason and serves the next waiter', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, { burstBytes: 100, now: clock.now });
    await bucket.take(100);
    const controller = new AbortController();
    const aborted = track(bucket.take(100, controller.signal));
    const next = track(bucket.take(10));
    const reason = new DdmError('Paused: job 1', { code: 'ERR_CANCELED' });
    controller.abort(reason);
    await settle();
    expect(aborted.error).toBe(reason);
    expect(bucket.waitingCount).toBe(1);
    await clock.advance(10);
    expect(next.isDone).toBe(true);
    expect(next.error).toBeUndefined();
  });

  test('rejects at once when the signal is already aborted', async () => {
    const bucket = new TokenBucket(null);
    const reason = new Error('stop');
    await expect(bucket.take(1, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  test('rejects invalid rates, bursts and byte counts with ERR_USAGE', async () => {
    expect(() => new TokenBucket(0)).toThrow(DdmError);
    expect(() => new TokenBucket(-1)).toThrow(DdmError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(DdmError);
    expect(() => new TokenBucket(100, { burstBytes: 0 })).toThrow(DdmError);
    expect(() => new TokenBucket(100).setRate(Number.POSITIVE_INFINITY)).toThrow(DdmError);
    await expect(new TokenBucket(100).take(-1)).rejects.toBeInstanceOf(DdmError);
  });

  test('acquire waits for the slowest bucket', async () => {
    const clock = fakeClock();
    const job = new TokenBucket(1000, { burstBytes: 100, now: clock.now });
    const global = new TokenBucket(100, { burstBytes: 100, now: clock.now });
    await acquire([job, global], 100);
    const taken = track(acquire([job, global], 100));
    await clock.advance(100);
    expect(taken.isDone).toBe(false);
    await clock.advance(900);
    expect(taken.isDone).toBe(true);
  });

  test('defaults the burst to a quarter second, capped at 256 KiB, floored at 50 ms', () => {
    expect(defaultBurstBytes(100 * KiB)).toBe(25 * KiB);
    expect(defaultBurstBytes(2 * MiB)).toBe(256 * KiB);
    expect(defaultBurstBytes(100 * MiB)).toBe(5 * MiB);
  });
});

describe('TokenBucket in real time', () => {
  test('holds 4 concurrent consumers near a 2 MiB/s limit and shares it fairly', async () => {
    const limitBytesPerSec = 2 * MiB;
    const chunkBytes = 16 * KiB;
    const durationMs = 2000;
    const bucket = new TokenBucket(limitBytesPerSec);
    const startMs = performance.now();
    const consumedBytes = [0, 0, 0, 0];
    await Promise.all(
      consumedBytes.map(async (_, consumer) => {
        while (performance.now() - startMs < durationMs) {
          await bucket.take(chunkBytes);
          consumedBytes[consumer] = (consumedBytes[consumer] ?? 0) + chunkBytes;
        }
      }),
    );
    const elapsedSec = (performance.now() - startMs) / 1000;
    const totalBytes = consumedBytes.reduce((sum, bytes) => sum + bytes, 0);
    const achievedBytesPerSec = totalBytes / elapsedSec;
    expect(achievedBytesPerSec).toBeGreaterThan(limitBytesPerSec * 0.85);
    expect(achievedBytesPerSec).toBeLessThan(limitBytesPerSec * 1.15);
    for (const bytes of consumedBytes) {
      expect(bytes / totalBytes).toBeGreaterThan(0.2);
      expect(bytes / totalBytes).toBeLessThan(0.3);
    }
  });
});
