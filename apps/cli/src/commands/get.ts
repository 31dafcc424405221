import { DdmError, type JobSnapshot, runningEngine } from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode, exitCodeFor } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { type JobFlags, jobOptions } from '../job-options.ts';
import { jobJson, type Output } from '../output.ts';

/** `ddm get <url>`: add one job and run it in the foreground; 0 only when complete and verified. */
export async function getCommand(ctx: Context, out: Output, url: string, flags: JobFlags): Promise<ExitCode> {
  const options = jobOptions(ctx, flags);
  const other = runningEngine(ctx.repos);
  if (options.secrets && other) {
    throw new DdmError(
      `The ddm engine (pid ${other.pid}) running on this database would download this job, but cannot receive a -H Cookie kept in memory: add --remember-cookies, or stop it first`,
      { code: 'ERR_USAGE' },
    );
  }
  const engine = ctx.createEngine();
  const id = engine.addJob(String(url), options);
  const result = await runInForeground(ctx, out, { jobIds: [id], engine });
  const job = result.jobs.find((j) => j.id === id);
  return reportJobs(out, job ? [job] : [], result.isInterrupted);
}

/** Prints each job's outcome; the exit code is the worst outcome's (see `jobsExitCode`). */
export function reportJobs(out: Output, jobs: JobSnapshot[], isInterrupted: boolean): ExitCode {
  if (out.isJson) out.json({ jobs: jobs.map(jobJson) });
  for (const job of jobs) {
    if (job.state === 'completed') {
      if (!out.isJson) out.line(`${job.path}`);
    } else if (job.state === 'failed') {
      out.error(`${job.errorMessage ?? 'download failed'} (job ${job.id}, ${job.errorCode ?? 'ERR'})`);
    } else if (isInterrupted) {
      out.note(`Interrupted: job ${job.id} is checkpointed; continue with: ddm run`);
    } else if (job.state === 'canceled') {
      out.note(`Job ${job.id} was canceled`);
    } else if (job.state === 'paused') {
      out.note(`Job ${job.id} is paused; continue with: ddm resume ${job.id}`);
    } else {
      out.note(`Job ${job.id} is ${job.state}; continue with: ddm run`);
    }
  }
  return jobsExitCode(jobs, isInterrupted);
}

/**
 * Most serious first: a disk or DB problem (5) outranks wrong data (4), a network failure (3),
 * bad input (2), a busy engine (6) and a job that merely did not finish (1).
 */
const EXIT_SEVERITY: readonly ExitCode[] = [EXIT.io, EXIT.integrity, EXIT.network, EXIT.usage, EXIT.engineBusy];

/**
 * The exit code of `get`, `run` and `wait` for these jobs: 130 when interrupted; 0 when all
 * completed; else the most serious code among the failed jobs' errors (`exitCodeFor`, ranked by
 * `EXIT_SEVERITY`); 1 for a job that failed without a mapped code, was canceled, or is paused or
 * still waiting.
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
