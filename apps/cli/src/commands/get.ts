import { continueOrAddJob, DdmError, type JobSnapshot } from '@ddm/core';
import type { Context } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { downloadSpecs, type JobFlags, jobOptions, type ListFlags, withMirrors } from '../job-options.ts';
import type { Output } from '../output.ts';
import { reportJobs } from '../report-jobs.ts';

/**
 * `ddm get <url...> [-i FILE]`: run the downloads in the foreground; 0 only when all are
 * complete and verified. The same URL to the same folder and name continues the job that has
 * it (core `continueOrAddJob`); a completed one is reported complete unless `--overwrite`.
 */
export async function getCommand(
  ctx: Context,
  out: Output,
  urls: string[],
  flags: JobFlags & ListFlags,
): Promise<ExitCode> {
  const specs = await downloadSpecs(urls, flags);
  // Every URL and flag is checked before any job is added or any request sent.
  const prepared = specs.map((spec) => ({ spec, options: withMirrors(jobOptions(ctx, spec.flags), spec.mirrors) }));
  const other = ctx.store.runningEngine();
  if (other && prepared.some(({ options }) => options.secrets)) {
    throw new DdmError(
      `The ddm engine (pid ${other.pid}) running on this database would download this job, but cannot receive a -H Cookie kept in memory: add --remember-cookies, or stop it first`,
      { code: 'ERR_USAGE' },
    );
  }
  const engine = ctx.createEngine();
  const ids: number[] = [];
  const complete: number[] = [];
  for (const { spec, options } of prepared) {
    const result = await continueOrAddJob(engine, spec.url, {
      ...options,
      isContinuingPartial: flags.continue === true,
      environment: ctx.requestEnvironment(),
    });
    if (result.message) out.note(result.message);
    if (result.action === 'complete') complete.push(result.jobId);
    else ids.push(result.jobId);
  }
  for (const id of complete) {
    const [job] = engine.jobSnapshots([id]);
    if (job) out.note(`Already complete (job ${id}; --overwrite downloads it again): ${job.path}`);
  }
  const result = ids.length > 0 ? await runInForeground(ctx, out, { jobIds: ids, engine }) : null;
  const all = [...complete, ...ids];
  const snapshot = engine.jobSnapshots(all);
  const jobs = all
    .map((id) => result?.jobs.find((j) => j.id === id) ?? snapshot.find((j) => j.id === id))
    .filter((j): j is JobSnapshot => j !== undefined);
  return reportJobs(out, jobs, result?.isInterrupted ?? false, result?.doneLines);
}
