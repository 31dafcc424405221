/** How a foreground download ends: each job's outcome printed, and the exit code (shared by get, wait, refresh, import-har). */
import type { JobSnapshot } from '@ddm/core';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes.ts';
import { jobJson, type Output } from './output.ts';

/** Prints each job's outcome; the exit code is the worst outcome's. */
export function reportJobs(out: Output, jobs: JobSnapshot[], isInterrupted: boolean): ExitCode {
  if (out.isJson) out.json({ jobs: jobs.map(jobJson) });
  let code: ExitCode = EXIT.ok;
  for (const job of jobs) {
    if (job.state === 'completed') {
      if (!out.isJson) out.line(`${job.path}`);
      continue;
    }
    if (job.state === 'failed') {
      out.error(`${job.errorMessage ?? 'download failed'} (job ${job.id}, ${job.errorCode ?? 'ERR'})`);
      const c = exitCodeFor(job.errorCode);
      code = code === EXIT.ok ? c : code;
      continue;
    }
    if (isInterrupted) {
      out.note(`Interrupted: job ${job.id} is checkpointed; continue with the same command, or: ddm run`);
      code = EXIT.interrupted;
    } else if (job.state === 'canceled') {
      out.note(`Job ${job.id} was canceled`);
      code = code === EXIT.ok ? EXIT.jobFailed : code;
    } else if (job.state === 'paused') {
      out.note(`Job ${job.id} is paused; continue with: ddm resume ${job.id}`);
      code = code === EXIT.ok ? EXIT.jobFailed : code;
    } else {
      out.note(`Job ${job.id} is ${job.state}; continue with: ddm run`);
      code = code === EXIT.ok ? EXIT.jobFailed : code;
    }
  }
  if (isInterrupted) return EXIT.interrupted;
  return code;
}
