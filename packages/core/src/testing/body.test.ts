import { describe, expect, test } from 'bun:test';
import { etagFor, generatedBody, makeBody, sha256Hex } from './body.ts';

describe('makeBody', () => {
  test('is deterministic, pinned and seed-dependent', () => {
    expect(makeBody(1000, 1)).toEqual(makeBody(1000, 1));
    expect(makeBody(1000, 2)).not.toEqual(makeBody(1000, 1));
    expect(makeBody(0).length).toBe(0);
    // Pinned so that a change to the generator (and every recorded digest) is deliberate.
    expect(sha256Hex(makeBody(1_000_003, 42))).toBe(sha256Hex(generatedBody(1_000_003, 42)));
    expect(sha256Hex(makeBody(16, 1))).toBe(PINNED_16_BYTES_SEED_1);
  });

  test('a prefix of a longer body equals the shorter body', () => {
    expect(makeBody(4097, 5).subarray(0, 1001)).toEqual(makeBody(1001, 5));
  });

  test('refuses a negative or fractional size', () => {
    expect(() => makeBody(-1)).toThrow(RangeError);
    expect(() => makeBody(1.5)).toThrow(RangeError);
  });
});

describe('generatedBody', () => {
  test('slices at any offset equal the in-memory body', () => {
    const whole = makeBody(10_007, 3);
    const generated = generatedBody(10_007, 3);
    for (const [start, end] of [
      [0, 10_007],
      [1, 2],
      [3, 9],
      [4097, 8191],
      [10_000, 20_000],
    ] as const) {
      expect(generated.slice(start, end)).toEqual(whole.subarray(start, end));
      expect(generated.sliceInto(start, end, new Uint32Array(4000))).toEqual(whole.subarray(start, end));
    }
  });

  test('hashes 256 MiB without holding it, well under the time of a download', () => {
    const startedAt = performance.now();
    expect(sha256Hex(generatedBody(256 * 1024 * 1024))).toMatch(/^[0-9a-f]{64}$/);
    expect(performance.now() - startedAt).toBeLessThan(3000);
  });

  test('has a strong ETag from seed and size, and bytes get one from their content', () => {
    expect(etagFor(generatedBody(100, 7))).toBe('"g7-64"');
    expect(etagFor(makeBody(100, 1))).toBe(etagFor(makeBody(100, 1)));
    expect(etagFor(makeBody(100, 1))).not.toBe(etagFor(makeBody(100, 2)));
  });
});

const PINNED_16_BYTES_SEED_1 = 'c7762071a35bc6f0ef842b7421fafa08cb47c4113551b2ddce029750bab531ff';
