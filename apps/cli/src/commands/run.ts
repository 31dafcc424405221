import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { jobJson, type Output } from '../output.ts';
import { jobsExitCode } from './get.ts';

/** `ddm run`: run queued and interrupted jobs until none is left (or, with --watch, until stopped). */
export async function runCommand(ctx: Context, out: Output, flags: { watch?: boolean }): Promise<ExitCode> {
  const result = await runInForeground(ctx, out, { isWatching: Boolean(flags.watch) });
  const failed = result.jobs.filter((j) => j.state === 'failed');
  const completed = result.jobs.filter((j) => j.state === 'completed');
  if (out.isJson) out.json({ jobs: result.jobs.map(jobJson) });
  else {
    for (const j of completed) out.line(`completed #${j.id} ${j.path}`);
    for (const j of failed) out.error(`job ${j.id} failed: ${j.errorCode}: ${j.errorMessage}`);
  }
  if (result.isInterrupted) {
    out.note('Interrupted: progress is checkpointed; continue with: ddm run');
    return EXIT.interrupted;
  }
  // The failing jobs' own codes (5 for a disk problem, 4 for a checksum, ...), as `ddm get`.
  return jobsExitCode(result.jobs, false);
}
