import { describe, expect, test } from 'bun:test';
import { decideRange, ifRangeMatches } from './range.ts';

describe('decideRange', () => {
  test('reads the three single-range forms', () => {
    expect(decideRange('bytes=0-99', 1000)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(decideRange('bytes=900-', 1000)).toEqual({ kind: 'range', start: 900, end: 999 });
    expect(decideRange('bytes=-100', 1000)).toEqual({ kind: 'range', start: 900, end: 999 });
  });

  test('clamps a last position past the end and a suffix longer than the body', () => {
    expect(decideRange('bytes=990-5000', 1000)).toEqual({ kind: 'range', start: 990, end: 999 });
    expect(decideRange('bytes=-5000', 1000)).toEqual({ kind: 'range', start: 0, end: 999 });
  });

  test('treats the unit case-insensitively and tolerates whitespace', () => {
    expect(decideRange('Bytes = 1-2 ', 10)).toEqual({ kind: 'range', start: 1, end: 2 });
  });

  test('reports a first position at or past the end, and -0, as unsatisfiable', () => {
    expect(decideRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=1000-1001', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  test('ignores absent, foreign-unit, malformed, reversed and multiple ranges', () => {
    for (const header of [null, 'items=0-1', 'bytes=', 'bytes=-', 'bytes=a-b', 'bytes=5-4', 'bytes=0-1,5-6', '0-1']) {
      expect(decideRange(header, 1000)).toEqual({ kind: 'ignore' });
    }
  });
});

describe('ifRangeMatches', () => {
  const current = { etag: '"v1"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' };

  test('matches an identical strong entity tag only', () => {
    expect(ifRangeMatches('"v1"', current)).toBe(true);
    expect(ifRangeMatches('"v2"', current)).toBe(false);
    expect(ifRangeMatches('W/"v1"', current)).toBe(false);
    expect(ifRangeMatches('"v1"', { ...current, etag: 'W/"v1"' })).toBe(false);
  });

  test('matches an HTTP-date equal to Last-Modified only', () => {
    expect(ifRangeMatches('Wed, 01 Jan 2025 00:00:00 GMT', current)).toBe(true);
    expect(ifRangeMatches('Wed, 01 Jan 2025 00:00:01 GMT', current)).toBe(false);
    expect(ifRangeMatches('Wed, 01 Jan 2025 00:00:00 GMT', { ...current, lastModified: null })).toBe(false);
    expect(ifRangeMatches('not a date', current)).toBe(false);
  });
});
