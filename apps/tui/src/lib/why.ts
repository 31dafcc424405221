/** The "why" line of a job: what the engine says, plus what the UI can add from recent events. */
import type { EngineEvent, JobSnapshot } from '@ddm/core';
import { formatDuration } from './format.ts';

/**
 * Why the job is the way it is. Starts from the engine's `why`, then the error of a failed job,
 * then a countdown for a segment that is waiting to retry (from the latest `segment-retry`
 * event of a segment whose status is still `retrying`), then the reason of the latest restart.
 *
 * @returns `null` when there is nothing to say.
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
  return parts.length === 0 ? null : parts.join(' · ');
}
