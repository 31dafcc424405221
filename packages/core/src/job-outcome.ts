/**
 * What a run records on its job when an attempt ends: completion, the failure (code and redacted
 * message, then state `failed`), or the reset before a restart from zero.
 */

import type { JobRow, Repos } from '@ddm/db';
import { toDdmError } from './errors.ts';
import { redactText } from './redact.ts';
import type { RunnerDeps } from './run-deps.ts';

/**
 * Records `error` on the job (code, redacted message), logs it and moves the job to `failed`.
 * @throws DdmError ERR_LOCK_LOST from `fenced`, or the DB's error when it cannot be recorded
 */
export function recordFailure(
  deps: Pick<RunnerDeps, 'log' | 'fenced' | 'repos' | 'transition'>,
  jobId: number,
  error: unknown,
): 'failed' {
  const ddmError = toDdmError(error);
  const code = ddmError.code;
  // Redacted before it is stored: the message may quote a signed URL or an echoed header.
  const message = redactText(ddmError.message);
  const stack =
    error instanceof Error ? `${error.stack}\ncaused by ${(error.cause as Error | undefined)?.stack}` : undefined;
  deps.log.warn('job failed', { jobId, code, message, stack });
  deps.fenced(() => deps.repos.jobs.update(jobId, { errorCode: code, errorMessage: message }));
  deps.transition(jobId, 'failed', message);
  return 'failed';
}

/**
 * Before a restart from zero: drops the job's segments and what it knew of the resource (size,
 * validators; Range support too when the restart is to one connection), and counts the restart.
 * @throws DdmError ERR_LOCK_LOST from `fenced`
 */
export function resetForRestart(
  deps: Pick<RunnerDeps, 'fenced' | 'repos'>,
  job: JobRow,
  isSingleConnection: boolean,
): void {
  const settings = { ...job.settings, restarts: (job.settings.restarts ?? 0) + 1 };
  const patch: Parameters<Repos['jobs']['update']>[1] = { settings, etag: null, lastModified: null, sizeBytes: null };
  if (isSingleConnection) {
    patch.acceptsRanges = false;
    patch.isResumable = false;
  }
  deps.fenced(() => {
    deps.repos.segments.deleteAll(job.id);
    deps.repos.jobs.update(job.id, patch);
  });
}

/**
 * The job is done: completion time, no error, no live row, state `completed`, in one fenced
 * transaction (the move to `completed` also wipes the job's credentials; see the engine).
 * @throws DdmError ERR_LOCK_LOST from `fenced`
 */
export function recordCompletion(deps: Pick<RunnerDeps, 'fenced' | 'repos' | 'transition'>, jobId: number): void {
  deps.fenced(() => {
    deps.repos.jobs.update(jobId, { completedAt: Date.now(), errorCode: null, errorMessage: null });
    deps.repos.live.delete(jobId);
    deps.transition(jobId, 'completed');
  });
}
