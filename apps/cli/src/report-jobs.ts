/** How a foreground download ends: each job's outcome printed, and the exit code (shared by get, run, wait, refresh, import-har). */
import type { JobSnapshot } from '@ddm/core';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes.ts';
import { jobJson, type Output } from './output.ts';

/**
 * Prints each job's outcome: for a completed one its summary line (from `doneLines`, on stderr,
 * silenced by --quiet) and its path (stdout, always: scripts read it); the exit code is
 * {@link jobsExitCode}'s.
 */
export function reportJobs(
  out: Output,
  jobs: JobSnapshot[],
  isInterrupted: boolean,
  doneLines: ReadonlyMap<number, string> = new Map(),
): ExitCode {
  if (out.isJson) out.json({ jobs: jobs.map(jobJson) });
  for (const job of jobs) {
    if (job.state === 'completed') {
      const summary = doneLines.get(job.id);
      if (!out.isJson && summary !== undefined) out.note(summary);
      if (!out.isJson) out.data(job.path);
    } else if (job.state === 'failed') {
      out.error(`${job.errorMessage ?? 'download failed'} (job ${job.id}, ${job.errorCode ?? 'ERR'})`);
    } else if (isInterrupted) {
      out.note(`Interrupted: job ${job.id} is checkpointed; continue with the same command, or: ddm run`);
    } else {
      out.note(unfinishedNote(job));
    }
  }
  return jobsExitCode(jobs, isInterrupted);
}

/** What a job that did not finish is waiting for, and the command that continues it. */
export function unfinishedNote(job: JobSnapshot): string {
  switch (job.state) {
    case 'canceled':
      return `Job ${job.id} was canceled`;
    case 'paused':
      return `Job ${job.id} is paused; continue with: ddm resume ${job.id}`;
    case 'queued':
      return `Job ${job.id} is queued; continue with: ddm run`;
    default:
      // Probing, downloading or verifying with no engine left to run it: interrupted.
      return `Job ${job.id} was interrupted while ${job.state} (no engine runs it now); continue with: ddm run`;
  }
}

/**
 * Most serious first: a disk or DB problem (5) outranks wrong data (4), a network failure (3),
 * bad input (2), a busy engine (6) and a job that merely did not finish (1).
 */
const EXIT_SEVERITY: readonly ExitCode[] = [
  EXIT.io,
  EXIT.integrity,
  EXIT.tls,
  EXIT.network,
  EXIT.usage,
  EXIT.engineBusy,
];

/**
 * The exit code of `get`, `run` and `wait` for these jobs (README "Exit codes"): 130 when
 * interrupted; 0 when all completed; else the most serious code among the failed jobs' errors
 * (`exitCodeFor`, ranked by `EXIT_SEVERITY`); 1 for a job that failed without a mapped code, was
 * canceled, is paused or still waits for an engine. A paused job is never a success: the file
 * is not there.
 */
export function jobsExitCode(jobs: readonly JobSnapshot[], isInterrupted: boolean): ExitCode {
  if (isInterrupted) return EXIT.interrupted;
  let code: ExitCode = EXIT.ok;
  for (const job of jobs) {
    if (job.state === 'completed') continue;
    const c = job.state === 'failed' ? exitCodeFor(job.errorCode) : EXIT.jobFailed;
    code = worseExit(code, c === EXIT.ok || c === EXIT.interrupted ? EXIT.jobFailed : c);
  }
  return code;
}

function worseExit(a: ExitCode, b: ExitCode): ExitCode {
  if (a === EXIT.ok) return b;
  const rank = (c: ExitCode) => {
    const i = EXIT_SEVERITY.indexOf(c);
    return i === -1 ? EXIT_SEVERITY.length : i;
  };
  return rank(b) < rank(a) ? b : a;
}
