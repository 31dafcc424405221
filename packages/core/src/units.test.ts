import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { DdmError } from './errors.ts';
import { formatBytes, formatDuration, formatRate, parseBytes, parseRate } from './units.ts';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function usageErrorOf(run: () => unknown): DdmError {
  try {
    run();
  } catch (error) {
    if (error instanceof DdmError) return error;
    throw error;
  }
  throw new Error('expected a DdmError');
}

describe('parseBytes', () => {
  test.each([
    ['1048576', 1048576],
    ['0', 0],
    ['10M', 10 * MiB],
    ['2MiB', 2 * MiB],
    ['2mb', 2 * MiB],
    ['2 MB', 2 * MiB],
    ['500k', 500 * KiB],
    ['500K', 500 * KiB],
    ['500KiB', 500 * KiB],
    ['1.5G', 1.5 * GiB],
    ['1T', 1024 ** 4],
    ['.5k', 512],
    ['100b', 100],
    ['100B', 100],
    ['  7M  ', 7 * MiB],
  ])('reads %p as %p bytes (K/M/G/T are 1024-based like aria2)', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  test('rounds fractional suffixed values to whole bytes', () => {
    expect(parseBytes('1.0001k')).toBe(1024);
  });

  test.each([
    '',
    ' ',
    'abc',
    '-5',
    '-5M',
    '1.5',
    '5X',
    '5 M B',
    'M',
    '1e3',
    '5iB',
    '0x10',
    '99999999999T',
    'Infinity',
    'NaN',
  ])('rejects %p with ERR_USAGE naming the text', (text) => {
    const error = usageErrorOf(() => parseBytes(text));
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toContain(`"${text}"`);
  });

  test('round-trips every safe integer written as plain digits', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (bytes) => {
        expect(parseBytes(String(bytes))).toBe(bytes);
      }),
    );
  });
});

describe('parseRate', () => {
  test.each(['off', 'OFF', 'none', 'unlimited', '0', '0K', ' off '])('reads %p as no limit', (text) => {
    expect(parseRate(text)).toBeNull();
  });

  test.each([
    ['2M', 2 * MiB],
    ['500KiB/s', 500 * KiB],
    ['1.5 MB/s', 1.5 * MiB],
    ['4096', 4096],
  ])('reads %p as %p bytes per second', (text, bytesPerSec) => {
    expect(parseRate(text)).toBe(bytesPerSec);
  });

  test.each(['fast', '-1M', '', '/s'])('rejects %p with ERR_USAGE naming the text', (text) => {
    const error = usageErrorOf(() => parseRate(text));
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toContain(`"${text}"`);
  });
});

describe('formatBytes and formatRate', () => {
  test.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1.5 * MiB, '1.5 MiB'],
    [MiB - 1, '1.0 MiB'],
    [12 * GiB, '12.0 GiB'],
    [-2048, '-2.0 KiB'],
    [Number.NaN, '--'],
  ])('formats %p as %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  test('never prints 1024.0 of a unit', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (bytes) => {
        expect(formatBytes(bytes)).not.toMatch(/^1024\.0 /);
      }),
    );
  });

  test('formats a rate with /s', () => {
    expect(formatRate(12.3 * MiB)).toBe('12.3 MiB/s');
    expect(formatRate(0)).toBe('0 B/s');
    expect(formatRate(Number.POSITIVE_INFINITY)).toBe('--');
  });

  test('parseBytes reads back what formatBytes prints, within its rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 2 ** 50 }), (bytes) => {
        const printed = formatBytes(bytes).replace(' ', '');
        expect(Math.abs(parseBytes(printed) - bytes) / bytes).toBeLessThan(0.05);
      }),
    );
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [42, '42s'],
    [42.4, '42s'],
    [185, '3m05s'],
    [3720, '1h02m'],
    [3600 * 27 + 60, '1d03h'],
    [null, '--'],
    [Number.POSITIVE_INFINITY, '--'],
    [Number.NaN, '--'],
    [-1, '--'],
  ])('formats %p seconds as %p', (sec, text) => {
    expect(formatDuration(sec)).toBe(text);
  });
});
