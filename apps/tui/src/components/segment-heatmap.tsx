import type { SegmentSnapshot } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatBytes } from '../lib/format.ts';
import { cellGlyph, type HeatCell, type HeatColor, type HeatGlyph, heatmapCells, heatmapRows } from '../lib/heatmap.ts';
import { areSegmentsEqual } from '../lib/snapshot-equal.ts';

export interface SegmentHeatmapProps {
  readonly segments: readonly SegmentSnapshot[];
  readonly sizeBytes: number | null;
  readonly width: number;
  readonly rows: number;
  readonly isColor: boolean;
}

interface Run {
  readonly text: string;
  readonly color: HeatColor | undefined;
}

/** Joins neighbouring glyphs of one colour, so a row is a few `<Text>` nodes and not one per cell. */
function toRuns(glyphs: readonly HeatGlyph[]): Run[] {
  const runs: { text: string; color: HeatColor | undefined }[] = [];
  for (const { glyph, color } of glyphs) {
    const last = runs.at(-1);
    if (last !== undefined && last.color === color) last.text += glyph;
    else runs.push({ text: glyph, color });
  }
  return runs;
}

/**
 * Without a size the cells are all alike; draw them as a bar that is full when done and
 * otherwise a light track ending in the state glyph (▸ writing, ! stalled, ↻ retrying).
 */
function degradedBar(cells: readonly HeatCell[], options: { readonly color: boolean }): HeatGlyph[] {
  const [cell] = cells;
  if (cell === undefined) return [];
  if (cell.status === 'done' || cell.status === 'empty') return cells.map((each) => cellGlyph(each, options));
  const track = cellGlyph({ ...cell, status: 'partial', fill: 0.25 }, options);
  return [...cells.slice(1).map(() => track), cellGlyph(cell, options)];
}

function SegmentHeatmapView({ segments, sizeBytes, width, rows, isColor }: SegmentHeatmapProps) {
  const isUnknownSize = sizeBytes === null || sizeBytes <= 0;
  const writtenBytes = segments.reduce((sum, segment) => sum + segment.writtenBytes, 0);
  const label = isUnknownSize ? ` size unknown, ${formatBytes(writtenBytes)} written` : '';
  const barWidth = Math.max(1, width - label.length);
  const rowCount = isUnknownSize ? 1 : Math.max(1, rows);
  const cells = heatmapCells(segments, sizeBytes, barWidth * rowCount);
  const glyphs = isUnknownSize
    ? degradedBar(cells, { color: isColor })
    : cells.map((cell) => cellGlyph(cell, { color: isColor }));
  const lines = heatmapRows(glyphs, barWidth);
  return (
    <Box flexDirection="column" width={width} height={rowCount} overflow="hidden">
      {lines.map((line, rowIndex) => (
        // Rows and runs have no identity but their position, which is stable for a given width.
        // biome-ignore lint/suspicious/noArrayIndexKey: positional by nature
        <Text key={rowIndex} wrap="truncate-end">
          {toRuns(line).map((run, runIndex) =>
            run.color === undefined ? (
              // biome-ignore lint/suspicious/noArrayIndexKey: positional by nature
              <Text key={runIndex}>{run.text}</Text>
            ) : (
              // biome-ignore lint/suspicious/noArrayIndexKey: positional by nature
              <Text key={runIndex} color={run.color}>
                {run.text}
              </Text>
            ),
          )}
          {label}
        </Text>
      ))}
    </Box>
  );
}

/**
 * The file as `rows` rows of `width` cells, each cell coloured by how much of it is written.
 * Cursor cells show ▸ (writing), ! (stalled) or ↻ (retrying); ╎ marks where a split segment
 * starts. Without a known size it is one bar with the written byte count.
 */
export const SegmentHeatmap = memo(
  SegmentHeatmapView,
  // A snapshot rebuilds its segment objects on every poll; redraw only when one differs.
  (previous, next) =>
    previous.sizeBytes === next.sizeBytes &&
    previous.width === next.width &&
    previous.rows === next.rows &&
    previous.isColor === next.isColor &&
    areSegmentsEqual(previous.segments, next.segments),
);
