import type { EngineSnapshot } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatLimit, formatRate } from '../lib/format.ts';
import { tint } from '../lib/theme.ts';

export interface HeaderProps {
  readonly snapshot: EngineSnapshot;
  readonly title: string;
  /** Attached to an engine in another process; `snapshot.isAttached` also turns this on. */
  readonly isAttached: boolean;
  readonly width: number;
  readonly isColor: boolean;
}

/** One line: title, active jobs, total rate, open connections, global limit, attached marker. */
export const Header = memo(function Header({ snapshot, title, isAttached, width, isColor }: HeaderProps) {
  const stats = [
    `${snapshot.activeJobs} active`,
    `↓ ${formatRate(snapshot.rateBytesPerSec)}`,
    `${snapshot.connections} conn`,
    `limit ${formatLimit(snapshot.limitBytesPerSec)}`,
  ].join(' · ');
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text {...tint(isColor, { bold: true, color: 'cyan' })}>{title}</Text>
        {isAttached || snapshot.isAttached ? <Text {...tint(isColor, { color: 'yellow' })}> [attached]</Text> : null}
        <Text> {stats}</Text>
      </Text>
    </Box>
  );
});
