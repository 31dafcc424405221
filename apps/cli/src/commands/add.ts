import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { type JobFlags, jobOptions } from '../job-options.ts';
import type { Output } from '../output.ts';

/** `ddm add <url...>`: queue jobs and print their ids. Validates every URL before adding any. */
export async function addCommand(ctx: Context, out: Output, urls: string[], flags: JobFlags): Promise<ExitCode> {
  if (urls.length === 0) throw new DdmError('Nothing to add: give at least one URL', { code: 'ERR_USAGE' });
  const engine = ctx.createEngine();
  const options = jobOptions(ctx, flags);
  for (const url of urls) {
    try {
      new URL(String(url));
    } catch {
      throw new DdmError(`Invalid URL: ${url}`, { code: 'ERR_INVALID_URL' });
    }
  }
  const ids = ctx.repos.db.transaction(() => urls.map((url) => engine.addJob(String(url), options)))();
  if (out.isJson) out.json({ ids });
  else for (const id of ids) out.data(String(id));
  return EXIT.ok;
}
