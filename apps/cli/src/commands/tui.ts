import type { EngineController, JobSnapshot } from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { jobOptions } from '../job-options.ts';
import type { Output } from '../output.ts';

/**
 * `ddm tui`: the full-screen dashboard. Runs the engine in this process, or attaches to the
 * engine already running on the DB and steers it through the same channel as the CLI.
 */
export async function tuiCommand(ctx: Context, out: Output): Promise<ExitCode> {
  if (!process.stdout.isTTY) {
    out.error('ddm tui needs a terminal (stdout is not a TTY); use ddm status or ddm run instead');
    return EXIT.usage;
  }
  const { runTui } = await import('@ddm/tui');
  const other = ctx.store.runningEngine();
  if (other) {
    const adder = ctx.createEngine();
    const controller = ctx.store.attach(async (url, options) => {
      const id = adder.addJob(url, { ...jobOptions(ctx, {}), ...options });
      return id;
    });
    await runTui(controller, { title: 'ddm', isAttached: true, attachedPid: other.pid });
    const note = unfinishedNote(controller.snapshot().jobs, { attachedPid: other.pid });
    if (note !== null) out.note(note);
    return EXIT.ok;
  }
  const engine = ctx.createEngine();
  // run() takes the engine lock before its first await: if it cannot (another engine won the
  // race since the check above, or the DB refused), `running` is already rejected, and runTui
  // ends with that error instead of drawing a UI that nothing feeds.
  const running = engine.run({ isWatching: true });
  const defaults = jobOptions(ctx, {});
  const controller: EngineController = {
    snapshot: () => engine.snapshot(),
    subscribe: (listener) => engine.subscribe(listener),
    add: (url, options = {}) => engine.add(url, { ...defaults, ...options }),
    pause: (id) => engine.pause(id),
    resume: (id) => engine.resume(id),
    cancel: (id) => engine.cancel(id),
    remove: (id, options) => engine.remove(id, options),
    setConnections: (id, n) => engine.setConnections(id, n),
    setLimit: (id, rate) => engine.setLimit(id, rate),
  };
  let note: string | null = null;
  await runTui(controller, {
    title: 'ddm',
    engineRun: running,
    // Checkpoints the running jobs (they go back to queued) before the process exits.
    onQuit: async () => {
      note = unfinishedNote(engine.snapshot().jobs, { attachedPid: null });
      engine.stop();
      await running;
    },
  });
  if (note !== null) out.note(note);
  return EXIT.ok;
}

const OPEN_STATES: ReadonlySet<JobSnapshot['state']> = new Set(['queued', 'probing', 'downloading', 'verifying']);

/**
 * What happens to the unfinished jobs once the dashboard is gone, in one line, or null when
 * there are none: an in-process engine checkpointed them (`ddm run` continues them; paused ones
 * wait for `ddm resume`); an attached engine keeps running them.
 */
export function unfinishedNote(jobs: readonly JobSnapshot[], where: { attachedPid: number | null }): string | null {
  const open = jobs.filter((job) => OPEN_STATES.has(job.state));
  const paused = jobs.filter((job) => job.state === 'paused');
  const count = (n: number) => `${n} unfinished job${n === 1 ? '' : 's'}`;
  if (where.attachedPid !== null) {
    return open.length === 0
      ? null
      : `${count(open.length)} keep running in the ddm engine (pid ${where.attachedPid}); ddm status shows them`;
  }
  const parts: string[] = [];
  if (open.length > 0) parts.push(`${count(open.length)} checkpointed: ddm run continues them`);
  if (paused.length > 0) {
    const ids = paused.map((job) => `#${job.id}`).join(' ');
    parts.push(`${paused.length} paused (${ids}) stay paused until ddm resume <id>`);
  }
  return parts.length === 0 ? null : parts.join('; ');
}
