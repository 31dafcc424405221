import { canPause, controlVerdict, DdmError, parseRate } from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { parseIntFlag } from '../job-options.ts';
import type { Output } from '../output.ts';

/** Most ids one range may name, so a typo (`1-99999999`) does not queue millions of commands. */
const MAX_RANGE_IDS = 10_000;

/**
 * Job ids from arguments: ids and inclusive ranges (`3`, `3-7`, `3,5`), in order, without repeats.
 * @throws DdmError ERR_USAGE naming the argument.
 */
export function parseJobIds(args: readonly (string | number)[]): number[] {
  const ids: number[] = [];
  for (const arg of args.flatMap((a) => String(a).split(','))) {
    const range = /^(\d+)-(\d+)$/.exec(arg.trim());
    if (range) {
      const from = parseIntFlag('job id', range[1] as string, 1, Number.MAX_SAFE_INTEGER);
      const to = parseIntFlag('job id', range[2] as string, 1, Number.MAX_SAFE_INTEGER);
      if (to < from || to - from >= MAX_RANGE_IDS) {
        throw new DdmError(`Invalid job id range (from low to high, at most ${MAX_RANGE_IDS} ids): ${arg}`, {
          code: 'ERR_USAGE',
        });
      }
      for (let id = from; id <= to; id++) ids.push(id);
    } else {
      ids.push(parseIntFlag('job id', arg.trim(), 1, Number.MAX_SAFE_INTEGER));
    }
  }
  return [...new Set(ids)];
}

function jobIds(ctx: Context, args: readonly (string | number)[], all: boolean | undefined, verb: string): number[] {
  if (all) return ctx.store.jobs().map((j) => j.id);
  if (args.length === 0) throw new DdmError(`Give job ids (3 5-7) or --all to ${verb}`, { code: 'ERR_USAGE' });
  const ids = parseJobIds(args);
  // A range may name ids that were removed; a single id that does not exist is an error below.
  return args.length === 1 && /^\d+$/.test(String(args[0]).trim())
    ? ids
    : ids.filter((id) => ctx.store.job(id) !== null);
}

/** `ddm pause|resume|cancel <id|--all>`: acts on the running engine, or on the DB for the next run. */
export async function controlCommand(
  ctx: Context,
  out: Output,
  kind: 'pause' | 'resume' | 'cancel',
  args: readonly (string | number)[],
  flags: { all?: boolean },
): Promise<ExitCode> {
  const ids = jobIds(ctx, args, kind === 'cancel' ? false : flags.all, kind);
  for (const jobId of ids) {
    const job = ctx.store.job(jobId);
    // --all touches only the jobs the verb applies to: pause what may still run, resume what is paused.
    if (flags.all && job) {
      const isSkipped = kind === 'resume' ? job.state !== 'paused' : !canPause(job.state);
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
    const { via } = await ctx.store.send(kind, jobId);
    const done = { pause: 'paused', resume: 'resumed', cancel: 'canceled' }[kind];
    out.line(`${done} job ${jobId}${via === 'engine' ? '' : ' (no engine running: the next ddm run sees it)'}`);
  }
  return EXIT.ok;
}

/** `ddm remove <ids...> [--delete-files]`. */
export async function removeCommand(
  ctx: Context,
  out: Output,
  args: readonly (string | number)[],
  flags: { deleteFiles?: boolean },
): Promise<ExitCode> {
  for (const jobId of jobIds(ctx, args, false, 'remove')) {
    await ctx.store.send('remove', jobId, { deleteFiles: Boolean(flags.deleteFiles) });
    out.line(`removed job ${jobId}${flags.deleteFiles ? ' and its files' : ''}`);
  }
  return EXIT.ok;
}

/**
 * `ddm clear [--completed|--failed|--all]`: forgets finished jobs (completed by default; failed;
 * or completed, failed and canceled). Their files stay.
 */
export async function clearCommand(
  ctx: Context,
  out: Output,
  flags: { completed?: boolean; failed?: boolean; all?: boolean },
): Promise<ExitCode> {
  const states = flags.all
    ? ['completed', 'failed', 'canceled']
    : [...(flags.completed || !flags.failed ? ['completed'] : []), ...(flags.failed ? ['failed'] : [])];
  const jobs = ctx.store.jobs().filter((job) => states.includes(job.state));
  for (const job of jobs) await ctx.store.send('remove', job.id, { deleteFiles: false });
  if (out.isJson) out.json({ cleared: jobs.map((j) => j.id) });
  else out.line(`cleared ${jobs.length} job${jobs.length === 1 ? '' : 's'} (${states.join(', ')}); files kept`);
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
    const { via } = await ctx.store.send('limit', null, { bytesPerSec });
    if (via === 'offline') {
      out.note('No engine running: set max_bytes_per_sec in config.toml or use ddm run --limit');
      return EXIT.usage;
    }
    out.line(`global limit ${rateText}`);
    return EXIT.ok;
  }
  const jobId = parseIntFlag('job id', first as string, 1, Number.MAX_SAFE_INTEGER);
  await ctx.store.send('limit', jobId, { bytesPerSec });
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
  // A command like any other: the running engine applies it, or the DB changes for the next run.
  await ctx.store.send('move', jobId, { where: flags.top ? 'top' : 'bottom' });
  out.line(`moved job ${jobId} to the ${flags.top ? 'top' : 'bottom'} of its priority`);
  return EXIT.ok;
}
