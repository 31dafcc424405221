/** The job state machine. Every move is checked against this table and persisted before it is announced. */
import type { CommandKind } from '@ddm/db';
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

/** A pause applies to a job that may still run: one the table lets move to `paused`. */
export function canPause(state: JobState): boolean {
  return canTransition(state, 'paused');
}

/**
 * A resume applies to a job that stopped and may run again: one that is not being worked on
 * and that the table lets move back to `queued` (paused, failed, canceled).
 */
export function canResume(state: JobState): boolean {
  return !ACTIVE_STATES.includes(state) && canTransition(state, 'queued');
}

/** A cancel applies to any job the table lets move to `canceled`. */
export function canCancel(state: JobState): boolean {
  return canTransition(state, 'canceled');
}

/** What a pause, resume or cancel does to a job in a given state. */
export type ControlVerdict =
  | { kind: 'apply' }
  /** The job is already where the command would take it (or on its way): nothing to do. */
  | { kind: 'already'; message: string }
  /** The command makes no sense in this state (pause a completed job). */
  | { kind: 'refused'; message: string };

/**
 * Whether `kind` applies to job `jobId` in `state` (`canPause`, `canResume`, `canCancel`), and if
 * not, a message saying what state the job is in. One rule for the CLI, the running engine and
 * the offline path.
 */
export function controlVerdict(kind: 'pause' | 'resume' | 'cancel', jobId: number, state: JobState): ControlVerdict {
  const job = `Job ${jobId}`;
  switch (kind) {
    case 'pause':
      if (canPause(state)) return { kind: 'apply' };
      if (state === 'paused') return { kind: 'already', message: `${job} is already paused` };
      return { kind: 'refused', message: `${finalStateText(job, state)}: nothing to pause` };
    case 'resume':
      if (canResume(state)) return { kind: 'apply' };
      if (state === 'queued') return { kind: 'already', message: `${job} is already queued (ddm run downloads it)` };
      if (ACTIVE_STATES.includes(state)) return { kind: 'already', message: `${job} is already ${state}` };
      return { kind: 'refused', message: `${job} is already complete: nothing to resume` };
    case 'cancel':
      if (canCancel(state)) return { kind: 'apply' };
      if (state === 'canceled') return { kind: 'already', message: `${job} is already canceled` };
      return {
        kind: 'refused',
        message: `${job} is already complete: nothing to cancel (ddm remove ${jobId} forgets it)`,
      };
    default: {
      const never: never = kind;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

function finalStateText(job: string, state: JobState): string {
  if (state === 'completed') return `${job} is already complete`;
  if (state === 'failed') return `${job} has failed`;
  return `${job} is canceled`;
}

/**
 * Throws when `kind` is refused for the job's current state (see `controlVerdict`); other
 * command kinds always apply.
 * @throws DdmError ERR_ILLEGAL_TRANSITION saying what state the job is in.
 */
export function assertControlApplies(kind: CommandKind, jobId: number, state: JobState): void {
  if (kind !== 'pause' && kind !== 'resume' && kind !== 'cancel') return;
  const verdict = controlVerdict(kind, jobId, state);
  if (verdict.kind === 'refused') throw new DdmError(verdict.message, { code: 'ERR_ILLEGAL_TRANSITION' });
}
