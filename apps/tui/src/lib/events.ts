/** One line of text per engine event, for the event log. */
import type { EngineEvent } from '@ddm/core';
import { formatBytes, formatDuration, formatLimit } from './format.ts';

export type EventTone = 'info' | 'warn' | 'error' | 'success';

export interface DescribedEvent {
  readonly text: string;
  readonly tone: EventTone;
}

/**
 * Describes an event for humans. The `switch` is exhaustive: a new `EngineEvent` type is a
 * compile error here until it is handled.
 */
export function describeEvent(event: EngineEvent): DescribedEvent {
  switch (event.type) {
    case 'job-added':
      return { text: `#${event.jobId} added ${event.url}`, tone: 'info' };
    case 'job-state': {
      const reason = event.reason === null ? '' : `: ${event.reason}`;
      const tone: EventTone = event.to === 'failed' ? 'error' : event.to === 'completed' ? 'success' : 'info';
      return { text: `#${event.jobId} ${event.from} → ${event.to}${reason}`, tone };
    }
    case 'segments-planned': {
      const size = event.sizeBytes === null ? 'unknown size' : formatBytes(event.sizeBytes);
      const noun = event.count === 1 ? 'segment' : 'segments';
      return { text: `#${event.jobId} planned ${event.count} ${noun} over ${size}`, tone: 'info' };
    }
    case 'segment-split':
      return {
        text: `#${event.jobId} split segment ${event.from} at ${formatBytes(event.atByte)} → segment ${event.to}`,
        tone: 'info',
      };
    case 'segment-retry':
      return {
        text: `#${event.jobId} segment ${event.index} retry ${event.attempt} in ${formatDuration(event.delayMs / 1000)}: ${event.code} ${event.message}`,
        tone: 'warn',
      };
    case 'job-restarted':
      return { text: `#${event.jobId} restarted: ${event.code} ${event.reason}`, tone: 'warn' };
    case 'job-why':
      return { text: `#${event.jobId} ${event.why}`, tone: 'info' };
    case 'job-removed':
      return { text: `#${event.jobId} removed`, tone: 'info' };
    case 'limit-changed': {
      const subject = event.jobId === null ? 'global limit' : `#${event.jobId} limit`;
      return { text: `${subject} ${formatLimit(event.bytesPerSec)}`, tone: 'info' };
    }
    case 'connections-changed':
      return { text: `#${event.jobId} connections → ${event.connections}`, tone: 'info' };
    default: {
      const unhandled: never = event;
      return { text: `unknown event ${JSON.stringify(unhandled)}`, tone: 'info' };
    }
  }
}

/** `HH:MM:SS` in local time. */
export function formatClock(atMs: number): string {
  const date = new Date(atMs);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
