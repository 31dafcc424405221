import { Box, Text } from 'ink';
import { memo } from 'react';
import type { Mode, StatusMessage } from '../lib/key-map.ts';
import { tint } from '../lib/theme.ts';

export interface PromptLineProps {
  readonly mode: Mode;
  readonly status: StatusMessage | null;
  /** Name of the job a confirm question is about, when known. */
  readonly jobName: string | null;
  readonly width: number;
  readonly isColor: boolean;
}

/** The question or input label for a mode; `null` in modes without a prompt. */
export function promptText(mode: Mode, jobName: string | null): string | null {
  const subject = (jobId: number): string => (jobName === null ? `job #${jobId}` : `job #${jobId} (${jobName})`);
  switch (mode.kind) {
    case 'confirm-cancel':
      return `Cancel ${subject(mode.jobId)}? (y/n)`;
    case 'confirm-remove':
      return `Remove ${subject(mode.jobId)}? (y = keep files, D = delete files, n)`;
    case 'input-url':
      return 'Add URL: ';
    case 'input-limit':
      return mode.jobId === null ? 'Global limit (e.g. 2M, off): ' : `Limit for job #${mode.jobId} (e.g. 2M, off): `;
    case 'normal':
    case 'help':
      return null;
    default: {
      const unhandled: never = mode;
      return unhandled;
    }
  }
}

/**
 * The line above the key hints: a confirm question, an input line with its cursor, or the status
 * of the last action (errors from the engine included).
 */
export const PromptLine = memo(function PromptLine({ mode, status, jobName, width, isColor }: PromptLineProps) {
  const prompt = promptText(mode, jobName);
  const isInput = mode.kind === 'input-url' || mode.kind === 'input-limit';
  const value = isInput ? mode.value : '';
  // Keep the end of a long URL in view: that is where the user is typing.
  const room = Math.max(1, width - (prompt?.length ?? 0) - 2);
  const visibleValue = value.length > room ? `…${value.slice(-(room - 1))}` : value;
  return (
    <Box width={width} height={1}>
      {prompt === null ? (
        <Text wrap="truncate-end" {...tint(isColor, status?.tone === 'error' ? { color: 'red' } : { color: 'gray' })}>
          {status?.text ?? ''}
        </Text>
      ) : (
        <Text wrap="truncate-end">
          <Text {...tint(isColor, { bold: true, color: 'yellow' })}>{prompt}</Text>
          {isInput ? <Text>{visibleValue}</Text> : null}
          {isInput ? isColor ? <Text inverse> </Text> : <Text>_</Text> : null}
          {status?.tone === 'error' ? <Text {...tint(isColor, { color: 'red' })}> {status.text}</Text> : null}
        </Text>
      )}
    </Box>
  );
});
