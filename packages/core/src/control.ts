/**
 * Steering the engine from another process. The channel is the shared SQLite DB: a command is a
 * row in `commands`; the running engine notices the commit through `PRAGMA data_version` (a
 * cheap per-connection counter) within its poll interval, applies it, and marks it done. With
 * no engine running, the same command changes the job rows that the next run reads.
 */

import { type CommandKind, dataVersion, type Repos } from '@ddm/db';
import { flushFreedBytes } from './credential-wipe.ts';
import { isLockHolderAlive, removeJobRow, storedJobSnapshot, storedSegment } from './engine.ts';
import { DdmError } from './errors.ts';
import { canTransition, FINAL_STATES } from './job.ts';
import { redactText } from './redact.ts';
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

/** What a pause, resume or cancel does to a job in a given state. */
export type ControlVerdict =
  | { kind: 'apply' }
  /** The job is already where the command would take it (or on its way): nothing to do. */
  | { kind: 'already'; message: string }
  /** The command makes no sense in this state (pause a completed job). */
  | { kind: 'refused'; message: string };

/**
 * Whether `kind` applies to job `jobId` in `state`, and if not, a message saying what state the
 * job is in. One table for the CLI, the running engine and the offline path.
 */
export function controlVerdict(kind: 'pause' | 'resume' | 'cancel', jobId: number, state: JobState): ControlVerdict {
  const job = `Job ${jobId}`;
  const final: Partial<Record<JobState, string>> = {
    completed: `${job} is already complete`,
    failed: `${job} has failed`,
    canceled: `${job} is canceled`,
  };
  switch (kind) {
    case 'pause':
      if (state === 'paused') return { kind: 'already', message: `${job} is already paused` };
      if (state === 'completed' || state === 'failed' || state === 'canceled') {
        return { kind: 'refused', message: `${final[state]}: nothing to pause` };
      }
      return { kind: 'apply' };
    case 'resume':
      if (state === 'completed') return { kind: 'refused', message: `${job} is already complete: nothing to resume` };
      if (state === 'queued') return { kind: 'already', message: `${job} is already queued (ddm run downloads it)` };
      if (state === 'probing' || state === 'downloading' || state === 'verifying') {
        return { kind: 'already', message: `${job} is already ${state}` };
      }
      return { kind: 'apply' };
    case 'cancel':
      if (state === 'canceled') return { kind: 'already', message: `${job} is already canceled` };
      if (state === 'completed') {
        return {
          kind: 'refused',
          message: `${job} is already complete: nothing to cancel (ddm remove ${jobId} forgets it)`,
        };
      }
      return { kind: 'apply' };
    default: {
      const never: never = kind;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

/**
 * Throws when `kind` is refused for the job's current state (see `controlVerdict`).
 * @throws DdmError ERR_ILLEGAL_TRANSITION saying what state the job is in.
 */
export function assertControlApplies(kind: CommandKind, jobId: number, state: JobState): void {
  if (kind !== 'pause' && kind !== 'resume' && kind !== 'cancel') return;
  const verdict = controlVerdict(kind, jobId, state);
  if (verdict.kind === 'refused') throw new DdmError(verdict.message, { code: 'ERR_ILLEGAL_TRANSITION' });
}

function setState(repos: Repos, jobId: number, to: JobState, reason: string): void {
  const job = repos.jobs.get(jobId);
  if (!job || job.state === to) return;
  if (!canTransition(job.state, to)) {
    throw new DdmError(`Job ${jobId} cannot go from ${job.state} to ${to}`, { code: 'ERR_ILLEGAL_TRANSITION' });
  }
  repos.db.transaction(() => {
    repos.jobs.update(jobId, to === 'queued' ? { state: to, errorCode: null, errorMessage: null } : { state: to });
    repos.events.append(jobId, 'job-state', { jobId, from: job.state, to, reason: redactText(reason) });
  })();
}

/** Applies a command to the DB for the next engine run. */
export function applyOffline(
  repos: Repos,
  kind: CommandKind,
  jobId: number | null,
  arg: Record<string, unknown>,
): void {
  const job = jobId === null ? null : repos.jobs.get(jobId);
  if (job) assertControlApplies(kind, job.id, job.state);
  switch (kind) {
    case 'pause':
      if (job && !FINAL_STATES.includes(job.state) && job.state !== 'paused') {
        // An interrupted job (probing/downloading with no engine) pauses via the queue.
        if (!canTransition(job.state, 'paused')) setState(repos, job.id, 'queued', 'interrupted');
        setState(repos, job.id, 'paused', 'paused by the user');
      }
      return;
    case 'resume':
      if (job && ['paused', 'failed', 'canceled'].includes(job.state))
        setState(repos, job.id, 'queued', 'resumed by the user');
      return;
    case 'cancel':
      if (job && job.state !== 'completed' && job.state !== 'canceled')
        setState(repos, job.id, 'canceled', 'canceled by the user');
      return;
    case 'remove':
      if (job) {
        removeJobRow(repos, job, arg.deleteFiles === true);
        flushFreedBytes(repos);
      }
      return;
    case 'limit':
      if (job) repos.jobs.update(job.id, { limitBytesPerSec: (arg.bytesPerSec as number | null) ?? null });
      return;
    case 'connections':
      if (job) repos.jobs.update(job.id, { connections: Number(arg.connections) });
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

/**
 * A snapshot from the DB alone: what `status` and an attached TUI show. A fixed number of
 * queries whatever the number of jobs (jobs, every segment, live rows, the lock), read in one
 * transaction so the parts agree.
 */
export function snapshotFromDb(repos: Repos): EngineSnapshot {
  const now = Date.now();
  const { rows, segmentsByJob, liveRows, engine } = repos.db
    .transaction(() => ({
      rows: repos.jobs.list(),
      segmentsByJob: repos.segments.listAll(),
      liveRows: repos.live.all(),
      engine: runningEngine(repos),
    }))
    .deferred();
  const live = new Map(liveRows.map((l) => [l.jobId, l]));
  const jobs: JobSnapshot[] = rows.map((job) => {
    const l = engine ? live.get(job.id) : undefined;
    const segments: SegmentSnapshot[] = l
      ? (l.segments as SegmentSnapshot[])
      : (segmentsByJob.get(job.id) ?? []).map(storedSegment);
    const base = storedJobSnapshot(job, segments);
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

  private pollEvents(): void {
    for (const row of this.repos.events.since(this.lastEventId)) {
      this.lastEventId = row.id;
      const event = { type: row.type, at: row.at, ...row.data } as unknown as EngineEvent;
      for (const l of this.listeners) l(event);
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
