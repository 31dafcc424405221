import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { DdmError } from './errors.ts';
import {
  applySplit,
  type ByteRange,
  type LiveRange,
  pickSplit,
  pickSplitByRate,
  planSegments,
  type RatedRange,
  remainingBytes,
  SEGMENT_ALIGN_BYTES,
} from './segment-plan.ts';

const MiB = 1024 ** 2;

/** Invariant 1 of segment-plan.ts: sorted by start, contiguous, exact cover, none empty. */
function expectExactCover(ranges: readonly ByteRange[], sizeBytes: number): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let expectedStart = 0;
  for (const range of sorted) {
    expect(range.start).toBe(expectedStart);
    expect(range.end).toBeGreaterThan(range.start);
    expectedStart = range.end;
  }
  expect(expectedStart).toBe(sizeBytes);
}

/** Invariant 2: every range >= the minimum, or one range when the file is below the minimum. */
function expectMinimumLengths(ranges: readonly ByteRange[], sizeBytes: number, minSplitBytes: number): void {
  if (sizeBytes < Math.max(1, minSplitBytes)) {
    expect(ranges).toEqual([{ ...ranges[0], start: 0, end: sizeBytes } as ByteRange]);
    return;
  }
  for (const range of ranges) expect(range.end - range.start).toBeGreaterThanOrEqual(minSplitBytes);
}

describe('planSegments', () => {
  test('returns no ranges for an empty file', () => {
    expect(planSegments(0, 8, MiB)).toEqual([]);
  });

  test('returns one range when the file is smaller than the minimum split', () => {
    expect(planSegments(1000, 8, MiB)).toEqual([{ start: 0, end: 1000 }]);
  });

  test('reduces the count so every range holds the minimum', () => {
    const ranges = planSegments(10 * MiB, 16, 3 * MiB);
    expect(ranges).toHaveLength(3);
    expectExactCover(ranges, 10 * MiB);
    expectMinimumLengths(ranges, 10 * MiB, 3 * MiB);
  });

  test('aligns inner boundaries to 4096 bytes when it can', () => {
    const ranges = planSegments(100 * MiB + 12_345, 7, MiB);
    expect(ranges).toHaveLength(7);
    for (const range of ranges.slice(1)) expect(range.start % SEGMENT_ALIGN_BYTES).toBe(0);
    expectExactCover(ranges, 100 * MiB + 12_345);
  });

  test('falls back to unaligned boundaries when aligning would break the minimum', () => {
    const ranges = planSegments(10_000, 4, 2500);
    expect(ranges).toEqual([
      { start: 0, end: 2500 },
      { start: 2500, end: 5000 },
      { start: 5000, end: 7500 },
      { start: 7500, end: 10_000 },
    ]);
  });

  test.each([
    [-1, 4, 1],
    [1.5, 4, 1],
    [100, 0, 1],
    [100, 2.5, 1],
    [100, 4, -1],
    [Number.NaN, 4, 1],
  ])('rejects size %p, count %p, minimum %p with ERR_USAGE', (size, count, min) => {
    expect(() => planSegments(size, count, min)).toThrow(DdmError);
  });

  test('always covers the file exactly with ranges no smaller than the minimum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 64 * MiB }),
        (size, count, min) => {
          const ranges = planSegments(size, count, min);
          expect(ranges.length).toBeLessThanOrEqual(count);
          expectExactCover(ranges, size);
          expectMinimumLengths(ranges, size, min);
        },
      ),
    );
  });
});

describe('pickSplit', () => {
  const live = (index: number, start: number, end: number, writtenBytes = 0): LiveRange => ({
    index,
    start,
    end,
    writtenBytes,
  });

  test('splits the largest unwritten remainder in its middle, aligned to 4096', () => {
    const segments = [live(0, 0, 10 * MiB, 9 * MiB), live(1, 10 * MiB, 20 * MiB, 2 * MiB + 1000)];
    const split = pickSplit(segments, MiB);
    const cursor = 12 * MiB + 1000;
    const middle = cursor + Math.floor((20 * MiB - cursor) / 2);
    expect(split).toEqual({ index: 1, at: middle - (middle % 4096) });
  });

  test('returns null when the largest remainder is under twice the minimum', () => {
    expect(pickSplit([live(0, 0, 2 * MiB - 1)], MiB)).toBeNull();
    expect(pickSplit([live(0, 0, 2 * MiB)], MiB)).toEqual({ index: 0, at: MiB });
  });

  test('splits unaligned when aligning would leave a part below the minimum', () => {
    expect(pickSplit([live(0, 0, 3000)], 1500)).toEqual({ index: 0, at: 1500 });
  });

  test('skips excluded segments', () => {
    const segments = [live(0, 0, 10 * MiB), live(1, 10 * MiB, 14 * MiB)];
    expect(pickSplit(segments, MiB, { exclude: new Set([0]) })?.index).toBe(1);
    expect(pickSplit(segments, MiB, { exclude: new Set([0, 1]) })).toBeNull();
  });

  test('returns null for no segments and for fully written ones', () => {
    expect(pickSplit([], MiB)).toBeNull();
    expect(pickSplit([live(0, 0, 4 * MiB, 4 * MiB)], MiB)).toBeNull();
  });
});

describe('applySplit', () => {
  const segments: LiveRange[] = [
    { index: 0, start: 0, end: 100, writtenBytes: 10 },
    { index: 1, start: 100, end: 200, writtenBytes: 0 },
  ];

  test('shrinks the split segment and inserts the new one after it, without mutating', () => {
    const before = structuredClone(segments);
    expect(applySplit(segments, { index: 0, at: 60 }, 2)).toEqual([
      { index: 0, start: 0, end: 60, writtenBytes: 10 },
      { index: 2, start: 60, end: 100, writtenBytes: 0 },
      { index: 1, start: 100, end: 200, writtenBytes: 0 },
    ]);
    expect(segments).toEqual(before);
  });

  test.each([
    ['a missing segment', { index: 9, at: 50 }, 2],
    ['a new index already in use', { index: 0, at: 50 }, 1],
    ['a point inside written bytes', { index: 0, at: 5 }, 2],
    ['a point at the end', { index: 0, at: 100 }, 2],
    ['a point at the start', { index: 1, at: 100 }, 2],
  ])('rejects %s with ERR_USAGE', (_name, split, newIndex) => {
    expect(() => applySplit(segments, split, newIndex)).toThrow(DdmError);
  });
});

type Action = { kind: 'write'; pick: number; fraction: number } | { kind: 'split'; excludeMask: number };

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    pick: fc.nat(),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('split' as const), excludeMask: fc.nat() }),
);

describe('segment plan under random writes and splits', () => {
  test('keeps an exact cover, the minimum length, and written bytes with their owner', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 36 }),
        fc.integer({ min: 1, max: 16 }),
        fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 64 * MiB })),
        fc.array(actionArbitrary, { maxLength: 60 }),
        (size, count, min, actions) => {
          let segments: LiveRange[] = planSegments(size, count, min).map((range, index) => ({
            index,
            ...range,
            writtenBytes: 0,
          }));
          let nextIndex = segments.length;
          const writtenTotal = (): number => segments.reduce((sum, s) => sum + s.writtenBytes, 0);

          for (const action of actions) {
            if (segments.length === 0) break;
            if (action.kind === 'write') {
              const target = segments[action.pick % segments.length] as LiveRange;
              const bytes = Math.floor(remainingBytes(target) * action.fraction);
              segments = segments.map((s) => (s === target ? { ...s, writtenBytes: s.writtenBytes + bytes } : s));
              continue;
            }
            const exclude = new Set(segments.filter((_, i) => (action.excludeMask >> i) & 1).map((s) => s.index));
            const eligible = segments.filter((s) => !exclude.has(s.index));
            const largestRemaining = Math.max(0, ...eligible.map(remainingBytes));
            const split = pickSplit(segments, min, { exclude });
            // null exactly when no eligible remainder can give two parts >= the minimum.
            expect(split === null).toBe(largestRemaining < 2 * Math.max(1, min));
            if (split === null) continue;
            const target = segments.find((s) => s.index === split.index) as LiveRange;
            expect(exclude.has(target.index)).toBe(false);
            expect(remainingBytes(target)).toBe(largestRemaining);
            // Never inside written bytes, and both parts keep the minimum.
            expect(split.at - (target.start + target.writtenBytes)).toBeGreaterThanOrEqual(Math.max(1, min));
            expect(target.end - split.at).toBeGreaterThanOrEqual(Math.max(1, min));
            const before = writtenTotal();
            segments = applySplit(segments, split, nextIndex++);
            expect(writtenTotal()).toBe(before);
            expect(segments.find((s) => s.index === target.index)?.writtenBytes).toBe(target.writtenBytes);
          }

          if (size === 0) {
            expect(segments).toEqual([]);
            return;
          }
          expectExactCover(segments, size);
          expectMinimumLengths(segments, size, min);
          // The list stays sorted by start and every written byte lies inside its own range.
          for (let i = 1; i < segments.length; i++) {
            expect((segments[i] as LiveRange).start).toBe((segments[i - 1] as LiveRange).end);
          }
          for (const s of segments) expect(s.writtenBytes).toBeLessThanOrEqual(s.end - s.start);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('pickSplitByRate', () => {
  const seg = (index: number, start: number, end: number, writtenBytes: number, rate: number): RatedRange => ({
    index,
    start,
    end,
    writtenBytes,
    rateBytesPerSec: rate,
  });

  test('with equal or unknown rates it is pickSplit: the middle of the largest remainder', () => {
    const segments = [seg(0, 0, 8 * MiB, 2 * MiB, 0), seg(1, 8 * MiB, 12 * MiB, 0, 0)];
    expect(pickSplitByRate(segments, { minSplitBytes: MiB, newRateBytesPerSec: 0 })).toEqual(pickSplit(segments, MiB));
  });

  test('steals from the segment that finishes last, not the largest', () => {
    // #0 has more bytes left but runs fast; #1 has fewer at a crawl.
    const segments = [seg(0, 0, 16 * MiB, 0, 8 * MiB), seg(1, 16 * MiB, 24 * MiB, 0, MiB / 4)];
    const split = pickSplitByRate(segments, { minSplitBytes: MiB, newRateBytesPerSec: 8 * MiB });
    expect(split?.index).toBe(1);
  });

  test('a laggard keeps a share proportional to its rate and may give away less than the minimum', () => {
    const lag = seg(3, 0, 2 * MiB, MiB, MiB);
    const split = pickSplitByRate([lag], { minSplitBytes: MiB, newRateBytesPerSec: 8 * MiB });
    // remaining 1 MiB, share 1/9: keeps ~113 KiB (aligned to 4 KiB), hands ~910 KiB to the new connection.
    expect(split).not.toBeNull();
    const kept = (split?.at ?? 0) - MiB;
    expect(kept).toBeGreaterThanOrEqual(64 * 1024);
    expect(kept).toBeLessThan(128 * 1024);
    expect(kept % SEGMENT_ALIGN_BYTES).toBe(0);
  });

  test('random rates and writes: exact cover, never inside written bytes, limits kept', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 34 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 4096, max: 8 * MiB }),
        fc.array(
          fc.record({
            pick: fc.nat(),
            fraction: fc.double({ min: 0, max: 1, noNaN: true }),
            rate: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 * MiB })),
            newRate: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 * MiB })),
          }),
          { maxLength: 40 },
        ),
        (size, count, min, steps) => {
          let segments: RatedRange[] = planSegments(size, count, min).map((r, index) => ({
            index,
            ...r,
            writtenBytes: 0,
            rateBytesPerSec: 0,
          }));
          let next = segments.length;
          for (const step of steps) {
            const target = segments[step.pick % segments.length] as RatedRange;
            const bytes = Math.floor(remainingBytes(target) * step.fraction);
            segments = segments.map((s) =>
              s === target ? { ...s, writtenBytes: s.writtenBytes + bytes, rateBytesPerSec: step.rate } : s,
            );
            const split = pickSplitByRate(segments, { minSplitBytes: min, newRateBytesPerSec: step.newRate });
            if (!split) continue;
            const victim = segments.find((s) => s.index === split.index) as RatedRange;
            const cursor = victim.start + victim.writtenBytes;
            expect(split.at).toBeGreaterThan(cursor);
            expect(split.at).toBeLessThan(victim.end);
            expect(split.at - cursor).toBeGreaterThanOrEqual(Math.min(64 * 1024, min));
            expect(victim.end - split.at).toBeGreaterThanOrEqual(Math.min(256 * 1024, min));
            segments = applySplit(segments, split, next++).map((s) => ({ ...s, rateBytesPerSec: 0 }) as RatedRange);
          }
          expectExactCover(segments, size);
          for (const s of segments) expect(s.writtenBytes).toBeLessThanOrEqual(s.end - s.start);
        },
      ),
      { numRuns: 300 },
    );
  });
});
