import type { JobSnapshot } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatBytes, formatDuration, formatPercent, formatRate } from '../lib/format.ts';
import { stateColor, tint } from '../lib/theme.ts';

export interface JobListProps {
  readonly jobs: readonly JobSnapshot[];
  readonly selectedJobId: number | null;
  /** Job rows to show below the heading; the list scrolls to keep the selection visible. */
  readonly rows: number;
  readonly width: number;
  readonly isColor: boolean;
}

type ColumnKey = 'size' | 'percent' | 'rate' | 'eta' | 'state' | 'connections';

interface Column {
  readonly key: ColumnKey;
  readonly title: string;
  readonly width: number;
  readonly cell: (job: JobSnapshot) => string;
}

/** Fixed columns, in the order they are dropped when the terminal is narrow (last first). */
const COLUMNS: readonly Column[] = [
  { key: 'percent', title: '%', width: 5, cell: (job) => formatPercent(job.doneBytes, job.sizeBytes) },
  { key: 'state', title: 'state', width: 12, cell: (job) => job.state },
  {
    key: 'rate',
    title: 'rate',
    width: 12,
    cell: (job) => (job.rateBytesPerSec > 0 ? formatRate(job.rateBytesPerSec) : ''),
  },
  {
    key: 'eta',
    title: 'eta',
    width: 7,
    cell: (job) => (job.state === 'downloading' ? formatDuration(job.etaSec) : ''),
  },
  { key: 'size', title: 'size', width: 11, cell: (job) => (job.sizeBytes === null ? '?' : formatBytes(job.sizeBytes)) },
  { key: 'connections', title: 'conn', width: 6, cell: (job) => `${job.connections}/${job.maxConnections}` },
];
const DISPLAY_ORDER: readonly ColumnKey[] = ['size', 'percent', 'rate', 'eta', 'state', 'connections'];
const MARKER_WIDTH = 2;
const ID_WIDTH = 5;
const MIN_NAME_WIDTH = 12;

/** The columns that fit next to a name of at least {@link MIN_NAME_WIDTH}, in display order. */
export function visibleColumns(width: number): readonly Column[] {
  let kept = [...COLUMNS];
  const used = (): number => MARKER_WIDTH + ID_WIDTH + kept.reduce((sum, column) => sum + column.width + 1, 0);
  while (kept.length > 0 && width - used() < MIN_NAME_WIDTH) kept = kept.slice(0, -1);
  return DISPLAY_ORDER.flatMap((key) => kept.filter((column) => column.key === key));
}

/** First row to show so that `selected` stays visible, centred when possible. */
export function scrollOffset(count: number, selected: number, rows: number): number {
  if (count <= rows || selected < 0) return 0;
  return Math.min(Math.max(0, selected - Math.floor(rows / 2)), count - rows);
}

const right = (text: string, width: number): string => text.padStart(width).slice(-width);

/** The job table: heading plus `rows` job rows; the selected row is marked with `>`. */
export const JobList = memo(function JobList({ jobs, selectedJobId, rows, width, isColor }: JobListProps) {
  const columns = visibleColumns(width);
  const nameWidth = Math.max(1, width - MARKER_WIDTH - ID_WIDTH - columns.reduce((sum, c) => sum + c.width + 1, 0));
  const selected = jobs.findIndex((job) => job.id === selectedJobId);
  const offset = scrollOffset(jobs.length, selected, rows);
  const shown = jobs.slice(offset, offset + rows);
  return (
    <Box flexDirection="column" width={width} height={rows + 1} overflow="hidden">
      <Box height={1}>
        <Text {...tint(isColor, { bold: true })} wrap="truncate-end">
          {' '.repeat(MARKER_WIDTH)}
          {'#'.padEnd(ID_WIDTH)}
          {'name'.padEnd(nameWidth)}
          {columns.map((column) => ` ${right(column.title, column.width)}`).join('')}
        </Text>
      </Box>
      {jobs.length === 0 ? (
        <Text {...tint(isColor, { color: 'gray' })}> no downloads: press a to add a URL</Text>
      ) : (
        shown.map((job) => {
          const isSelected = job.id === selectedJobId;
          return (
            <Box key={job.id} height={1}>
              <Text {...tint(isColor, { inverse: isSelected })} wrap="truncate-end">
                {isSelected ? '> ' : '  '}
                {`#${job.id}`.padEnd(ID_WIDTH).slice(0, ID_WIDTH)}
              </Text>
              <Box width={nameWidth}>
                <Text {...tint(isColor, { inverse: isSelected })} wrap="truncate-end">
                  {job.fileName.padEnd(nameWidth)}
                </Text>
              </Box>
              {columns.map((column) => (
                <Text
                  key={column.key}
                  {...tint(isColor, {
                    inverse: isSelected,
                    ...(column.key === 'state' ? { color: stateColor(job.state) } : {}),
                  })}
                >
                  {` ${right(column.cell(job), column.width)}`}
                </Text>
              ))}
            </Box>
          );
        })
      )}
    </Box>
  );
});
