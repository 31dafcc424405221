import { afterEach, describe, expect, test } from 'bun:test';
import { cleanup, render } from 'ink-testing-library';
import { makeSegment } from '../testing/fake-engine.ts';
import { waitFor } from '../testing/render-sized.ts';
import { SegmentHeatmap } from './segment-heatmap.tsx';

afterEach(cleanup);

const segments = [
  makeSegment({ index: 0, start: 0, end: 400, writtenBytes: 400, status: 'done' }),
  makeSegment({ index: 1, start: 400, end: 800, writtenBytes: 200, status: 'active' }),
  makeSegment({ index: 2, start: 800, end: 1000, writtenBytes: 0, status: 'retrying', splitFrom: 1 }),
];

async function frameOf(element: Parameters<typeof render>[0]): Promise<string[]> {
  const { lastFrame } = render(element);
  await waitFor(
    () => lastFrame() !== undefined,
    () => 'the first frame',
  );
  return Bun.stripANSI(lastFrame() ?? '').split('\n');
}

describe('SegmentHeatmap', () => {
  test('10 cells in one row: written, cursor, empty and the retrying split', async () => {
    const lines = await frameOf(
      <SegmentHeatmap segments={segments} sizeBytes={1000} width={10} rows={1} isColor={false} />,
    );
    // 100 bytes a cell: written [0,600), cursor at 600 = cell 6, retry cursor at 800 = cell 8.
    expect(lines).toEqual(['██████▸ ↻']);
  });

  test('40 cells as 2 rows of 20', async () => {
    const lines = await frameOf(
      <SegmentHeatmap segments={segments} sizeBytes={1000} width={20} rows={2} isColor={false} />,
    );
    // 1000 bytes over 40 cells: 25 bytes a cell; written [0,600); cursor at 600 = cell 24; retry cursor at 800 = cell 32.
    expect(lines).toEqual(['████████████████████', '████▸       ↻']);
  });

  test('80 columns by 3 rows: every row is exactly the width', async () => {
    const lines = await frameOf(
      <SegmentHeatmap segments={segments} sizeBytes={1000} width={80} rows={3} isColor={false} />,
    );
    expect(lines).toHaveLength(3);
    // 240 cells; cursor at 600 -> cell 144 (row 1, col 64); retry at 800 -> cell 192 (row 2, col 32).
    expect(lines[0]).toBe('█'.repeat(80));
    expect(lines[1]).toBe(`${'█'.repeat(64)}▸`);
    expect(lines[2]?.[32]).toBe('↻');
  });

  test('unknown size: one bar and the written byte count', async () => {
    const streaming = [makeSegment({ index: 0, start: 0, end: null, writtenBytes: 2048, status: 'active' })];
    const lines = await frameOf(
      <SegmentHeatmap segments={streaming} sizeBytes={null} width={40} rows={3} isColor={false} />,
    );
    expect(lines).toEqual([`${'░'.repeat(9)}▸ size unknown, 2.0 KiB written`]);
  });
});
