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
      out.note(`Interrupted: job ${job.id} is checkpointed; continue with: ddm run`);
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
