import type { MirrorSnapshot } from '@ddm/core';
import { Text } from 'ink';
import { memo } from 'react';
import { formatRate } from '../lib/format.ts';
import { tint } from '../lib/theme.ts';

export interface MirrorRatesProps {
  /** The job's mirrors from its snapshot; nothing is shown for a job with a single URL. */
  readonly mirrors: readonly MirrorSnapshot[];
  readonly isColor: boolean;
}

/** A mirror's short name: its host, which is what tells two mirrors apart at a glance. */
export function mirrorLabel(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * Inline text for the job summary: `  mirrors a.example 4.1 MiB/s · b.example 1.0 MiB/s ·
 * c.example dropped`. A dropped mirror's reason is in the why line and in `ddm status <id>`.
 */
export const MirrorRates = memo(function MirrorRates({ mirrors, isColor }: MirrorRatesProps) {
  if (mirrors.length === 0) return null;
  return (
    <Text>
      {'  mirrors '}
      {mirrors.map((m, i) => (
        <Text key={m.url}>
          {i > 0 ? ' · ' : ''}
          {mirrorLabel(m.url)}{' '}
          {m.state === 'dropped' ? (
            <Text {...tint(isColor, { color: 'red' })}>dropped</Text>
          ) : m.state === 'checking' ? (
            <Text {...tint(isColor, { color: 'gray' })}>checking</Text>
          ) : (
            formatRate(m.rateBytesPerSec)
          )}
        </Text>
      ))}
    </Text>
  );
});
