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
  /** The pid of the engine attached to, when known: the marker then names it. */
  readonly attachedPid?: number | null;
  readonly width: number;
  readonly isColor: boolean;
}

/**
 * One line: title, the attached marker (once: `[attached to engine pid 4242]`), active jobs,
 * total rate, open connections, global limit.
 */
export const Header = memo(function Header({
  snapshot,
  title,
  isAttached,
  attachedPid = null,
  width,
  isColor,
}: HeaderProps) {
  const stats = [
    `${snapshot.activeJobs} active`,
    `↓ ${formatRate(snapshot.rateBytesPerSec)}`,
    `${snapshot.connections} conn`,
    `limit ${formatLimit(snapshot.limitBytesPerSec)}`,
  ].join(' · ');
  const marker = attachedPid === null ? ' [attached]' : ` [attached to engine pid ${attachedPid}]`;
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text {...tint(isColor, { bold: true, color: 'cyan' })}>{title}</Text>
        {isAttached || snapshot.isAttached ? <Text {...tint(isColor, { color: 'yellow' })}>{marker}</Text> : null}
        <Text> {stats}</Text>
      </Text>
    </Box>
  );
});
