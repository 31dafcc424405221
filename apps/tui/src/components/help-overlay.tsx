import { Box, Text } from 'ink';
import { memo } from 'react';
import { tint } from '../lib/theme.ts';

export interface HelpOverlayProps {
  readonly rows: number;
  readonly width: number;
  readonly isColor: boolean;
}

export const HELP_LINES: readonly (readonly [key: string, action: string])[] = [
  ['↑/↓ or k/j', 'select a job (g/G first/last)'],
  ['p or space', 'pause or resume the selected job'],
  ['c', 'cancel the selected job (asks)'],
  ['d', 'remove the selected job (asks; D also deletes its files)'],
  ['a', 'add a URL'],
  ['+ / -', 'one connection more / fewer for the selected job'],
  ['l', 'speed limit of the selected job (e.g. 2M, 500k, off)'],
  ['L', 'global speed limit'],
  ['?', 'this help'],
  ['q or Ctrl+C', 'quit (downloads are checkpointed; an attached TUI leaves the engine running)'],
];

/** The key reference, in place of the job detail while `?` is on. */
export const HelpOverlay = memo(function HelpOverlay({ rows, width, isColor }: HelpOverlayProps) {
  return (
    <Box flexDirection="column" width={width} height={rows} overflow="hidden">
      <Text {...tint(isColor, { bold: true })}>Keys</Text>
      {HELP_LINES.map(([key, action]) => (
        <Text key={key} wrap="truncate-end">
          <Text {...tint(isColor, { bold: true, color: 'cyan' })}>{key.padEnd(13)}</Text>
          {action}
        </Text>
      ))}
      <Text {...tint(isColor, { color: 'gray' })}>
        Heatmap: ░▒▓█ written, ▸ writing, ! stalled, ↻ retrying, ╎ split start
      </Text>
    </Box>
  );
});
