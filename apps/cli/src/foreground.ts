/** Runs (or waits for) jobs in the foreground with a progress display. Shared by get, run, wait, demo. */
import {
  DdmError,
  type Engine,
  type EngineSnapshot,
  type JobSnapshot,
  parseChecksumSpec,
  type RunSummary,
} from '@ddm/core';
import type { Context } from './context.ts';
import { createProgressPrinter, doneLine, type JobRunStats, type Output } from './output.ts';

export interface ForegroundResult {
  jobs: JobSnapshot[];
  isInterrupted: boolean;
  /** The summary line of each job that completed while this process watched it. */
  doneLines: Map<number, string>;
}

const FINAL = ['completed', 'failed', 'canceled'];
const ACTIVE = ['probing', 'downloading', 'verifying'];

/**
 * What a foreground run saw of each job (start, bytes at start, most connections at once), from
 * the snapshots it polls, for the summary line. A job it never saw active (done between two
 * polls) counts from `startedAt` and its segments stand in for the connections; with no
 * `startedAt` (a wait, which did not start anything) such a job gets no summary.
 */
export class RunStats {
  private readonly seen = new Map<number, { startMs: number; startDoneBytes: number; peakConnections: number }>();

  constructor(
    private readonly startedAt: number | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the clock of these jobs now (the jobs a `get` or `wait` was given), unless they already ended. */
  begin(jobs: readonly JobSnapshot[]): void {
    for (const job of jobs) {
      if (!this.seen.has(job.id) && !FINAL.includes(job.state)) {
        this.seen.set(job.id, { startMs: this.now(), startDoneBytes: job.doneBytes, peakConnections: 0 });
      }
    }
  }

  observe(jobs: readonly JobSnapshot[]): void {
    for (const job of jobs) {
      if (!ACTIVE.includes(job.state) && !this.seen.has(job.id)) continue;
      this.begin([job]);
      const entry = this.seen.get(job.id);
      if (entry) entry.peakConnections = Math.max(entry.peakConnections, job.connections);
    }
  }

  /** What this run saw of the job, or null when it saw none of it (see the class). */
  statsFor(job: JobSnapshot): JobRunStats | null {
    const seen = this.seen.get(job.id);
    if (seen === undefined && this.startedAt === null) return null;
    const entry = seen ?? { startMs: this.startedAt ?? 0, startDoneBytes: 0, peakConnections: 0 };
    const endMs = job.completedAt ?? this.now();
    const doneBytes = job.state === 'completed' ? (job.sizeBytes ?? job.doneBytes) : job.doneBytes;
    const bySegments = Math.min(job.segments.length, job.maxConnections);
    return {
      elapsedMs: Math.max(0, endMs - entry.startMs),
      fetchedBytes: Math.max(0, doneBytes - entry.startDoneBytes),
      connectionsUsed: Math.max(1, entry.peakConnections, bySegments),
    };
  }

  /** The summary lines of the completed jobs among `jobs`; `checksumOf` gives a job's checksum spec. */
  doneLines(jobs: readonly JobSnapshot[], checksumOf: (id: number) => string | null): Map<number, string> {
    const lines = new Map<number, string>();
    for (const job of jobs) {
      const stats = job.state === 'completed' ? this.statsFor(job) : null;
      if (stats === null) continue;
      const spec = checksumOf(job.id);
      lines.set(job.id, doneLine(job, stats, spec ? parseChecksumSpec(spec).algo : null));
    }
    return lines;
  }
}

function checksumOf(ctx: Context): (id: number) => string | null {
  return (id) => {
    try {
      return ctx.store.job(id)?.checksum ?? null;
    } catch {
      // A summary never fails a finished download.
      return null;
    }
  };
}

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
  const stats = new RunStats(Date.now());
  if (options.jobIds) stats.begin(engine.jobSnapshots(options.jobIds));
  // Every job this run moved (a `ddm run` whose job was paused or canceled reports it too).
  const touched = new Set<number>();
  const unsubscribe = engine.subscribe((event) => {
    if (event.type === 'job-state' && event.to !== 'queued') touched.add(event.jobId);
  });
  const stopOn = stopEngineOnSignals(engine);
  const timer = setInterval(() => {
    // A frame that cannot be read (a busy or failing DB) is skipped: the engine reports the
    // failure itself; a timer must never throw.
    try {
      // A `get` shows and measures its own jobs only: in a DB of 10,000 jobs the full snapshot
      // would be built for nothing.
      const jobs = options.jobIds ? engine.jobSnapshots(options.jobIds) : engine.snapshot().jobs;
      stats.observe(jobs);
      printer.update(jobs);
    } catch {}
  }, 500);
  let summary: RunSummary;
  try {
    summary = await engine.run({ isWatching: options.isWatching, jobIds: options.jobIds });
  } finally {
    clearInterval(timer);
    unsubscribe();
    printer.done();
    stopOn.dispose();
  }
  const ids = options.jobIds ?? [
    ...new Set([...summary.completed, ...summary.failed, ...summary.interrupted, ...touched]),
  ];
  const jobs = engine.jobSnapshots(ids);
  return { jobs, isInterrupted: stopOn.isInterrupted, doneLines: stats.doneLines(jobs, checksumOf(ctx)) };
}

/**
 * Ctrl+C, SIGTERM and SIGHUP stop the engine (its jobs are checkpointed and go back to the
 * queue) instead of killing the process; `isInterrupted` says whether one came.
 */
export function stopEngineOnSignals(engine: Pick<Engine, 'stop'>): {
  readonly isInterrupted: boolean;
  dispose(): void;
} {
  const state = { isInterrupted: false };
  const onSignal = () => {
    state.isInterrupted = true;
    engine.stop();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  return {
    get isInterrupted() {
      return state.isInterrupted;
    },
    dispose: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}

/** The part of the job store a wait reads. */
export interface WaitSource {
  runningEngine(): unknown;
  snapshot(): Pick<EngineSnapshot, 'jobs'>;
}

/**
 * One look at the jobs a wait waits for. The engine is looked for BEFORE the jobs are read: an
 * engine persists every state before it lets go of the lock, so jobs read after it was seen gone
 * show its last word (a job paused just before its `get` engine ended reads paused, never the
 * `downloading` of a row read a moment earlier).
 */
export function pollWait(
  source: WaitSource,
  jobIds: readonly number[],
): { jobs: JobSnapshot[]; isDone: boolean; isStranded: boolean } {
  const isEngineRunning = source.runningEngine() !== null;
  const jobs = source.snapshot().jobs.filter((j) => jobIds.includes(j.id));
  const isDone = jobs.length < jobIds.length || jobs.every((j) => FINAL.includes(j.state) || j.state === 'paused');
  const isStranded = !isDone && !isEngineRunning;
  return { jobs, isDone, isStranded };
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
  const stats = new RunStats(null);
  let isFirst = true;
  let isInterrupted = false;
  const onSignal = () => {
    isInterrupted = true;
  };
  process.on('SIGINT', onSignal);
  try {
    for (;;) {
      const poll = pollWait(ctx.store, jobIds);
      if (isFirst) stats.begin(poll.jobs);
      isFirst = false;
      stats.observe(poll.jobs);
      printer.update(poll.jobs);
      if (poll.isDone || isInterrupted || poll.isStranded) {
        printer.done();
        return {
          jobs: poll.jobs,
          isInterrupted,
          isStranded: poll.isStranded && !isInterrupted,
          doneLines: stats.doneLines(poll.jobs, checksumOf(ctx)),
        };
      }
      await Bun.sleep(250);
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}
