import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { parseIntFlag } from '../job-options.ts';
import { jobDetail, jobJson, type Output, statusTable } from '../output.ts';

/** `ddm status [id]`: every job (or one, with its why and recent events). */
export async function statusCommand(ctx: Context, out: Output, id: string | number | undefined): Promise<ExitCode> {
  // A listing needs no segment rows: their sums come from SQL (10,000 jobs in one query).
  const snapshot = ctx.store.snapshot({ withSegments: false });
  if (id === undefined) {
    if (out.isJson) out.json({ engineRunning: snapshot.isAttached, jobs: snapshot.jobs.map(jobJson) });
    else out.data(statusTable(snapshot.jobs));
    return EXIT.ok;
  }
  const jobId = parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER);
  const job = snapshot.jobs.find((j) => j.id === jobId);
  if (!job) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
  if (out.isJson) out.json(jobJson(job));
  else out.data(jobDetail(job, ctx.store.eventsForJob(jobId, 15)));
  return EXIT.ok;
}
