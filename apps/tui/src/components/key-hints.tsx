import { Box, Text } from 'ink';
import { memo } from 'react';
import type { Mode } from '../lib/key-map.ts';
import { tint } from '../lib/theme.ts';

export interface KeyHintsProps {
  readonly mode: Mode;
  readonly width: number;
  readonly isColor: boolean;
}

type Hint = readonly [key: string, action: string];

const NORMAL_HINTS: readonly Hint[] = [
  ['↑↓', 'move'],
  ['p', 'pause'],
  ['c', 'cancel'],
  ['d', 'remove'],
  ['a', 'add'],
  ['+-', 'conn'],
  ['l/L', 'limit'],
  ['?', 'help'],
  ['q', 'quit'],
];

/** The hints for a mode, most important first (the bar is cut at the right edge). */
export function hintsFor(mode: Mode): readonly Hint[] {
  switch (mode.kind) {
    case 'normal':
      return NORMAL_HINTS;
    case 'help':
      return [
        ['?/esc', 'close help'],
        ['q', 'quit'],
      ];
    case 'confirm-cancel':
      return [
        ['y', 'cancel the job'],
        ['n/esc', 'keep it'],
      ];
    case 'confirm-remove':
      return [
        ['y', 'remove, keep files'],
        ['D', 'remove and delete files'],
        ['n/esc', 'keep it'],
      ];
    case 'input-url':
    case 'input-limit':
      return [
        ['enter', 'ok'],
        ['esc', 'cancel'],
        ['ctrl+u', 'clear'],
      ];
    default: {
      const unhandled: never = mode;
      return unhandled;
    }
  }
}

/** One line of `key action` pairs. */
export const KeyHints = memo(function KeyHints({ mode, width, isColor }: KeyHintsProps) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        {hintsFor(mode).map(([key, action], index) => (
          <Text key={key}>
            {index === 0 ? '' : '  '}
            <Text {...tint(isColor, { bold: true, color: 'cyan' })}>{key}</Text>
            <Text {...tint(isColor, { color: 'gray' })}> {action}</Text>
          </Text>
        ))}
      </Text>
    </Box>
  );
});
