/** The job state machine. Every move is checked against this table and persisted before it is announced. */
import { DdmError } from './errors.ts';
import type { JobState } from './types.ts';

export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['probing', 'paused', 'canceled', 'failed'],
  probing: ['downloading', 'queued', 'paused', 'failed', 'canceled'],
  downloading: ['verifying', 'probing', 'queued', 'paused', 'failed', 'canceled'],
  verifying: ['completed', 'failed', 'queued', 'paused', 'canceled'],
  paused: ['queued', 'canceled'],
  failed: ['queued', 'canceled'],
  canceled: ['queued'],
  completed: [],
};

/** States in which the engine works on a job; a job found in one of them at start-up was interrupted. */
export const ACTIVE_STATES: readonly JobState[] = ['probing', 'downloading', 'verifying'];
export const FINAL_STATES: readonly JobState[] = ['completed', 'failed', 'canceled'];

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** @throws DdmError ERR_ILLEGAL_TRANSITION */
export function assertTransition(jobId: number, from: JobState, to: JobState): void {
  if (!canTransition(from, to)) {
    throw new DdmError(`Job ${jobId} cannot go from ${from} to ${to}`, { code: 'ERR_ILLEGAL_TRANSITION' });
  }
}
