import { AttachedController, type EngineController, runningEngine } from '@ddm/core';
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
  const other = runningEngine(ctx.repos);
  if (other) {
    const adder = ctx.createEngine();
    const controller = new AttachedController(ctx.repos, async (url, options) => {
      const id = adder.addJob(url, { ...jobOptions(ctx, {}), ...options });
      return id;
    });
    await runTui(controller, { title: `ddm (attached to engine pid ${other.pid})`, isAttached: true });
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
  await runTui(controller, {
    title: 'ddm',
    engineRun: running,
    // Checkpoints the running jobs (they go back to queued) before the process exits.
    onQuit: async () => {
      engine.stop();
      await running;
    },
  });
  return EXIT.ok;
}
