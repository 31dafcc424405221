import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine, formatBytes, openJobStore } from '@ddm/core';
import type { Context } from '../context.ts';
import { type DemoRole, startDemoServer } from '../demo-server.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import type { Output } from '../output.ts';

const FINAL_STATES = new Set(['completed', 'failed', 'canceled']);

/** What the demo showed, counted from the engine's events. */
interface Shown {
  splits: number;
  retries: number;
  pauses: number;
}

/**
 * `ddm demo [--headless] [--quick] [-d DIR]`: local servers with synthetic files, capped per
 * connection (one file on 4 connections raised to 8, so its ranges split, with a slow request
 * restarted; one server that answers 503 before it works; one without Range support; one the
 * demo pauses and resumes), downloaded with a temp job DB. Over 20 s; `--quick` runs the same
 * in a few seconds.
 *
 * Everything the demo writes lives in one temp dir, deleted on exit (Ctrl+C and q included);
 * with `-d DIR` the downloaded files are kept in DIR.
 */
export async function demoCommand(
  ctx: Context,
  out: Output,
  flags: { headless?: boolean; quick?: boolean; dir?: string },
): Promise<ExitCode> {
  const work = mkdtempSync(join(tmpdir(), 'ddm-demo-'));
  const isKept = flags.dir !== undefined && flags.dir !== '';
  const dir = isKept ? String(flags.dir) : join(work, 'downloads');
  try {
    const store = openJobStore(join(work, 'demo.db'));
    try {
      await using demo = await startDemoServer({ isQuick: flags.quick === true });
      const engine = store.createEngine({
        // Small enough splits for the quick scenario's files.
        settings: {
          ...ctx.settings,
          parallelJobs: 4,
          maxConnectionsPerHost: 16,
          minSplitBytes: 256 * 1024,
          retryBaseDelayMs: 300,
        },
        log: ctx.log,
        env: {},
      });
      const roles = new Map<number, DemoRole>();
      for (const file of demo.files) {
        roles.set(engine.addJob(file.url, { dir, connections: file.connections }), file.role);
      }
      out.note(`ddm demo: ${roles.size} downloads from local test servers${isKept ? ` into ${dir}` : ''}`);
      const script = startScript(engine, roles, { pauseMs: flags.quick ? 1000 : 4000 });
      let isInterrupted = false;
      try {
        const isTui = !flags.headless && process.stdout.isTTY && process.stdin.isTTY;
        if (isTui) {
          const { runTui } = await import('@ddm/tui');
          const running = engine.run({ isWatching: true });
          await runTui(engine, { title: 'ddm demo', onQuit: () => engine.stop() });
          engine.stop();
          await running;
        } else {
          const demoCtx = { ...ctx, store, createEngine: () => engine };
          ({ isInterrupted } = await runInForeground(demoCtx, out, { engine, isWatching: true }));
        }
      } finally {
        script.stop();
      }
      return report(engine, out, script.shown, { keptIn: isKept ? dir : null, isInterrupted });
    } finally {
      store.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Connections the script gives the `split` file once a quarter is in (it starts with fewer). */
const SPLIT_RAISED_CONNECTIONS = 8;

/**
 * The demo's script, on a 100 ms poll. Once a quarter of a file is in: the `split` file gets
 * more connections (the engine splits its running ranges for them), the `pause` file is paused
 * and resumed `pauseMs` later. Stops the engine (which watches, so a pause does not end it) once
 * every job is final and nothing is left to do.
 */
function startScript(
  engine: Engine,
  roles: ReadonlyMap<number, DemoRole>,
  options: { pauseMs: number },
): { shown: Shown; stop(): void } {
  const shown: Shown = { splits: 0, retries: 0, pauses: 0 };
  const unsubscribe = engine.subscribe((event) => {
    if (event.type === 'segment-split') shown.splits++;
    else if (event.type === 'segment-retry') shown.retries++;
    else if (event.type === 'job-state' && event.to === 'paused') shown.pauses++;
  });
  const pending = new Set([...roles].filter(([, role]) => role === 'split' || role === 'pause').map(([id]) => id));
  let resumeTimer: ReturnType<typeof setTimeout> | null = null;
  let isResumePending = false;
  const act = (id: number): void => {
    if (roles.get(id) === 'split') {
      void engine.setConnections(id, SPLIT_RAISED_CONNECTIONS).catch(() => {});
      return;
    }
    isResumePending = true;
    void engine.pause(id).then(
      () => {
        resumeTimer = setTimeout(() => {
          isResumePending = false;
          void engine.resume(id).catch(() => {});
        }, options.pauseMs);
      },
      () => {
        isResumePending = false;
      },
    );
  };
  const poll = setInterval(() => {
    const jobs = engine.snapshot().jobs;
    for (const job of jobs) {
      if (!pending.has(job.id)) continue;
      const isQuarterIn = job.doneBytes * 4 >= (job.sizeBytes ?? Number.POSITIVE_INFINITY);
      if (job.state === 'downloading' && isQuarterIn) {
        pending.delete(job.id);
        act(job.id);
      } else if (FINAL_STATES.has(job.state)) {
        pending.delete(job.id);
      }
    }
    if (!isResumePending && jobs.every((job) => FINAL_STATES.has(job.state))) engine.stop();
  }, 100);
  return {
    shown,
    stop() {
      clearInterval(poll);
      if (resumeTimer !== null) clearTimeout(resumeTimer);
      unsubscribe();
    },
  };
}

/**
 * One line per job, what was shown, and the outcome. Jobs stopped by the user (q in the
 * dashboard, or a signal) are no failure: exit 0 after q, 130 after a signal.
 */
function report(
  engine: Engine,
  out: Output,
  shown: Shown,
  { keptIn, isInterrupted }: { keptIn: string | null; isInterrupted: boolean },
): ExitCode {
  const jobs = engine.snapshot().jobs;
  let isOk = true;
  for (const job of jobs) {
    const ok = job.state === 'completed';
    isOk &&= ok;
    const isFailed = job.state === 'failed';
    const mark = ok ? 'ok  ' : isFailed ? 'FAIL' : 'stop';
    const note = ok ? (job.why ?? '') : isFailed ? `${job.errorCode}: ${job.errorMessage}` : 'stopped before the end';
    out.line(`${mark} ${job.fileName.padEnd(28)} ${formatBytes(job.sizeBytes ?? 0).padStart(10)}  ${note}`);
  }
  const isStopped = !isOk && jobs.every((job) => job.state !== 'failed');
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  out.line(
    `Shown: ${count(shown.splits, 'split', 'splits')}, ${count(shown.retries, 'retry', 'retries')}, ${count(shown.pauses, 'pause', 'pauses')}`,
  );
  const where = keptIn === null ? '(the demo deleted its files; -d DIR keeps them)' : `in ${keptIn}`;
  out.line(
    isOk
      ? `All demo downloads complete ${where}`
      : isStopped
        ? `Demo stopped before its downloads finished ${where}`
        : 'Some demo downloads did not complete',
  );
  if (isOk) return EXIT.ok;
  if (isStopped) return isInterrupted ? EXIT.interrupted : EXIT.ok;
  return EXIT.jobFailed;
}
