import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import { waitForJobs } from '../foreground.ts';
import { parseIntFlag } from '../job-options.ts';
import type { Output } from '../output.ts';
import { reportJobs } from '../report-jobs.ts';

/** `ddm wait <id...>`: block until those jobs end; exit with their outcome. */
export async function waitCommand(ctx: Context, out: Output, ids: (string | number)[]): Promise<ExitCode> {
  if (ids.length === 0) throw new DdmError('Give at least one job id to wait for', { code: 'ERR_USAGE' });
  const jobIds = ids.map((id) => parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER));
  for (const id of jobIds) if (!ctx.store.job(id)) throw new DdmError(`No such job: ${id}`, { code: 'ERR_NOT_FOUND' });
  const result = await waitForJobs(ctx, out, jobIds);
  return reportJobs(out, result.jobs, result.isInterrupted, result.doneLines);
}
