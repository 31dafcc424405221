/**
 * The segment heatmap as a pure function: the file is cut into `cellCount` equal cells and each
 * cell says how much of it is written and what the connections inside it are doing.
 */
import type { SegmentSnapshot } from '@ddm/core';

export type HeatStatus = 'done' | 'partial' | 'empty' | 'active' | 'stalled' | 'retrying';

export interface HeatCell {
  /** Written fraction of the cell's bytes, 0..1. */
  readonly fill: number;
  /** A connection is writing inside this cell right now (an active segment's cursor is in it). */
  readonly isActive: boolean;
  /**
   * `retrying` / `stalled` / `active` when a segment in that state has its cursor (the next byte
   * it will write) in this cell, in that order of precedence; otherwise from `fill`.
   */
  readonly status: HeatStatus;
  /** A segment that came from a split starts in this cell. */
  readonly isSplitBoundary: boolean;
}

/** Fills this close to 1 are 1: cell edges are fractional, and float sums drift. */
const FULL_EPSILON = 1e-9;

const CURSOR_PRECEDENCE: Readonly<Record<'active' | 'stalled' | 'retrying', number>> = {
  active: 1,
  stalled: 2,
  retrying: 3,
};

function statusFromFill(fill: number): HeatStatus {
  if (fill >= 1) return 'done';
  return fill > 0 ? 'partial' : 'empty';
}

/**
 * Cells for a file of `sizeBytes` split into `segments`. Cell `i` covers bytes
 * `[i * sizeBytes / cellCount, (i + 1) * sizeBytes / cellCount)`, so with more cells than bytes a
 * byte spans several cells and every one of them shows it.
 *
 * When the size is unknown (`null`) or zero there is nothing to lay bytes out on: every cell is
 * the same, a single degraded bar that is full when every segment is done and otherwise carries
 * the most urgent segment status.
 *
 * @returns exactly `max(0, floor(cellCount))` cells.
 */
export function heatmapCells(
  segments: readonly SegmentSnapshot[],
  sizeBytes: number | null,
  cellCount: number,
): HeatCell[] {
  const count = Math.max(0, Math.floor(cellCount));
  if (count === 0) return [];
  if (sizeBytes === null || sizeBytes <= 0) return degradedCells(segments, count);

  const size = sizeBytes;
  const bytesPerCell = size / count;
  const writtenBytes = new Float64Array(count);
  const cursorRank = new Uint8Array(count);
  const isSplitBoundary = new Uint8Array(count);
  const cellOf = (byte: number): number => Math.min(count - 1, Math.max(0, Math.floor((byte * count) / size)));

  for (const segment of segments) {
    const end = Math.min(segment.end ?? size, size);
    const start = Math.max(0, Math.min(segment.start, end));
    const writtenEnd = Math.min(end, start + Math.max(0, segment.writtenBytes));

    if (writtenEnd > start) {
      const first = cellOf(start);
      const last = Math.min(count - 1, Math.ceil((writtenEnd * count) / size) - 1);
      for (let cell = first; cell <= last; cell++) {
        const cellStart = cell * bytesPerCell;
        const overlap = Math.min(writtenEnd, cellStart + bytesPerCell) - Math.max(start, cellStart);
        if (overlap > 0) writtenBytes[cell] = (writtenBytes[cell] ?? 0) + overlap;
      }
    }

    if (segment.splitFrom !== null && start < size) isSplitBoundary[cellOf(start)] = 1;

    if (segment.status === 'active' || segment.status === 'stalled' || segment.status === 'retrying') {
      // The cursor is the next byte the connection writes; a finished range still shows its last byte.
      const cursor = Math.max(start, Math.min(writtenEnd, end - 1));
      const cell = cellOf(cursor);
      const rank = CURSOR_PRECEDENCE[segment.status];
      if (rank > (cursorRank[cell] ?? 0)) cursorRank[cell] = rank;
    }
  }

  const cells: HeatCell[] = [];
  for (let cell = 0; cell < count; cell++) {
    const ratio = (writtenBytes[cell] ?? 0) / bytesPerCell;
    const fill = ratio >= 1 - FULL_EPSILON ? 1 : Math.max(0, ratio);
    const rank = cursorRank[cell] ?? 0;
    const status: HeatStatus =
      rank === 3 ? 'retrying' : rank === 2 ? 'stalled' : rank === 1 ? 'active' : statusFromFill(fill);
    cells.push({ fill, isActive: rank === 1, status, isSplitBoundary: isSplitBoundary[cell] === 1 });
  }
  return cells;
}

function degradedCells(segments: readonly SegmentSnapshot[], count: number): HeatCell[] {
  const isDone = segments.length > 0 && segments.every((segment) => segment.status === 'done');
  const has = (status: SegmentSnapshot['status']): boolean => segments.some((segment) => segment.status === status);
  const status: HeatStatus = isDone
    ? 'done'
    : has('retrying')
      ? 'retrying'
      : has('stalled')
        ? 'stalled'
        : has('active')
          ? 'active'
          : 'empty';
  const cell: HeatCell = {
    fill: isDone ? 1 : 0,
    isActive: status === 'active',
    status,
    isSplitBoundary: false,
  };
  return Array.from({ length: count }, () => cell);
}

/** Cuts cells into rows of `width` (at least 1); the last row may be shorter. */
export function heatmapRows<T>(cells: readonly T[], width: number): T[][] {
  const rowWidth = Math.max(1, Math.floor(width));
  const rows: T[][] = [];
  for (let offset = 0; offset < cells.length; offset += rowWidth) {
    rows.push(cells.slice(offset, offset + rowWidth));
  }
  return rows;
}

/** Named colours only, so 16-colour terminals show them. */
export type HeatColor = 'green' | 'cyan' | 'yellow' | 'magenta' | 'red' | 'gray';

export interface HeatGlyph {
  readonly glyph: string;
  /** Absent without colour. */
  readonly color?: HeatColor;
}

/** Fill ladder: empty, up to 3/8, up to 5/8, below full, full. */
export const FILL_GLYPHS = [' ', '░', '▒', '▓', '█'] as const;
/** Cursor and split glyphs; single-width, distinct from the fill ladder so NO_COLOR shows them. */
export const ACTIVE_GLYPH = '▸';
export const STALLED_GLYPH = '!';
export const RETRYING_GLYPH = '↻';
export const SPLIT_GLYPH = '╎';

function fillGlyph(fill: number): string {
  if (fill >= 1) return FILL_GLYPHS[4];
  if (fill <= 0) return FILL_GLYPHS[0];
  if (fill < 0.375) return FILL_GLYPHS[1];
  return fill < 0.625 ? FILL_GLYPHS[2] : FILL_GLYPHS[3];
}

/**
 * The character (and, with `color`, the colour) for one cell. Cursor states and split starts get
 * their own glyphs, so the map reads the same without colour; a finished split start shows as full.
 */
export function cellGlyph(cell: HeatCell, options: { readonly color: boolean }): HeatGlyph {
  const paint = (glyph: string, color: HeatColor | undefined): HeatGlyph =>
    options.color && color !== undefined ? { glyph, color } : { glyph };
  switch (cell.status) {
    case 'retrying':
      return paint(RETRYING_GLYPH, 'red');
    case 'stalled':
      return paint(STALLED_GLYPH, 'magenta');
    case 'active':
      return paint(ACTIVE_GLYPH, 'yellow');
    case 'done':
      return paint(fillGlyph(cell.fill), 'green');
    case 'partial':
      return paint(cell.isSplitBoundary ? SPLIT_GLYPH : fillGlyph(cell.fill), 'cyan');
    case 'empty':
      return paint(cell.isSplitBoundary ? SPLIT_GLYPH : fillGlyph(cell.fill), 'gray');
    default: {
      const unhandled: never = cell.status;
      throw new Error(`Unhandled heat status: ${String(unhandled)}`);
    }
  }
}
