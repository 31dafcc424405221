/**
 * The engine: owns the job DB, schedules jobs under the connection and speed limits, runs each
 * job with a JobRun, and is steered in-process (CLI, TUI) or from other processes through the
 * `commands` table, which it notices cheaply with `PRAGMA data_version`.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { type CommandRow, DbError, dataVersion, type JobRow, type JobSettings, type Repos } from '@ddm/db';
import { parseChecksumSpec } from './checksum.ts';
import { assertControlApplies } from './control.ts';
import { flushFreedBytes, wipeJobCredentials } from './credential-wipe.ts';
import { DdmError, type ErrorCode } from './errors.ts';
import { isSameFile, lstatOrNull } from './file-writer.ts';
import { fileNameFromResponse, freeFileName, sanitizeFileName } from './filename.ts';
import { runHook } from './hooks.ts';
import { parseHttpUrl, type RequestContext } from './http.ts';
import { ACTIVE_STATES, assertTransition, FINAL_STATES } from './job.ts';
import { type EventInput, JobRun, type RunOutcome } from './job-runner.ts';
import { type Logger, nullLogger } from './log.ts';
import { storedMirrorSnapshots } from './mirrors.ts';
import type { NetrcEntry } from './netrc.ts';
import { TokenBucket } from './rate-limit.ts';
import { redactDeep, redactUrl } from './redact.ts';
import { buildRequestContext } from './request-context.ts';
import { ConnectionPool } from './scheduler.ts';
import type { EngineSettings } from './settings.ts';
import type {
  AddOptions,
  EngineController,
  EngineEvent,
  EngineSnapshot,
  JobSnapshot,
  JobState,
  SegmentSnapshot,
} from './types.ts';

/** Credentials that live in this process only (not in the DB unless the user opted in). */
export interface JobSecrets {
  headers?: Record<string, string>;
  cookieHeaderFor?: (url: string) => string | null;
}

export interface EngineOptions {
  repos: Repos;
  settings: EngineSettings;
  log?: Logger;
  env?: Record<string, string | undefined>;
  /** `--proxy`: overrides config and environment; '' disables proxies. */
  flagProxy?: string;
  netrc?: NetrcEntry[];
  hooks?: { onComplete?: string; onError?: string };
  /** ms between checks for commands from other processes. */
  pollIntervalMs?: number;
  /** Dependency for tests and the CLI: the pid written into the engine lock. */
  pid?: number;
  /**
   * How long the lock's heartbeat may be silent before another engine may take the lock over
   * (and how long this engine waits before taking over a silent one). Writes are fenced by a
   * lease of a third of it. Tests set it low; users have no reason to.
   * @default 30_000
   */
  lockStaleMs?: number;
}

export interface RunOptions {
  /** Stay up and pick up jobs queued later (daemon mode). */
  isWatching?: boolean;
  /**
   * Only run these jobs (`ddm get`), and jobs handed over later by an `adopt` command (a second
   * `ddm get` while this one runs): the run ends when all of them ended.
   */
  jobIds?: readonly number[];
  signal?: AbortSignal;
}

export interface RunSummary {
  completed: number[];
  failed: number[];
  /** Interrupted by stop(): left queued for the next run. */
  interrupted: number[];
}

export const LOCK_STALE_MS = 30_000;
const HEARTBEAT_MS = 1000;
/** The share of the staleness window during which a confirmed lock may be written under without asking the DB. */
const LEASE_SHARE = 1 / 3;
const COMMAND_MAX_AGE_MS = 30_000;
const EVENTS_KEPT = 5000;

/**
 * True when the lock's holder is a live process on this host with a heartbeat younger than
 * `staleMs` (on another host: a recent heartbeat). A holder that is alive but frozen (SIGSTOP,
 * suspend) is not: its jobs may be taken over, and the lock's epoch fences it out.
 */
export function isLockHolderAlive(
  lock: { pid: number; hostname: string; heartbeatAt: number },
  staleMs = LOCK_STALE_MS,
): boolean {
  if (lock.hostname !== hostname()) return Date.now() - lock.heartbeatAt < staleMs;
  try {
    process.kill(lock.pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EPERM') return false;
  }
  if (isZombie(lock.pid)) return false;
  return Date.now() - lock.heartbeatAt < staleMs;
}

/** A killed process stays visible to kill(pid, 0) until it is reaped; /proc tells it is dead. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/**
 * The lock as this engine holds it: its epoch, and when it last proved from the DB that the lock
 * was still its own, on both clocks (see `checkLease`).
 */
interface HeldLock {
  readonly epoch: number;
  confirmedAtMonoMs: number;
  confirmedAtWallMs: number;
}

export class Engine implements EngineController {
  readonly repos: Repos;
  private settingsValue: EngineSettings;
  private readonly log: Logger;
  private readonly env: Record<string, string | undefined>;
  private readonly runs = new Map<number, JobRun>();
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly pool: ConnectionPool;
  private readonly globalBucket: TokenBucket;
  private readonly secrets = new Map<number, JobSecrets>();
  private readonly runEnded = new Map<number, Promise<RunOutcome>>();
  private wakeUp: (() => void) | null = null;
  private isRunning = false;
  private isStopping = false;
  private lastDataVersion = -1;
  private snapshotCache: EngineSnapshot | null = null;
  /** The jobs a `get` run is limited to (null: all); `adopt` adds to it. */
  private onlyJobs: Set<number> | null = null;
  private heldLock: HeldLock | null = null;
  /** Set once another engine took the lock over; every later write throws it. */
  private lockLost: DdmError | null = null;
  /** The first DB failure seen by a timer; `run()` ends with it. */
  private dbFailure: unknown = null;
  /** Snapshots of jobs that are not running, with the `updated_at` they were built from. */
  private readonly storedSnapshots = new Map<number, { updatedAt: number; snapshot: JobSnapshot }>();
  readonly pid: number;
  readonly lockStaleMs: number;

  constructor(private readonly options: EngineOptions) {
    this.repos = options.repos;
    this.settingsValue = options.settings;
    this.log = options.log ?? nullLogger;
    this.env = options.env ?? process.env;
    this.pid = options.pid ?? process.pid;
    this.lockStaleMs = options.lockStaleMs ?? LOCK_STALE_MS;
    this.pool = new ConnectionPool({
      maxGlobal: options.settings.maxConnectionsGlobal,
      maxPerHost: options.settings.maxConnectionsPerHost,
    });
    this.globalBucket = new TokenBucket(options.settings.maxBytesPerSec);
  }

  get settings(): EngineSettings {
    return this.settingsValue;
  }

  // ---- events ------------------------------------------------------------------------------

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(input: EventInput): void {
    // Redacted before it is stored or shown: a reason or message may quote a signed URL or a
    // header that a server echoed.
    const { type, ...fields } = input as EventInput & Record<string, unknown>;
    const data = redactDeep(fields) as Record<string, unknown>;
    const event = { ...data, type, at: Date.now() } as unknown as EngineEvent;
    const jobId = 'jobId' in event ? event.jobId : null;
    try {
      this.checkLease();
      this.repos.events.append(jobId, type, data, event.at);
    } catch (error) {
      this.log.warn('cannot record event', { type: event.type, error: String(error) });
    }
    this.snapshotCache = null;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error('event listener failed', { error: String(error) });
      }
    }
  }

  /**
   * Persists the move (fenced: read, check and write in one transaction), then announces it.
   * Moving to the same state is a no-op.
   * @throws DdmError ERR_ILLEGAL_TRANSITION, ERR_LOCK_LOST.
   */
  private transition(jobId: number, to: JobState, reason: string | null = null): void {
    const from = this.fenced(() => {
      const job = this.repos.jobs.get(jobId);
      if (!job || job.state === to) return null;
      assertTransition(jobId, job.state, to);
      this.repos.jobs.update(jobId, { state: to });
      // A completed job needs no credentials any more: wiped in the same fenced transaction.
      if (to === 'completed') wipeJobCredentials(this.repos, jobId);
      return job.state;
    });
    if (from === null) return;
    if (to === 'completed') this.forgetCredentials(jobId);
    this.log.info('job state', { jobId, from, to, reason });
    this.emit({ type: 'job-state', jobId, from, to, reason });
  }

  // ---- lock fencing ------------------------------------------------------------------------

  /**
   * Runs `fn` (DB writes) in one transaction; while this engine runs jobs, an IMMEDIATE one
   * that first proves the lock is still its own (pid and epoch), so a write of an engine that
   * was taken over never commits.
   * @throws DdmError ERR_LOCK_LOST (after stopping every run) when another engine took over.
   */
  private fenced<T>(fn: () => T): T {
    if (this.lockLost) throw this.lockLost;
    const lock = this.heldLock;
    if (!lock) return this.repos.db.transaction(fn)();
    try {
      return this.repos.lock.fenced(this.pid, lock.epoch, fn);
    } catch (error) {
      if (error instanceof DbError && error.code === 'ERR_LOCK_LOST') throw this.loseLock();
      throw error;
    }
  }

  /**
   * The cheap proof before bytes go into a job's file, called on every write.
   *
   * Why a lease is safe: another engine takes the lock over only when the heartbeat stored in
   * the DB is older than `lockStaleMs` (its wall clock against ours; same host, same clock). We
   * record the time *before* each heartbeat we store, so while less than `lockStaleMs` has
   * passed since that record, no take-over can have happened. Writes go ahead without asking
   * the DB for a third of that; the other two thirds absorb the time between this check and
   * the write. Past the lease (the process was frozen by SIGSTOP, Ctrl+Z, a slow disk, or simply
   * starved) the lock is confirmed from the DB, synchronously, before the write.
   *
   * Both clocks are compared and either one can end the lease: `performance.now()` is
   * monotonic (a wall clock set back cannot extend the lease) but on Linux it stops during a
   * system suspend while `Date.now()`, which the other engine compares, runs on. Left open: a
   * freeze between this check and the write system call right after it.
   * @throws DdmError ERR_LOCK_LOST.
   */
  private checkLease(): void {
    if (this.lockLost) throw this.lockLost;
    const lock = this.heldLock;
    if (!lock) return;
    const leaseMs = this.lockStaleMs * LEASE_SHARE;
    const isFresh =
      performance.now() - lock.confirmedAtMonoMs < leaseMs && Date.now() - lock.confirmedAtWallMs < leaseMs;
    if (!isFresh) this.confirmLock();
  }

  /**
   * Proves the lock from the DB now and renews the lease: a heartbeat that only updates the row
   * of this pid and epoch (a plain read would prove the lock but not keep a take-over away).
   * @throws DdmError ERR_LOCK_LOST.
   */
  private confirmLock(): void {
    if (this.lockLost) throw this.lockLost;
    const lock = this.heldLock;
    if (!lock) return;
    const monoMs = performance.now();
    const wallMs = Date.now();
    if (!this.repos.lock.heartbeat(this.pid, lock.epoch, wallMs)) throw this.loseLock();
    lock.confirmedAtMonoMs = monoMs;
    lock.confirmedAtWallMs = wallMs;
  }

  /**
   * Another engine took the lock over while this one was frozen: stop every run at once. They
   * write nothing more (each write would fail the fence anyway) and `run()` ends with the error.
   */
  private loseLock(): DdmError {
    if (this.lockLost) return this.lockLost;
    const lock = this.heldLock as HeldLock;
    const silentMs = Math.max(performance.now() - lock.confirmedAtMonoMs, Date.now() - lock.confirmedAtWallMs);
    let holder: { pid: number; hostname: string } | null = null;
    try {
      holder = this.repos.lock.get();
    } catch {
      // Only for the message.
    }
    const who = holder
      ? `pid ${holder.pid}${holder.hostname === hostname() ? '' : ` on ${holder.hostname}`}`
      : 'another engine (which has finished since)';
    this.lockLost = new DdmError(
      `This engine (pid ${this.pid}) lost its lock on the job database to ${who} (it was frozen for ${(silentMs / 1000).toFixed(1)} s); that engine continues the jobs`,
      { code: 'ERR_LOCK_LOST' },
    );
    this.log.warn('engine lock lost', { pid: this.pid, epoch: lock.epoch, holder, silentMs: Math.round(silentMs) });
    this.isStopping = true;
    for (const run of this.runs.values()) run.stop('lock-lost');
    this.wake();
    return this.lockLost;
  }

  /**
   * The heartbeat timer: renews the lease; never throws (a timer has nobody to throw to). A DB
   * that cannot be written (full, read-only, damaged) ends the run cleanly, its jobs
   * checkpointed where possible, and run() reports the error.
   */
  private heartbeat(): void {
    try {
      this.confirmLock();
    } catch (error) {
      if (this.lockLost) return;
      this.log.error('cannot write the engine heartbeat', { error: String(error) });
      this.dbFailure ??= error;
      this.stop();
    }
  }

  /** False once the lock is lost (checked at the top of the engine loop). */
  private hasLock(): boolean {
    try {
      this.checkLease();
      return true;
    } catch (error) {
      if (this.lockLost) return false;
      throw error;
    }
  }

  /** After a completed job's row was wiped: its secrets leave memory, its old bytes the WAL. */
  private forgetCredentials(jobId: number): void {
    this.secrets.delete(jobId);
    // A transition may run inside the caller's transaction (JobRun commits `completed` fenced),
    // where a WAL checkpoint cannot run: flush once the synchronous commit is done.
    queueMicrotask(() => flushFreedBytes(this.repos));
  }

  // ---- adding ------------------------------------------------------------------------------

  /**
   * Queues a download.
   * @throws DdmError ERR_INVALID_URL, ERR_USAGE (bad checksum), ERR_IO (directory not usable),
   *   ERR_FILE_EXISTS (overwrite = "fail").
   */
  async add(url: string, options: AddOptions = {}): Promise<number> {
    return this.addJob(url, options);
  }

  addJob(url: string, options: AddOptions & { secrets?: JobSecrets; settings?: JobSettings } = {}): number {
    const parsed = parseHttpUrl(url);
    for (const mirror of options.settings?.mirrors ?? []) parseHttpUrl(mirror);
    if (options.checksum) parseChecksumSpec(options.checksum);
    const dir = resolve(options.dir ?? process.cwd());
    ensureWritableDir(dir);
    const overwrite = options.overwrite ? 'overwrite' : (options.settings?.overwrite ?? this.settings.overwrite);
    const isFileNameFixed = options.fileName !== undefined;
    const wanted = sanitizeFileName(options.fileName ?? fileNameFromResponse({ url: parsed.href }).name);
    const fileName = this.pickName(dir, wanted, overwrite);
    const connections = clampConnections(
      options.connections ?? this.bestConnectionsFor(parsed.host) ?? this.settings.connections,
      this.settings,
    );
    const job = this.repos.jobs.insert({
      url: parsed.href,
      dir,
      fileName,
      connections,
      checksum: options.checksum ?? null,
      priority: options.priority ?? 0,
      limitBytesPerSec: options.limitBytesPerSec ?? null,
      settings: {
        ...options.settings,
        headers: { ...options.settings?.headers, ...options.headers },
        isFileNameFixed,
        overwrite,
      },
    });
    if (options.secrets) this.secrets.set(job.id, options.secrets);
    this.emit({ type: 'job-added', jobId: job.id, url: redactUrl(job.url) });
    this.wake();
    return job.id;
  }

  /** Keeps credentials for a job in this process only. */
  setSecrets(jobId: number, secrets: JobSecrets): void {
    this.secrets.set(jobId, secrets);
  }

  private bestConnectionsFor(host: string): number | null {
    return this.repos.hosts.get(host)?.bestConnections ?? null;
  }

  private pickName(dir: string, wanted: string, overwrite: 'rename' | 'overwrite' | 'fail'): string {
    return freeFileName(dir, wanted, overwrite, (path) => this.isPathReserved(path, -1));
  }

  private isPathReserved(path: string, exceptJobId: number): boolean {
    for (const t of this.repos.jobs.targetPaths()) {
      if (t.id === exceptJobId) continue;
      const full = join(t.dir, t.fileName);
      if (full === path || `${full}.part` === path) return true;
    }
    return false;
  }

  // ---- control -----------------------------------------------------------------------------

  private requireJob(jobId: number): JobRow {
    const job = this.repos.jobs.get(jobId);
    if (!job) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
    return job;
  }

  /** Stops the job's traffic, checkpoints, and marks it paused. Resolves when no byte flows any more. */
  async pause(jobId: number): Promise<void> {
    const job = this.requireJob(jobId);
    const run = this.runs.get(jobId);
    if (run) {
      run.stop('pause');
      await this.runEnded.get(jobId);
      if (this.lockLost) throw this.lockLost;
      return;
    }
    if (job.state === 'paused' || FINAL_STATES.includes(job.state)) return;
    this.transition(jobId, 'paused', 'paused by the user');
  }

  async resume(jobId: number): Promise<void> {
    const job = this.requireJob(jobId);
    if (job.state === 'paused' || job.state === 'failed' || job.state === 'canceled') {
      this.fenced(() => this.repos.jobs.update(jobId, { errorCode: null, errorMessage: null }));
      this.transition(jobId, 'queued', 'resumed by the user');
      this.wake();
    }
  }

  async cancel(jobId: number): Promise<void> {
    const job = this.requireJob(jobId);
    const run = this.runs.get(jobId);
    if (run) {
      run.stop('cancel');
      await this.runEnded.get(jobId);
      if (this.lockLost) throw this.lockLost;
      return;
    }
    if (job.state !== 'canceled' && job.state !== 'completed')
      this.transition(jobId, 'canceled', 'canceled by the user');
  }

  async remove(jobId: number, options: { deleteFiles?: boolean } = {}): Promise<void> {
    const job = this.requireJob(jobId);
    const run = this.runs.get(jobId);
    if (run) {
      run.stop('remove');
      await this.runEnded.get(jobId);
    }
    // The run may have renamed or created the file meanwhile: delete what the row says now.
    this.fenced(() => removeJobRow(this.repos, this.repos.jobs.get(jobId) ?? job, options.deleteFiles ?? false));
    this.secrets.delete(jobId);
    flushFreedBytes(this.repos);
    this.emit({ type: 'job-removed', jobId });
  }

  async setConnections(jobId: number, connections: number): Promise<void> {
    this.requireJob(jobId);
    const n = clampConnections(connections, this.settings);
    this.fenced(() => this.repos.jobs.update(jobId, { connections: n }));
    this.runs.get(jobId)?.setConnections(n);
    this.emit({ type: 'connections-changed', jobId, connections: n });
  }

  async setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void> {
    if (jobId === null) {
      this.globalBucket.setRate(bytesPerSec);
    } else {
      this.requireJob(jobId);
      this.fenced(() => this.repos.jobs.update(jobId, { limitBytesPerSec: bytesPerSec }));
      this.runs.get(jobId)?.setLimit(bytesPerSec);
    }
    this.emit({ type: 'limit-changed', jobId, bytesPerSec });
  }

  async move(jobId: number, where: 'top' | 'bottom'): Promise<void> {
    this.requireJob(jobId);
    this.fenced(() => this.repos.jobs.move(jobId, where));
    this.snapshotCache = null;
  }

  // ---- running -----------------------------------------------------------------------------

  /**
   * Runs queued and interrupted jobs until none is left (or, watching, until stopped).
   *
   * The engine lock is fenced: every DB write of the engine and its runs proves, in its own
   * transaction, that this engine still holds the lock (its epoch), and bytes go into a file
   * only under a fresh lease. An engine frozen past `lockStaleMs` may find its jobs taken over
   * by another engine when it continues: it then stops every run at once without writing.
   * @throws DdmError ERR_ENGINE_BUSY naming the pid of the engine that already runs on this DB;
   *   ERR_LOCK_LOST when another engine took the lock over while this one was frozen.
   */
  async run(options: RunOptions = {}): Promise<RunSummary> {
    if (this.isRunning) throw new DdmError('This engine is already running', { code: 'ERR_ENGINE_BUSY' });
    const confirmedAtMonoMs = performance.now();
    const confirmedAtWallMs = Date.now();
    const acquired = this.repos.lock.tryAcquire(this.pid, hostname(), (lock) =>
      isLockHolderAlive(lock, this.lockStaleMs),
    );
    if (acquired.holder) {
      throw new DdmError(`Another ddm engine (pid ${acquired.holder.pid}) is running jobs on this database`, {
        code: 'ERR_ENGINE_BUSY',
      });
    }
    const epoch = acquired.epoch;
    this.heldLock = { epoch, confirmedAtMonoMs, confirmedAtWallMs };
    this.lockLost = null;
    this.isRunning = true;
    this.isStopping = false;
    const summary: RunSummary = { completed: [], failed: [], interrupted: [] };
    const only = options.jobIds ? new Set(options.jobIds) : null;
    this.onlyJobs = only;
    const onAbort = () => this.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.dbFailure = null;
    const heartbeat = setInterval(() => this.heartbeat(), Math.min(HEARTBEAT_MS, this.lockStaleMs / 6));
    try {
      try {
        this.recoverInterrupted(only);
        this.fenced(() => {
          this.repos.live.clear();
          this.repos.events.trim(EVENTS_KEPT);
          this.repos.commands.prune(COMMAND_MAX_AGE_MS);
        });
        this.lastDataVersion = dataVersion(this.repos.db);
        await this.processCommands(true);
        for (;;) {
          if (this.isStopping || !this.hasLock()) break;
          this.schedule(only, summary);
          if (!options.isWatching && this.runs.size === 0 && !this.hasQueued(only)) break;
          await this.waitForWork();
          if (!this.hasLock()) break;
          if (dataVersion(this.repos.db) !== this.lastDataVersion) {
            this.lastDataVersion = dataVersion(this.repos.db);
            this.snapshotCache = null;
            await this.processCommands(false);
          }
        }
      } catch (error) {
        // A lost lock already stopped every run; wait for them below, then report it.
        if (!this.lockLost) throw error;
      }
      await Promise.allSettled([...this.runEnded.values()]);
    } finally {
      clearInterval(heartbeat);
      options.signal?.removeEventListener('abort', onAbort);
      this.heldLock = null;
      this.isRunning = false;
      if (!this.lockLost) {
        try {
          this.repos.live.clear();
          this.repos.lock.release(this.pid, epoch);
        } catch (error) {
          // The lock goes stale by itself; the first DB failure is the one worth reporting.
          this.dbFailure ??= error;
        }
      }
    }
    if (this.lockLost) throw this.lockLost;
    if (this.dbFailure) throw this.dbFailure;
    return summary;
  }

  /** Stops every running job (they go back to `queued`, checkpointed) and ends `run()`. */
  stop(): void {
    this.isStopping = true;
    for (const run of this.runs.values()) run.stop('interrupt');
    this.wake();
  }

  private hasQueued(only: Set<number> | null): boolean {
    return this.repos.jobs.listByState(['queued']).some((j) => !only || only.has(j.id));
  }

  private recoverInterrupted(only: Set<number> | null): void {
    for (const job of this.repos.jobs.listByState(ACTIVE_STATES)) {
      if (only && !only.has(job.id)) continue;
      this.transition(job.id, 'queued', 'interrupted; resuming from the last checkpoint');
    }
  }

  private schedule(only: Set<number> | null, summary: RunSummary): void {
    if (this.isStopping) return;
    const queued = this.repos.jobs.listByState(['queued']);
    for (const job of queued) {
      if (this.runs.size >= this.settings.parallelJobs) break;
      if (only && !only.has(job.id)) continue;
      if (this.runs.has(job.id)) continue;
      this.start(job, summary);
    }
  }

  private start(job: JobRow, summary: RunSummary): void {
    const missing = this.missingCredentials(job);
    if (missing) {
      this.fenced(() =>
        this.repos.jobs.update(job.id, { errorCode: 'ERR_CREDENTIALS_REQUIRED', errorMessage: missing }),
      );
      this.transition(job.id, 'failed', missing);
      summary.failed.push(job.id);
      return;
    }
    const run = new JobRun(
      {
        repos: this.repos,
        settings: () => this.settings,
        log: this.log.child({ jobId: job.id }),
        pool: this.pool,
        globalBucket: this.globalBucket,
        requestContext: (j) => this.requestContext(j),
        transition: (id, to, reason) => this.transition(id, to, reason ?? null),
        emit: (e) => this.emit(e),
        fenced: (fn) => this.fenced(fn),
        checkLease: () => this.checkLease(),
        confirmLock: () => this.confirmLock(),
        isPathReserved: (p, except) => this.isPathReserved(p, except),
      },
      job,
    );
    this.runs.set(job.id, run);
    const ended = run.run().then(
      (outcome) => this.afterRun(run, outcome, summary),
      (error) => {
        this.log.error('job run crashed', { jobId: job.id, error: String(error) });
        return this.afterRun(run, 'failed', summary);
      },
    );
    this.runEnded.set(job.id, ended);
  }

  private async afterRun(run: JobRun, outcome: RunOutcome, summary: RunSummary): Promise<RunOutcome> {
    const id = run.id;
    this.runs.delete(id);
    this.runEnded.delete(id);
    // Taken over: the job is the other engine's now; nothing of this run may be written.
    if (this.lockLost) return outcome;
    this.fenced(() => this.repos.live.delete(id));
    switch (outcome) {
      case 'completed':
        summary.completed.push(id);
        break;
      case 'failed':
        summary.failed.push(id);
        break;
      case 'pause':
        this.transition(id, 'paused', 'paused by the user');
        break;
      case 'cancel':
        this.transition(id, 'canceled', 'canceled by the user');
        break;
      case 'interrupt':
        this.transition(id, 'queued', 'interrupted; will resume from the last checkpoint');
        summary.interrupted.push(id);
        break;
      case 'remove':
      case 'lock-lost':
        break;
      default: {
        const never: never = outcome;
        throw new Error(`unhandled outcome ${String(never)}`);
      }
    }
    if (outcome === 'completed' || outcome === 'failed') await this.runHooks(id, outcome);
    this.snapshotCache = null;
    this.wake();
    return outcome;
  }

  private async runHooks(jobId: number, outcome: 'completed' | 'failed'): Promise<void> {
    const command = outcome === 'completed' ? this.options.hooks?.onComplete : this.options.hooks?.onError;
    if (!command) return;
    const job = this.repos.jobs.get(jobId);
    if (!job) return;
    const path = join(job.dir, job.state === 'completed' ? job.fileName : `${job.fileName}.part`);
    await runHook(
      command,
      {
        DDM_JOB_ID: job.id,
        // Only a path that names the job's file: a failed job may have none (a 404 creates nothing).
        DDM_JOB_PATH: isOwnFile(path, job) ? path : undefined,
        DDM_JOB_STATE: job.state,
        DDM_JOB_URL: job.url,
        DDM_JOB_ERROR: job.errorCode ? `${job.errorCode}: ${job.errorMessage ?? ''}` : undefined,
      },
      this.log,
      { name: outcome === 'completed' ? 'on_complete' : 'on_error' },
    );
  }

  private missingCredentials(job: JobRow): string | null {
    const withheld = job.settings.withheldHeaders ?? [];
    const needsCookies = job.settings.needsCookies === true && !job.settings.cookies;
    if ((withheld.length > 0 || needsCookies) && !this.secrets.has(job.id)) {
      const what = [...withheld, ...(needsCookies ? ['cookies'] : [])].join(', ');
      return `Job ${job.id} needs its credentials again (${what} were not stored): run \`ddm refresh ${job.id} --har <file>\` or add it again`;
    }
    return null;
  }

  private requestContext(job: JobRow): RequestContext {
    const secrets = this.secrets.get(job.id);
    return buildRequestContext(
      { settings: this.settings, env: this.env, flagProxy: this.options.flagProxy, netrc: this.options.netrc },
      {
        headers: { ...job.settings.headers, ...secrets?.headers },
        cookies: job.settings.cookies,
        cookieHeaderFor: secrets?.cookieHeaderFor,
      },
    );
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollIntervalMs ?? 200);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }

  /**
   * Applies commands that other processes queued in the DB. The caller records `data_version`
   * before calling: a command committed while these are applied (a pause waits for its run to
   * stop) changes it again, so the next loop sees it.
   */
  private async processCommands(isStartup: boolean): Promise<void> {
    for (const command of this.repos.commands.pending()) {
      if (isStartup && Date.now() - command.createdAt > COMMAND_MAX_AGE_MS) {
        this.fenced(() => this.repos.commands.markDone(command.id, 'expired before an engine ran'));
        continue;
      }
      try {
        await this.apply(command);
        this.fenced(() => this.repos.commands.markDone(command.id));
      } catch (error) {
        // Taken over: the command is the other engine's to apply.
        if (this.lockLost) throw this.lockLost;
        this.fenced(() =>
          this.repos.commands.markDone(command.id, error instanceof Error ? error.message : String(error)),
        );
      }
    }
  }

  private async apply(command: CommandRow): Promise<void> {
    const id = command.jobId ?? -1;
    const arg = command.arg;
    // From another process: a refused verb says what state the job is in (the sender prints it).
    const job = this.repos.jobs.get(id);
    if (job) assertControlApplies(command.kind, id, job.state);
    switch (command.kind) {
      case 'pause':
        return this.pause(id);
      case 'resume':
        return this.resume(id);
      case 'cancel':
        return this.cancel(id);
      case 'remove':
        return this.remove(id, { deleteFiles: arg.deleteFiles === true });
      case 'limit':
        return this.setLimit(command.jobId, (arg.bytesPerSec as number | null) ?? null);
      case 'connections':
        return this.setConnections(id, Number(arg.connections));
      case 'adopt':
        this.requireJob(id);
        this.onlyJobs?.add(id);
        this.wake();
        return;
      case 'refresh':
      case 'wake':
        this.wake();
        return;
      default: {
        const never: never = command.kind;
        throw new Error(`unknown command ${String(never)}`);
      }
    }
  }

  // ---- snapshot ----------------------------------------------------------------------------

  /** A frozen view of every job with live byte counters. Cheap: cached for 100 ms. */
  snapshot(): EngineSnapshot {
    const now = Date.now();
    if (this.snapshotCache && now - this.snapshotCache.at < 100) return this.snapshotCache;
    const jobs = this.jobSnapshots();
    const snapshot: EngineSnapshot = Object.freeze({
      at: now,
      jobs: Object.freeze(jobs),
      activeJobs: this.runs.size,
      rateBytesPerSec: jobs.reduce((s, j) => s + j.rateBytesPerSec, 0),
      connections: jobs.reduce((s, j) => s + j.connections, 0),
      limitBytesPerSec: this.globalBucket.rate,
      isAttached: false,
    });
    this.snapshotCache = snapshot;
    return snapshot;
  }

  /**
   * Every job in queue order. Running jobs come from their run; the others from a cache that
   * re-reads a row (and its segments) only when its `updated_at` moved, so a snapshot costs one
   * `SELECT id, updated_at` plus work for active or changed jobs, not a query per stored job.
   * A job's cache entry is dropped while it runs, so the row it ends with is read again.
   */
  private jobSnapshots(): JobSnapshot[] {
    const versions = this.repos.jobs.versions();
    const changed = versions.filter((v) => {
      if (this.runs.has(v.id)) return false;
      return this.storedSnapshots.get(v.id)?.updatedAt !== v.updatedAt;
    });
    if (changed.length > 0) {
      // Many changed rows (the first snapshot): read them all at once, two queries in all.
      const isBulk = changed.length > 32;
      const rows = isBulk ? new Map(this.repos.jobs.list().map((j) => [j.id, j])) : null;
      const segmentsByJob = isBulk ? this.repos.segments.listAll() : null;
      for (const v of changed) {
        const job = rows ? rows.get(v.id) : this.repos.jobs.get(v.id);
        if (!job) continue;
        const segments = segmentsByJob ? (segmentsByJob.get(v.id) ?? []) : this.repos.segments.list(v.id);
        this.storedSnapshots.set(v.id, {
          updatedAt: job.updatedAt,
          snapshot: storedJobSnapshot(job, segments.map(storedSegment)),
        });
      }
    }
    const jobs: JobSnapshot[] = [];
    const present = new Set<number>();
    for (const v of versions) {
      present.add(v.id);
      const run = this.runs.get(v.id);
      if (run) {
        // Active jobs are few: their row (state, why) is read fresh every time.
        const row = this.repos.jobs.get(v.id);
        this.storedSnapshots.delete(v.id);
        if (row) jobs.push(liveJobSnapshot(row, run));
        continue;
      }
      const entry = this.storedSnapshots.get(v.id);
      if (entry) jobs.push(entry.snapshot);
    }
    for (const id of this.storedSnapshots.keys()) if (!present.has(id)) this.storedSnapshots.delete(id);
    return jobs;
  }
}

/** Cookies kept in the DB only with --remember-cookies; scoped to their domain and path. */
function liveJobSnapshot(job: JobRow, run: JobRun): JobSnapshot {
  const segments = run.segmentSnapshots();
  const doneBytes = run.doneBytes;
  const size = run.job.sizeBytes;
  const rate = run.rateBytesPerSec;
  return {
    ...baseSnapshot({ ...job, ...pickLive(run.job) }),
    doneBytes: segments.length > 0 ? doneBytes : 0,
    rateBytesPerSec: rate,
    etaSec: size !== null && rate > 0 ? Math.max(0, (size - doneBytes) / rate) : null,
    connections: run.connections,
    maxConnections: run.maxConnections,
    limitBytesPerSec: run.bucket.rate,
    why: run.why,
    segments,
    mirrors: run.mirrorSnapshots(),
  };
}

function pickLive(job: JobRow): Partial<JobRow> {
  return { fileName: job.fileName, sizeBytes: job.sizeBytes, finalUrl: job.finalUrl };
}

export function storedSegment(s: {
  index: number;
  start: number;
  end: number | null;
  writtenBytes: number;
  splitFrom: number | null;
}): SegmentSnapshot {
  return {
    index: s.index,
    start: s.start,
    end: s.end,
    writtenBytes: s.writtenBytes,
    status: s.end !== null && s.start + s.writtenBytes >= s.end ? 'done' : 'pending',
    rateBytesPerSec: 0,
    retries: 0,
    splitFrom: s.splitFrom,
  };
}

export function storedJobSnapshot(job: JobRow, segments: SegmentSnapshot[]): JobSnapshot {
  const doneBytes =
    job.state === 'completed' ? (job.sizeBytes ?? 0) : segments.reduce((s, seg) => s + seg.writtenBytes, 0);
  return { ...baseSnapshot(job), doneBytes, segments };
}

function baseSnapshot(job: JobRow): JobSnapshot {
  return {
    id: job.id,
    url: redactUrl(job.url),
    fileName: job.fileName,
    dir: job.dir,
    path: join(job.dir, job.fileName),
    state: job.state,
    sizeBytes: job.sizeBytes,
    doneBytes: 0,
    rateBytesPerSec: 0,
    etaSec: null,
    connections: 0,
    maxConnections: job.connections,
    limitBytesPerSec: job.limitBytesPerSec,
    priority: job.priority,
    errorCode: job.errorCode as ErrorCode | null,
    errorMessage: job.errorMessage,
    why: job.why,
    segments: [],
    mirrors: storedMirrorSnapshots(job),
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  };
}

/**
 * Deletes a job row and, when asked, only the files that job created: a name that holds a
 * symlink, a directory, a file with other hard links, or (when the job recorded it) another inode
 * than the one ddm created is left alone.
 */
export function removeJobRow(repos: Repos, job: JobRow, deleteFiles: boolean): void {
  if (deleteFiles && job.hasCreatedFile) {
    tryUnlinkOwn(join(job.dir, `${job.fileName}.part`), job);
    if (job.state === 'completed') tryUnlinkOwn(join(job.dir, job.fileName), job);
  }
  repos.jobs.delete(job.id);
  repos.live.delete(job.id);
}

/** True when `path` is a regular file with one link and, when recorded, the job's own file. */
function isOwnFile(path: string, job: JobRow): boolean {
  let stat: ReturnType<typeof lstatOrNull>;
  try {
    stat = lstatOrNull(path);
  } catch {
    return false;
  }
  if (!stat?.isFile() || stat.nlink !== 1) return false;
  const identity = job.settings.partFile;
  return identity === undefined || isSameFile(stat, identity);
}

function tryUnlinkOwn(path: string, job: JobRow): void {
  if (!isOwnFile(path, job)) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to delete.
  }
}

export function clampConnections(n: number, settings: EngineSettings): number {
  if (!Number.isFinite(n)) return settings.connections;
  return Math.max(1, Math.min(Math.floor(n), settings.maxConnectionsPerJob));
}

/**
 * Creates the download directory when missing and checks it is a writable directory.
 * @throws DdmError ERR_IO naming the directory.
 */
export function ensureWritableDir(dir: string): void {
  if (!isAbsolute(dir)) throw new DdmError(`Download directory must be absolute: ${dir}`, { code: 'ERR_USAGE' });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new DdmError(`Cannot create the download directory: ${dir}`, { code: 'ERR_IO', cause });
  }
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (cause) {
    throw new DdmError(`Cannot use the download directory: ${dir}`, { code: 'ERR_IO', cause });
  }
  if (!isDir) throw new DdmError(`Not a directory: ${dir}`, { code: 'ERR_IO' });
  // An unguessable name, created exclusively (O_EXCL never follows a symlink planted there).
  const probePath = join(dir, `.ddm-write-test-${process.pid}-${crypto.randomUUID()}`);
  try {
    const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;
    closeSync(openSync(probePath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
    unlinkSync(probePath);
  } catch (cause) {
    throw new DdmError(`Download directory is not writable: ${dir}`, { code: 'ERR_IO', cause });
  }
}
