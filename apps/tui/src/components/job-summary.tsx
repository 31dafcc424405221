import type { JobSnapshot } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatBytes, formatLimit, formatPercent } from '../lib/format.ts';
import { stateColor, tint } from '../lib/theme.ts';
import { MirrorRates } from './mirror-rates.tsx';

export interface JobSummaryProps {
  readonly job: JobSnapshot;
  readonly width: number;
  readonly isColor: boolean;
}

/**
 * Title of the detail pane: `#3 ubuntu.iso  1.2 GiB / 4.6 GiB 26%  downloading  4/8 conn  limit off`,
 * then each mirror's rate for a job with several URLs.
 */
export const JobSummary = memo(function JobSummary({ job, width, isColor }: JobSummaryProps) {
  const size = job.sizeBytes === null ? '?' : formatBytes(job.sizeBytes);
  const facts = [
    `${formatBytes(job.doneBytes)} / ${size} ${formatPercent(job.doneBytes, job.sizeBytes)}`,
    `${job.connections}/${job.maxConnections} conn`,
    `limit ${formatLimit(job.limitBytesPerSec)}`,
  ].join('  ');
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text {...tint(isColor, { bold: true })}>
          #{job.id} {job.fileName}
        </Text>
        <Text {...tint(isColor, { color: stateColor(job.state) })}> {job.state}</Text>
        <Text> {facts}</Text>
        <MirrorRates mirrors={job.mirrors} isColor={isColor} />
      </Text>
    </Box>
  );
});
