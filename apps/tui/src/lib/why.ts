/** The "why" line of a job: what the engine says, plus what the UI can add from recent events. */
import type { EngineEvent, JobSnapshot } from '@ddm/core';
import { formatDuration } from './format.ts';

/**
 * Why the job is the way it is. Starts from the engine's `why`, then the error of a failed job,
 * then a countdown for a segment that is waiting to retry (from the latest `segment-retry`
 * event of a segment whose status is still `retrying`), then the reason of the latest restart;
 * without any of these, what the job's state means ({@link stateReason}).
 *
 * @returns `null` when there is nothing to say (the line is then left empty).
 */
export function whyText(job: JobSnapshot, events: readonly EngineEvent[], nowMs: number): string | null {
  const parts: string[] = [];
  if (job.why !== null && job.why !== '') parts.push(job.why);
  if (job.state === 'failed' && job.errorMessage !== null) {
    parts.push(job.errorCode === null ? job.errorMessage : `${job.errorCode}: ${job.errorMessage}`);
  }

  const retrying = new Set(job.segments.filter((segment) => segment.status === 'retrying').map((s) => s.index));
  let restart: Extract<EngineEvent, { type: 'job-restarted' }> | null = null;
  const retryByIndex = new Map<number, Extract<EngineEvent, { type: 'segment-retry' }>>();
  for (const event of events) {
    if (event.jobId !== job.id) continue;
    if (event.type === 'segment-retry' && retrying.has(event.index)) retryByIndex.set(event.index, event);
    if (event.type === 'job-restarted') restart = event;
  }
  for (const retry of retryByIndex.values()) {
    const leftSec = Math.max(0, (retry.at + retry.delayMs - nowMs) / 1000);
    parts.push(
      `segment ${retry.index} retrying in ${formatDuration(leftSec)} (${retry.code}, attempt ${retry.attempt})`,
    );
  }
  if (restart !== null && (job.why === null || !job.why.includes(restart.reason))) {
    parts.push(`restarted because ${restart.reason}`);
  }
  if (parts.length === 0) return stateReason(job);
  return parts.join(' · ');
}

/**
 * What the job is doing, from its state alone: the line's fallback when the engine gave no
 * reason, so the UI never shows an empty `why: -`. `null` for a finished job with nothing to say.
 */
export function stateReason(job: JobSnapshot): string | null {
  switch (job.state) {
    case 'queued':
      return 'queued: waits for a free download slot';
    case 'probing':
      return 'asking the server for the size and range support';
    case 'downloading':
      return `downloading over ${job.connections} of ${job.maxConnections} connection${job.maxConnections === 1 ? '' : 's'}`;
    case 'verifying':
      return 'verifying the checksum';
    case 'paused':
      return 'paused: p resumes';
    case 'canceled':
      return 'canceled: p starts it again';
    case 'failed':
      return 'failed: p retries';
    case 'completed':
      return null;
    default: {
      const unhandled: never = job.state;
      return unhandled;
    }
  }
}
