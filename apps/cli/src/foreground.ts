/** Runs (or waits for) jobs in the foreground with a progress display. Shared by get, run, wait, demo. */
import { DdmError, type Engine, type JobSnapshot, type RunSummary } from '@ddm/core';
import type { Context } from './context.ts';
import { createProgressPrinter, type Output } from './output.ts';

export interface ForegroundResult {
  jobs: JobSnapshot[];
  isInterrupted: boolean;
}

const FINAL = ['completed', 'failed', 'canceled'];

/**
 * Runs an engine in this process. With `jobIds` (`ddm get`) and another engine already running
 * on the DB, hands the jobs to it (an `adopt` command: a `get` engine then runs them too and
 * stays up until they end) and waits for their outcome; if that engine ends before it took them,
 * runs them here after all.
 */
export async function runInForeground(
  ctx: Context,
  out: Output,
  options: { jobIds?: number[]; isWatching?: boolean; engine?: Engine } = {},
): Promise<ForegroundResult> {
  const jobIds = options.jobIds;
  for (;;) {
    const other = jobIds ? ctx.store.runningEngine() : null;
    if (jobIds && other) {
      for (const id of jobIds) ctx.store.handOver(id);
      out.note(`ddm engine pid ${other.pid} is running on this database; it downloads job(s) ${jobIds.join(', ')}`);
      const waited = await waitForJobs(ctx, out, jobIds);
      if (!waited.isStranded) return waited;
      continue;
    }
    try {
      return await runHere(ctx, out, options);
    } catch (error) {
      // Another engine took the lock between the check and our start: hand the jobs to it.
      if (jobIds && error instanceof DdmError && error.code === 'ERR_ENGINE_BUSY') continue;
      throw error;
    }
  }
}

async function runHere(
  ctx: Context,
  out: Output,
  options: { jobIds?: number[]; isWatching?: boolean; engine?: Engine },
): Promise<ForegroundResult> {
  const engine = options.engine ?? ctx.createEngine();
  const printer = createProgressPrinter(out);
  let isInterrupted = false;
  const onSignal = () => {
    isInterrupted = true;
    engine.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const timer = setInterval(() => {
    // A frame that cannot be read (a busy or failing DB) is skipped: the engine reports the
    // failure itself; a timer must never throw.
    try {
      printer.update(engine.snapshot().jobs);
    } catch {}
  }, 500);
  let summary: RunSummary;
  try {
    summary = await engine.run({ isWatching: options.isWatching, jobIds: options.jobIds });
  } finally {
    clearInterval(timer);
    printer.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  const ids = options.jobIds ?? [...summary.completed, ...summary.failed, ...summary.interrupted];
  const snapshot = engine.snapshot();
  return { jobs: snapshot.jobs.filter((j) => ids.includes(j.id)), isInterrupted };
}

/**
 * Polls the DB until every job is final (or paused), printing progress. `isStranded`: it stopped
 * because no engine runs while a job still waits for one.
 */
export async function waitForJobs(
  ctx: Context,
  out: Output,
  jobIds: number[],
): Promise<ForegroundResult & { isStranded: boolean }> {
  const printer = createProgressPrinter(out);
  let isInterrupted = false;
  const onSignal = () => {
    isInterrupted = true;
  };
  process.on('SIGINT', onSignal);
  try {
    for (;;) {
      const jobs = ctx.store.snapshot().jobs.filter((j) => jobIds.includes(j.id));
      printer.update(jobs);
      const isDone = jobs.length < jobIds.length || jobs.every((j) => FINAL.includes(j.state) || j.state === 'paused');
      const isStranded =
        !ctx.store.runningEngine() && jobs.some((j) => !FINAL.includes(j.state) && j.state !== 'paused');
      if (isDone || isInterrupted || isStranded) {
        printer.done();
        return { jobs, isInterrupted, isStranded: isStranded && !isDone && !isInterrupted };
      }
      await Bun.sleep(250);
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}
