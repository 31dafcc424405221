import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { jobJson, type Output } from '../output.ts';
import { jobsExitCode, unfinishedNote } from '../report-jobs.ts';

/**
 * `ddm run`: run queued and interrupted jobs until none is left (or, with --watch, until
 * stopped). Reports every job it ran; its exit code follows the README table like get and wait
 * (`jobsExitCode`): a job it ran that ended paused or canceled makes it 1, not 0.
 */
export async function runCommand(ctx: Context, out: Output, flags: { watch?: boolean }): Promise<ExitCode> {
  const result = await runInForeground(ctx, out, { isWatching: Boolean(flags.watch) });
  if (out.isJson) out.json({ jobs: result.jobs.map(jobJson) });
  else {
    for (const j of result.jobs) {
      if (j.state === 'completed') {
        const summary = result.doneLines.get(j.id);
        if (summary !== undefined) out.note(summary);
        out.line(`completed #${j.id} ${j.path}`);
      } else if (j.state === 'failed') out.error(`job ${j.id} failed: ${j.errorCode}: ${j.errorMessage}`);
      else if (!result.isInterrupted) out.note(unfinishedNote(j));
    }
  }
  if (result.isInterrupted) {
    out.note('Interrupted: progress is checkpointed; continue with: ddm run');
    return EXIT.interrupted;
  }
  // The failing jobs' own codes (5 for a disk problem, 4 for a checksum, ...), as `ddm get`.
  return jobsExitCode(result.jobs, false);
}
