import { Box, Text } from 'ink';
import { memo } from 'react';
import { tint } from '../lib/theme.ts';

export interface WhyLineProps {
  /** From `whyText()`; `null` when there is nothing to explain. */
  readonly text: string | null;
  readonly isError: boolean;
  readonly width: number;
  readonly isColor: boolean;
}

/** `why: single connection: server sent no Accept-Ranges`; an empty line when there is nothing to say. */
export const WhyLine = memo(function WhyLine({ text, isError, width, isColor }: WhyLineProps) {
  return (
    <Box width={width} height={1}>
      {text === null ? null : (
        <Text wrap="truncate-end">
          <Text {...tint(isColor, { color: 'gray' })}>why: </Text>
          <Text {...tint(isColor, isError ? { color: 'red' } : {})}>{text}</Text>
        </Text>
      )}
    </Box>
  );
});
