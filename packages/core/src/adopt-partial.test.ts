import { describe, expect, test } from 'bun:test';
import { BLOCK_SAMPLE_BYTES, sampleRanges, TAIL_SAMPLE_BYTES } from './adopt-partial.ts';

const MiB = 1024 * 1024;

describe('sampleRanges', () => {
  test('the last 1 MiB and three distinct 64 KiB blocks before it, in order, inside the file', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (const size of [10 * MiB + 123, 1.5 * MiB, 3 * MiB]) {
      const ranges = sampleRanges(size, random);
      const tail = ranges.at(-1);
      expect(tail).toEqual({ start: size - TAIL_SAMPLE_BYTES, end: size });
      const blocks = ranges.slice(0, -1);
      expect(blocks.length).toBe(Math.min(3, Math.floor((size - TAIL_SAMPLE_BYTES) / BLOCK_SAMPLE_BYTES)));
      for (const [i, block] of blocks.entries()) {
        expect(block.end - block.start).toBe(BLOCK_SAMPLE_BYTES);
        expect(block.end).toBeLessThanOrEqual(size - TAIL_SAMPLE_BYTES);
        if (i > 0) expect(block.start).toBeGreaterThanOrEqual((blocks[i - 1] as { end: number }).end);
      }
    }
  });

  test('a file under 1 MiB is compared whole; an empty one not at all', () => {
    expect(sampleRanges(1000)).toEqual([{ start: 0, end: 1000 }]);
    expect(sampleRanges(0)).toEqual([]);
  });
});
