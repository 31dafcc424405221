import { Box, Text } from 'ink';
import { memo } from 'react';
import { formatRate } from '../lib/format.ts';
import { tint } from '../lib/theme.ts';

export interface RateSparklineProps {
  /** Rate samples, oldest first, one a second. */
  readonly samples: readonly number[];
  readonly width: number;
  readonly isColor: boolean;
}

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** One glyph per sample, scaled to the peak; 0 is blank so a stall reads as a gap. */
export function sparkline(samples: readonly number[], width: number): string {
  const shown = samples.slice(-Math.max(0, width));
  const peak = Math.max(0, ...shown);
  const glyphs = shown.map((value) => {
    if (value <= 0 || peak <= 0) return ' ';
    const level = Math.min(LEVELS.length - 1, Math.ceil((value / peak) * LEVELS.length) - 1);
    return LEVELS[Math.max(0, level)] ?? ' ';
  });
  return glyphs.join('').padStart(Math.max(0, width));
}

const LABEL = 'rate 60s ';

/** `rate 60s ▁▂▅▇█▇ peak 12.3 MiB/s` over the last 60 seconds (or fewer, when narrow). */
export const RateSparkline = memo(function RateSparkline({ samples, width, isColor }: RateSparklineProps) {
  const peak = Math.max(0, ...samples.slice(-60));
  const peakLabel = ` peak ${formatRate(peak)}`;
  const graphWidth = Math.max(0, Math.min(60, width - LABEL.length - peakLabel.length));
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end">
        <Text {...tint(isColor, { color: 'gray' })}>{LABEL}</Text>
        <Text {...tint(isColor, { color: 'cyan' })}>{sparkline(samples, graphWidth)}</Text>
        <Text {...tint(isColor, { color: 'gray' })}>{peakLabel}</Text>
      </Text>
    </Box>
  );
});
