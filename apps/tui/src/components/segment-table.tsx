import type { SegmentSnapshot } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatBytes, formatRate } from '../lib/format.ts';
import { areSegmentsEqual } from '../lib/snapshot-equal.ts';
import { type NamedColor, tint } from '../lib/theme.ts';

export interface SegmentTableProps {
  readonly segments: readonly SegmentSnapshot[];
  /** Segment rows below the heading. */
  readonly rows: number;
  readonly width: number;
  readonly isColor: boolean;
}

const STATUS_ORDER: Readonly<Record<SegmentSnapshot['status'], number>> = {
  retrying: 0,
  stalled: 1,
  active: 2,
  pending: 3,
  done: 4,
};
const STATUS_COLORS: Readonly<Record<SegmentSnapshot['status'], NamedColor>> = {
  retrying: 'red',
  stalled: 'magenta',
  active: 'yellow',
  pending: 'gray',
  done: 'green',
};
/** What the segment's connection is doing. */
const CONNECTION_TEXT: Readonly<Record<SegmentSnapshot['status'], string>> = {
  retrying: 'retrying',
  stalled: 'stalled',
  active: 'open',
  pending: '-',
  done: 'closed',
};

/**
 * The segments worth a row when they do not all fit: retrying, stalled, active, pending, done,
 * then shown in index order.
 */
export function segmentsToShow(segments: readonly SegmentSnapshot[], rows: number): SegmentSnapshot[] {
  if (segments.length <= rows) return [...segments];
  return [...segments]
    .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.index - b.index)
    .slice(0, Math.max(0, rows - 1))
    .sort((a, b) => a.index - b.index);
}

function progress(segment: SegmentSnapshot): string {
  if (segment.end === null) return formatBytes(segment.writtenBytes);
  const length = segment.end - segment.start;
  return length <= 0 ? '100%' : `${Math.floor((segment.writtenBytes / length) * 100)}%`;
}

const COLUMNS = ['seg', 'range', 'done', 'conn', 'rate', 'retry', 'split'] as const;
const WIDTHS = [4, 23, 10, 9, 12, 5, 6] as const;

function line(cells: readonly string[]): string {
  return cells.map((cell, index) => cell.padEnd(WIDTHS[index] ?? 0).slice(0, WIDTHS[index] ?? 0)).join(' ');
}

function SegmentTableView({ segments, rows, width, isColor }: SegmentTableProps) {
  const shown = segmentsToShow(segments, rows);
  const hidden = segments.length - shown.length;
  return (
    <Box flexDirection="column" width={width} height={rows + 1} overflow="hidden">
      <Text {...tint(isColor, { bold: true })} wrap="truncate-end">
        {line(COLUMNS)}
      </Text>
      {shown.map((segment) => (
        <Text key={segment.index} wrap="truncate-end" {...tint(isColor, { color: STATUS_COLORS[segment.status] })}>
          {line([
            String(segment.index),
            `${formatBytes(segment.start)}-${segment.end === null ? '?' : formatBytes(segment.end)}`,
            progress(segment),
            CONNECTION_TEXT[segment.status],
            segment.status === 'active' ? formatRate(segment.rateBytesPerSec) : '',
            String(segment.retries),
            segment.splitFrom === null ? '' : `<-${segment.splitFrom}`,
          ])}
        </Text>
      ))}
      {hidden > 0 ? (
        <Text {...tint(isColor, { color: 'gray' })} wrap="truncate-end">
          {`+${hidden} more segments`}
        </Text>
      ) : null}
    </Box>
  );
}

/** Segments with their range, progress, connection, rate, retries and split origin. */
export const SegmentTable = memo(
  SegmentTableView,
  (previous, next) =>
    previous.rows === next.rows &&
    previous.width === next.width &&
    previous.isColor === next.isColor &&
    areSegmentsEqual(previous.segments, next.segments),
);
