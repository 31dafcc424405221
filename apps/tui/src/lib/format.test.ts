import { describe, expect, test } from 'bun:test';
import { formatBytes, formatDuration, formatLimit, formatPercent, formatRate, parseLimit } from './format.ts';

describe('format', () => {
  test('bytes, rates, durations and percentages', () => {
    expect([0, 512, 1536, 1024 ** 2 * 1023.96, 5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '512 B',
      '1.5 KiB',
      '1.0 GiB',
      '5.0 GiB',
    ]);
    expect(formatRate(2048)).toBe('2.0 KiB/s');
    expect([null, -1, 42, 185, 3720, 183_600].map(formatDuration)).toEqual([
      '--',
      '--',
      '42s',
      '3m05s',
      '1h02m',
      '2d03h',
    ]);
    expect(formatPercent(999, 1000)).toBe('99%');
    expect(formatPercent(1, null)).toBe('--');
    expect(formatLimit(null)).toBe('off');
    expect(formatLimit(1024)).toBe('1.0 KiB/s');
  });

  test('parseLimit accepts what people type, an empty line means off, and it never throws', () => {
    expect(parseLimit('2M')).toEqual({ ok: true, bytesPerSec: 2 * 1024 ** 2 });
    expect(parseLimit(' 500 KiB/s ')).toEqual({ ok: true, bytesPerSec: 500 * 1024 });
    expect(parseLimit('1024')).toEqual({ ok: true, bytesPerSec: 1024 });
    expect(parseLimit('unlimited')).toEqual({ ok: true, bytesPerSec: null });
    expect(parseLimit('0k')).toEqual({ ok: true, bytesPerSec: null });
    expect(parseLimit('  ')).toEqual({ ok: true, bytesPerSec: null });
    for (const bad of ['fast', '-1M', '2X', '1e3']) {
      const result = parseLimit(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(bad);
    }
  });
});
