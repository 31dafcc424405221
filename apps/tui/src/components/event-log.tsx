import type { EngineEvent } from '@ddm/core';
import { Box, Text } from 'ink';
import { memo } from 'react';
import { describeEvent, type EventTone, formatClock } from '../lib/events.ts';
import { type NamedColor, tint } from '../lib/theme.ts';

export interface EventLogProps {
  /** Oldest first; the last `rows` are shown. */
  readonly events: readonly EngineEvent[];
  readonly rows: number;
  readonly width: number;
  readonly isColor: boolean;
}

const TONE_COLORS: Readonly<Record<EventTone, NamedColor | undefined>> = {
  info: undefined,
  success: 'green',
  warn: 'yellow',
  error: 'red',
};

/** The latest events, newest at the bottom, one line each. */
export const EventLog = memo(function EventLog({ events, rows, width, isColor }: EventLogProps) {
  const shown = events.slice(-Math.max(0, rows));
  return (
    <Box flexDirection="column" width={width} height={rows} overflow="hidden">
      {shown.length === 0 ? (
        <Text {...tint(isColor, { color: 'gray' })}>no events yet</Text>
      ) : (
        shown.map((event, index) => {
          const { text, tone } = describeEvent(event);
          const color = TONE_COLORS[tone];
          return (
            // Events have no id; the position from the end is stable for one frame.
            // biome-ignore lint/suspicious/noArrayIndexKey: see above
            <Text key={index} wrap="truncate-end">
              <Text {...tint(isColor, { color: 'gray' })}>{formatClock(event.at)} </Text>
              <Text {...tint(isColor, color === undefined ? {} : { color })}>{text}</Text>
            </Text>
          );
        })
      )}
    </Box>
  );
});
