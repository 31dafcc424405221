import { controlVerdict, DdmError, FINAL_STATES, parseRate, sendCommand } from '@ddm/core';
import type { CommandKind } from '@ddm/db';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { parseIntFlag } from '../job-options.ts';
import type { Output } from '../output.ts';

function jobIds(ctx: Context, id: string | number | undefined, all: boolean | undefined, verb: string): number[] {
  if (all) return ctx.repos.jobs.list().map((j) => j.id);
  if (id === undefined) throw new DdmError(`Give a job id or --all to ${verb}`, { code: 'ERR_USAGE' });
  return [parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER)];
}

/** `ddm pause|resume|cancel <id|--all>`: acts on the running engine, or on the DB for the next run. */
export async function controlCommand(
  ctx: Context,
  out: Output,
  kind: Extract<CommandKind, 'pause' | 'resume' | 'cancel'>,
  id: string | number | undefined,
  flags: { all?: boolean },
): Promise<ExitCode> {
  const ids = jobIds(ctx, id, kind === 'cancel' ? false : flags.all, kind);
  for (const jobId of ids) {
    const job = ctx.repos.jobs.get(jobId);
    // --all touches only the jobs the verb applies to: pause what may still run, resume what is paused.
    if (flags.all && job) {
      const isSkipped =
        kind === 'resume' ? job.state !== 'paused' : job.state === 'paused' || FINAL_STATES.includes(job.state);
      if (isSkipped) continue;
    }
    if (!flags.all && job) {
      // Says what state the job is in instead of claiming an effect it did not have.
      const verdict = controlVerdict(kind, jobId, job.state);
      if (verdict.kind === 'refused') throw new DdmError(verdict.message, { code: 'ERR_ILLEGAL_TRANSITION' });
      if (verdict.kind === 'already') {
        out.line(verdict.message);
        continue;
      }
    }
    const { via } = await sendCommand(ctx.repos, kind, jobId);
    const done = { pause: 'paused', resume: 'resumed', cancel: 'canceled' }[kind];
    out.line(`${done} job ${jobId}${via === 'engine' ? '' : ' (no engine running: the next ddm run sees it)'}`);
  }
  return EXIT.ok;
}

/** `ddm remove <id> [--delete-files]`. */
export async function removeCommand(
  ctx: Context,
  out: Output,
  id: string | number,
  flags: { deleteFiles?: boolean },
): Promise<ExitCode> {
  const jobId = parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER);
  await sendCommand(ctx.repos, 'remove', jobId, { deleteFiles: Boolean(flags.deleteFiles) });
  out.line(`removed job ${jobId}${flags.deleteFiles ? ' and its files' : ''}`);
  return EXIT.ok;
}

/** `ddm limit <id|--global> <rate|off>`. */
export async function limitCommand(
  ctx: Context,
  out: Output,
  args: (string | number)[],
  flags: { global?: boolean },
): Promise<ExitCode> {
  const [first, second] = args.map(String);
  const rateText = flags.global ? first : second;
  if (rateText === undefined) throw new DdmError('Usage: ddm limit <id|--global> <rate|off>', { code: 'ERR_USAGE' });
  const bytesPerSec = parseRate(rateText);
  if (flags.global) {
    const { via } = await sendCommand(ctx.repos, 'limit', null, { bytesPerSec });
    if (via === 'offline') {
      out.note('No engine running: set max_bytes_per_sec in config.toml or use ddm run --limit');
      return EXIT.usage;
    }
    out.line(`global limit ${rateText}`);
    return EXIT.ok;
  }
  const jobId = parseIntFlag('job id', first as string, 1, Number.MAX_SAFE_INTEGER);
  await sendCommand(ctx.repos, 'limit', jobId, { bytesPerSec });
  out.line(`job ${jobId} limit ${bytesPerSec === null ? 'off' : rateText}`);
  return EXIT.ok;
}

/** `ddm move <id> --top|--bottom`. */
export async function moveCommand(
  ctx: Context,
  out: Output,
  id: string | number,
  flags: { top?: boolean; bottom?: boolean },
): Promise<ExitCode> {
  if (Boolean(flags.top) === Boolean(flags.bottom))
    throw new DdmError('Give exactly one of --top or --bottom', { code: 'ERR_USAGE' });
  const jobId = parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER);
  if (!ctx.repos.jobs.get(jobId)) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
  ctx.repos.jobs.move(jobId, flags.top ? 'top' : 'bottom');
  out.line(`moved job ${jobId} to the ${flags.top ? 'top' : 'bottom'} of its priority`);
  return EXIT.ok;
}
