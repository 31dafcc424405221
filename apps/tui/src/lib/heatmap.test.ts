import { describe, expect, test } from 'bun:test';
import { makeSegment } from '../testing/fake-engine.ts';
import {
  ACTIVE_GLYPH,
  cellGlyph,
  type HeatCell,
  heatmapCells,
  heatmapRows,
  RETRYING_GLYPH,
  SPLIT_GLYPH,
  STALLED_GLYPH,
} from './heatmap.ts';

const glyphs = (cells: readonly HeatCell[]): string =>
  cells.map((cell) => cellGlyph(cell, { color: false }).glyph).join('');

describe('heatmapCells', () => {
  // 1000 bytes: [0,500) done, [500,1000) active with 250 written, so its cursor is at byte 750.
  const halfDone = [
    makeSegment({ index: 0, start: 0, end: 500, writtenBytes: 500, status: 'done' }),
    makeSegment({ index: 1, start: 500, end: 1000, writtenBytes: 250, status: 'active' }),
  ];

  test('10 cells of 100 bytes: full, partial with the cursor, empty', () => {
    const cells = heatmapCells(halfDone, 1000, 10);
    expect(cells.map((cell) => cell.fill)).toEqual([1, 1, 1, 1, 1, 1, 1, 0.5, 0, 0]);
    expect(cells.map((cell) => cell.status)).toEqual([
      'done',
      'done',
      'done',
      'done',
      'done',
      'done',
      'done',
      'active',
      'empty',
      'empty',
    ]);
    expect(cells.filter((cell) => cell.isActive)).toHaveLength(1);
    expect(cells[7]?.isActive).toBe(true);
    expect(glyphs(cells)).toBe(`███████${ACTIVE_GLYPH}  `);
  });

  test('1 cell: the whole file, written fraction and the cursor', () => {
    const [cell, ...rest] = heatmapCells(halfDone, 1000, 1);
    expect(rest).toHaveLength(0);
    expect(cell).toEqual({ fill: 0.75, isActive: true, status: 'active', isSplitBoundary: false });
  });

  test('80 cells: split starts, stalled and retrying cursors are distinct', () => {
    const segments = [
      makeSegment({ index: 0, start: 0, end: 4000, writtenBytes: 4000, status: 'done' }),
      makeSegment({ index: 1, start: 4000, end: 6000, writtenBytes: 100, status: 'stalled' }),
      makeSegment({ index: 2, start: 6000, end: 7000, writtenBytes: 0, status: 'retrying', retries: 2 }),
      // Split from 2: starts at 7000 (cell 70 of 80 at 100 bytes a cell), nothing written yet.
      makeSegment({ index: 3, start: 7000, end: 8000, writtenBytes: 0, status: 'pending', splitFrom: 2 }),
    ];
    const cells = heatmapCells(segments, 8000, 80);
    expect(cells).toHaveLength(80);
    expect(cells.slice(0, 40).every((cell) => cell.status === 'done' && cell.fill === 1)).toBe(true);
    expect(cells[41]?.status).toBe('stalled'); // cursor at 4100
    expect(cells[40]?.status).toBe('done');
    expect(cells[60]?.status).toBe('retrying'); // cursor at 6000
    expect(cells[70]).toEqual({ fill: 0, isActive: false, status: 'empty', isSplitBoundary: true });
    const row = glyphs(cells);
    expect(row[41]).toBe(STALLED_GLYPH);
    expect(row[60]).toBe(RETRYING_GLYPH);
    expect(row[70]).toBe(SPLIT_GLYPH);
    expect(cells.some((cell) => cell.isActive)).toBe(false);
  });

  test('more cells than bytes: each byte spans several cells, the cursor one', () => {
    const segments = [makeSegment({ index: 0, start: 0, end: 5, writtenBytes: 2, status: 'active' })];
    const cells = heatmapCells(segments, 5, 10);
    expect(cells.map((cell) => cell.fill)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(cells.map((cell) => cell.isActive)).toEqual([
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  test('the cursor of a finished but still active segment stays on its last byte', () => {
    const segments = [
      makeSegment({ index: 0, start: 0, end: 500, writtenBytes: 500, status: 'active' }),
      makeSegment({ index: 1, start: 500, end: 1000, writtenBytes: 0, status: 'pending' }),
    ];
    const cells = heatmapCells(segments, 1000, 10);
    expect(cells[4]?.status).toBe('active');
    expect(cells[5]?.status).toBe('empty');
  });

  test('retrying outranks stalled outranks active in a shared cell', () => {
    const segments = [
      makeSegment({ index: 0, start: 0, end: 10, writtenBytes: 5, status: 'active' }),
      makeSegment({ index: 1, start: 10, end: 20, writtenBytes: 5, status: 'retrying' }),
      makeSegment({ index: 2, start: 20, end: 30, writtenBytes: 5, status: 'stalled' }),
    ];
    expect(heatmapCells(segments, 30, 1)[0]?.status).toBe('retrying');
    expect(heatmapCells(segments.slice(0, 1).concat(segments.slice(2)), 30, 1)[0]?.status).toBe('stalled');
  });

  test('fills add up to the written bytes at any width', () => {
    const segments = [
      makeSegment({ index: 0, start: 0, end: 3331, writtenBytes: 3000, status: 'active' }),
      makeSegment({ index: 1, start: 3331, end: 7919, writtenBytes: 4588, status: 'done' }),
      makeSegment({ index: 2, start: 7919, end: 10007, writtenBytes: 17, status: 'stalled', splitFrom: 1 }),
    ];
    for (const count of [1, 3, 10, 77, 80, 640, 20_000]) {
      const cells = heatmapCells(segments, 10_007, count);
      const total = cells.reduce((sum, cell) => sum + cell.fill * (10_007 / count), 0);
      expect(total).toBeCloseTo(3000 + 4588 + 17, 3);
      expect(cells.filter((cell) => cell.isSplitBoundary)).toHaveLength(1);
    }
  });

  test('unknown size: one uniform degraded bar', () => {
    const streaming = [makeSegment({ index: 0, start: 0, end: null, writtenBytes: 12_345, status: 'active' })];
    const cells = heatmapCells(streaming, null, 20);
    expect(cells).toHaveLength(20);
    expect(new Set(cells.map((cell) => JSON.stringify(cell))).size).toBe(1);
    expect(cells[0]).toEqual({ fill: 0, isActive: true, status: 'active', isSplitBoundary: false });
    const done = [makeSegment({ index: 0, start: 0, end: null, writtenBytes: 12_345, status: 'done' })];
    expect(heatmapCells(done, null, 3).map((cell) => cell.status)).toEqual(['done', 'done', 'done']);
  });

  test('no cells for a zero width; no segments yet means empty cells', () => {
    expect(heatmapCells([], 1000, 0)).toEqual([]);
    expect(heatmapCells([], 1000, 4).map((cell) => cell.status)).toEqual(['empty', 'empty', 'empty', 'empty']);
  });
});

describe('heatmapRows', () => {
  test('cuts cells into rows of the width; the last row may be short', () => {
    const cells = heatmapCells([], 1000, 25);
    expect(heatmapRows(cells, 10).map((row) => row.length)).toEqual([10, 10, 5]);
    expect(heatmapRows(cells, 1)).toHaveLength(25);
    expect(heatmapRows(cells, 0)).toHaveLength(25);
  });
});

describe('cellGlyph', () => {
  const cell = (overrides: Partial<HeatCell>): HeatCell => ({
    fill: 0,
    isActive: false,
    status: 'empty',
    isSplitBoundary: false,
    ...overrides,
  });

  test('maps fill to a ladder of block glyphs', () => {
    const ladder = [0, 0.2, 0.5, 0.9, 1].map(
      (fill) =>
        cellGlyph(cell({ fill, status: fill === 1 ? 'done' : fill > 0 ? 'partial' : 'empty' }), { color: false }).glyph,
    );
    expect(ladder).toEqual([' ', '░', '▒', '▓', '█']);
  });

  test('without colour: no colour at all, states still distinct', () => {
    const states = (['active', 'stalled', 'retrying'] as const).map((status) =>
      cellGlyph(cell({ status, fill: 0.5 }), { color: false }),
    );
    expect(states.every((glyph) => glyph.color === undefined)).toBe(true);
    expect(new Set([...states.map((glyph) => glyph.glyph), '▒', '█', ' ']).size).toBe(6);
  });

  test('with colour: named 16-colour names only', () => {
    const statuses = ['done', 'partial', 'empty', 'active', 'stalled', 'retrying'] as const;
    const colors = statuses.map((status) => cellGlyph(cell({ status, fill: 0.5 }), { color: true }).color);
    expect(colors).toEqual(['green', 'cyan', 'gray', 'yellow', 'magenta', 'red']);
  });
});
