/**
 * Steering the engine from another process. The channel is the shared SQLite DB: a command is a
 * row in `commands`; the running engine notices the commit through `PRAGMA data_version` (a
 * cheap per-connection counter) within its poll interval, applies it, and marks it done. With
 * no engine running, the same command changes the job rows that the next run reads.
 */

import { type CommandKind, type CommandRow, dataVersion, type JobSummaryRow, type Repos } from '@ddm/db';
import { flushFreedBytes } from './credential-wipe.ts';
import { isLockHolderAlive } from './engine-lock.ts';
import { DdmError } from './errors.ts';
import { assertControlApplies, canCancel, canPause, canResume } from './job.ts';
import { JobsService, moveWhere } from './jobs-service.ts';
import { redactText } from './redact.ts';
import { storedJobSnapshot, storedSegment } from './snapshot.ts';
import type {
  AddOptions,
  EngineController,
  EngineEvent,
  EngineSnapshot,
  JobSnapshot,
  JobState,
  MirrorSnapshot,
  SegmentSnapshot,
} from './types.ts';

export interface RunningEngine {
  pid: number;
}

/** The live engine on this DB (heartbeat younger than `staleMs`), or null. */
export function runningEngine(repos: Repos, staleMs?: number): RunningEngine | null {
  const lock = repos.lock.get();
  return lock && isLockHolderAlive(lock, staleMs) ? { pid: lock.pid } : null;
}

export interface CommandResult {
  /** 'engine': a running engine applied it; 'offline': the DB was changed for the next run. */
  via: 'engine' | 'offline';
}

const POLL_MS = 25;

/**
 * Sends a command to the running engine and waits until it is applied, or applies it to the DB
 * directly when no engine runs.
 * @throws DdmError ERR_NOT_FOUND (no such job), ERR_ENGINE_BUSY (engine did not answer in time),
 *   ERR_ILLEGAL_TRANSITION.
 */
export async function sendCommand(
  repos: Repos,
  kind: CommandKind,
  jobId: number | null,
  arg: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<CommandResult> {
  if (jobId !== null && !repos.jobs.get(jobId)) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
  const engine = runningEngine(repos);
  if (!engine) {
    applyOffline(repos, kind, jobId, arg);
    return { via: 'offline' };
  }
  const id = repos.commands.enqueue(kind, jobId, arg);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const row = repos.commands.get(id);
    if (row?.doneAt) {
      if (row.error) throw new DdmError(row.error, { code: 'ERR_USAGE' });
      return { via: 'engine' };
    }
    await Bun.sleep(POLL_MS);
  }
  throw new DdmError(`The running engine (pid ${engine.pid}) did not apply "${kind}" within ${timeoutMs / 1000} s`, {
    code: 'ERR_ENGINE_BUSY',
  });
}

/** What the running engine exposes to the commands it applies (see `applyToEngine`). */
export interface CommandTarget {
  controller: EngineController & { move(jobId: number, where: 'top' | 'bottom'): Promise<void> };
  /** A `get` engine also runs this job (a second `ddm get` handed it over). */
  adopt(jobId: number): void;
  /** Look at the queue and the commands again now. */
  wake(): void;
}

/**
 * Applies a command that another process queued to the running engine. A refused verb says what
 * state the job is in (the sender prints it).
 * @throws DdmError ERR_ILLEGAL_TRANSITION, ERR_NOT_FOUND, ERR_USAGE (a bad `move`).
 */
export async function applyToEngine(repos: Repos, command: CommandRow, target: CommandTarget): Promise<void> {
  const id = command.jobId ?? -1;
  const arg = command.arg;
  const engine = target.controller;
  const job = repos.jobs.get(id);
  if (job) assertControlApplies(command.kind, id, job.state);
  switch (command.kind) {
    case 'pause':
      return engine.pause(id);
    case 'resume':
      return engine.resume(id);
    case 'cancel':
      return engine.cancel(id);
    case 'remove':
      return engine.remove(id, { deleteFiles: arg.deleteFiles === true });
    case 'limit':
      return engine.setLimit(command.jobId, (arg.bytesPerSec as number | null) ?? null);
    case 'connections':
      return engine.setConnections(id, Number(arg.connections));
    case 'move':
      return engine.move(id, moveWhere(arg));
    case 'adopt':
      return target.adopt(id);
    case 'refresh':
    case 'wake':
      return target.wake();
    default: {
      const never: never = command.kind;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

/** Moves a job for the next run, recording the event in the same transaction. */
function setState(jobs: JobsService, repos: Repos, jobId: number, to: JobState, reason: string): void {
  jobs.transition(jobId, to, {
    patch: to === 'queued' ? { errorCode: null, errorMessage: null } : {},
    inTransaction: (from) => repos.events.append(jobId, 'job-state', { jobId, from, to, reason: redactText(reason) }),
  });
}

/**
 * Applies a command to the DB for the next engine run, through the same job rules
 * (`canPause`, `canResume`, `canCancel`) and the same writer (`JobsService`) as the engine.
 * @throws DdmError ERR_ILLEGAL_TRANSITION (see `assertControlApplies`).
 */
export function applyOffline(
  repos: Repos,
  kind: CommandKind,
  jobId: number | null,
  arg: Record<string, unknown>,
): void {
  const jobs = new JobsService(repos);
  const job = jobId === null ? null : repos.jobs.get(jobId);
  if (job) assertControlApplies(kind, job.id, job.state);
  switch (kind) {
    case 'pause':
      // An interrupted job (probing/downloading with no engine) pauses straight from its state.
      if (job && canPause(job.state)) setState(jobs, repos, job.id, 'paused', 'paused by the user');
      return;
    case 'resume':
      if (job && canResume(job.state)) setState(jobs, repos, job.id, 'queued', 'resumed by the user');
      return;
    case 'cancel':
      if (job && canCancel(job.state)) setState(jobs, repos, job.id, 'canceled', 'canceled by the user');
      return;
    case 'remove':
      if (job) {
        jobs.remove(job, arg.deleteFiles === true);
        flushFreedBytes(repos);
      }
      return;
    case 'limit':
      if (job) jobs.setOptions(job.id, { limitBytesPerSec: (arg.bytesPerSec as number | null) ?? null });
      return;
    case 'connections':
      if (job) jobs.setOptions(job.id, { connections: Number(arg.connections) });
      return;
    case 'move':
      if (job) jobs.move(job.id, moveWhere(arg));
      return;
    case 'refresh':
    case 'wake':
    case 'adopt':
      return;
    default: {
      const never: never = kind;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

export interface SnapshotFromDbOptions {
  /**
   * Read every job's segments (the heatmap of an attached TUI). Without them (`ddm status`)
   * each job's done bytes and segment count are summed in SQL and `segments` is empty, except
   * for jobs the running engine reports live.
   * @default true
   */
  withSegments?: boolean;
}

/**
 * A snapshot from the DB alone: what `status` and an attached TUI show. A fixed number of
 * queries whatever the number of jobs (jobs, every segment or their sums, live rows, the lock),
 * read in one transaction so the parts agree.
 */
export function snapshotFromDb(repos: Repos, options: SnapshotFromDbOptions = {}): EngineSnapshot {
  const now = Date.now();
  const withSegments = options.withSegments ?? true;
  const { rows, segmentsByJob, liveRows, engine } = repos.db
    .transaction(() => ({
      rows: withSegments ? repos.jobs.list() : repos.jobs.summaries(),
      segmentsByJob: withSegments ? repos.segments.listAll() : null,
      liveRows: repos.live.all(),
      engine: runningEngine(repos),
    }))
    .deferred();
  const live = new Map(liveRows.map((l) => [l.jobId, l]));
  const jobs: JobSnapshot[] = rows.map((job) => {
    const l = engine ? live.get(job.id) : undefined;
    let base: JobSnapshot;
    if (l) base = storedJobSnapshot(job, l.segments as SegmentSnapshot[]);
    else if (segmentsByJob) base = storedJobSnapshot(job, (segmentsByJob.get(job.id) ?? []).map(storedSegment));
    else {
      const summary = job as JobSummaryRow;
      base = storedJobSnapshot(summary, [], { writtenBytes: summary.segmentWrittenBytes, count: summary.segmentCount });
    }
    if (!l) return base;
    const rate = l.rateBytesPerSec;
    return {
      ...base,
      rateBytesPerSec: rate,
      connections: l.connections,
      mirrors: l.mirrors && l.mirrors.length > 0 ? (l.mirrors as MirrorSnapshot[]) : base.mirrors,
      etaSec: base.sizeBytes !== null && rate > 0 ? (base.sizeBytes - base.doneBytes) / rate : null,
    };
  });
  return Object.freeze({
    at: now,
    jobs,
    activeJobs: jobs.filter((j) => ['probing', 'downloading', 'verifying'].includes(j.state)).length,
    rateBytesPerSec: jobs.reduce((s, j) => s + j.rateBytesPerSec, 0),
    connections: jobs.reduce((s, j) => s + j.connections, 0),
    limitBytesPerSec: null,
    isAttached: engine !== null,
  });
}

/**
 * An EngineController for an engine that runs in another process: snapshots and events come from
 * the DB, actions go through `sendCommand`.
 */
export class AttachedController implements EngineController {
  private lastEventId: number;
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private cached: EngineSnapshot | null = null;
  private lastVersion = -1;

  constructor(
    private readonly repos: Repos,
    private readonly addJob: (url: string, options?: AddOptions) => Promise<number>,
  ) {
    this.lastEventId = repos.events.lastId();
  }

  snapshot(): EngineSnapshot {
    const version = dataVersion(this.repos.db);
    if (!this.cached || version !== this.lastVersion || Date.now() - this.cached.at > 500) {
      this.cached = snapshotFromDb(this.repos);
      this.lastVersion = version;
    }
    return this.cached;
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => this.pollEvents(), 250);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /**
   * The event timer's pass; never throws (a timer has nobody to throw to). A DB that cannot be
   * read now is tried again on the next tick, and `snapshot()` reports the failure to the UI; a
   * listener's error stays with that listener.
   */
  private pollEvents(): void {
    let rows: ReturnType<Repos['events']['since']>;
    try {
      rows = this.repos.events.since(this.lastEventId);
    } catch {
      return;
    }
    for (const row of rows) {
      this.lastEventId = row.id;
      const event = { type: row.type, at: row.at, ...row.data } as unknown as EngineEvent;
      for (const l of this.listeners) {
        try {
          l(event);
        } catch {
          // Same rule as Engine.emit: one listener's failure is not the channel's.
        }
      }
    }
  }

  add(url: string, options?: AddOptions): Promise<number> {
    return this.addJob(url, options);
  }
  async pause(jobId: number): Promise<void> {
    await sendCommand(this.repos, 'pause', jobId);
  }
  async resume(jobId: number): Promise<void> {
    await sendCommand(this.repos, 'resume', jobId);
  }
  async cancel(jobId: number): Promise<void> {
    await sendCommand(this.repos, 'cancel', jobId);
  }
  async remove(jobId: number, options: { deleteFiles?: boolean } = {}): Promise<void> {
    await sendCommand(this.repos, 'remove', jobId, { deleteFiles: options.deleteFiles === true });
  }
  async setConnections(jobId: number, connections: number): Promise<void> {
    await sendCommand(this.repos, 'connections', jobId, { connections });
  }
  async setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void> {
    await sendCommand(this.repos, 'limit', jobId, { bytesPerSec });
  }
}
