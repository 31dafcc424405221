import { describe, expect, test } from 'bun:test';
import type { SegmentSnapshot } from '@ddm/core';
import { makeJob, makeSegment, makeSnapshot } from '../testing/fake-engine.ts';
import { areSegmentsEqual, isSameSnapshot } from './snapshot-equal.ts';

const segments = [
  makeSegment({ index: 0, start: 0, end: 500, writtenBytes: 500, status: 'done' }),
  makeSegment({ index: 1, start: 500, end: 1000, writtenBytes: 100, status: 'active', rateBytesPerSec: 1024 }),
];

describe('areSegmentsEqual', () => {
  test('equal segments rebuilt as new objects (every engine poll) are equal', () => {
    expect(
      areSegmentsEqual(
        segments,
        segments.map((segment) => ({ ...segment })),
      ),
    ).toBe(true);
  });

  test('any changed field, or another count, is a change', () => {
    const changed = (patch: Partial<SegmentSnapshot>): boolean =>
      areSegmentsEqual(
        segments,
        segments.map((segment) => (segment.index === 1 ? { ...segment, ...patch } : segment)),
      );
    expect(changed({ writtenBytes: 101 })).toBe(false);
    expect(changed({ status: 'stalled' })).toBe(false);
    expect(changed({ rateBytesPerSec: 2048 })).toBe(false);
    expect(changed({ retries: 1 })).toBe(false);
    expect(changed({ splitFrom: 0 })).toBe(false);
    expect(areSegmentsEqual(segments, segments.slice(1))).toBe(false);
  });
});

describe('isSameSnapshot', () => {
  test('ignores only the time the snapshot was taken', () => {
    const job = makeJob({ id: 1, doneBytes: 10, segments });
    expect(isSameSnapshot(makeSnapshot([job]), makeSnapshot([{ ...job }], { at: 5 }))).toBe(true);
    expect(isSameSnapshot(makeSnapshot([job]), makeSnapshot([{ ...job, doneBytes: 11 }]))).toBe(false);
  });
});
