/**
 * The engine: owns the job DB, schedules jobs under the connection and speed limits, runs each
 * job with a JobRun, and is steered in-process (CLI, TUI) or from other processes through the
 * `commands` table, which it notices cheaply with `PRAGMA data_version`.
 */
import { resolve } from 'node:path';
import { type CommandRow, DbError, dataVersion, type JobRow, type JobSettings, type Repos } from '@ddm/db';
import { parseChecksumSpec } from './checksum.ts';
import { applyToEngine } from './control.ts';
import { flushFreedBytes } from './credential-wipe.ts';
import { EngineLock, LOCK_STALE_MS } from './engine-lock.ts';
import type { EngineOptions, JobSecrets, RunOptions, RunSummary } from './engine-options.ts';
import { DdmError } from './errors.ts';
import { fileNameFromResponse, freeFileName, sanitizeFileName } from './filename.ts';
import { GcPacer } from './gc-pacer.ts';
import { runJobHook } from './hooks.ts';
import { parseHttpUrl, type RequestContext } from './http.ts';
import { ACTIVE_STATES, canCancel, canPause, canResume } from './job.ts';
import { ensureWritableDir, isPathReserved } from './job-files.ts';
import { type EventInput, JobRun, type RunOutcome } from './job-runner.ts';
import { JobsService } from './jobs-service.ts';
import { type Logger, nullLogger } from './log.ts';
import { TokenBucket } from './rate-limit.ts';
import { redactDeep, redactUrl } from './redact.ts';
import { buildRequestContext, missingCredentials } from './request-context.ts';
import { ConnectionPool } from './scheduler.ts';
import { clampConnections, type EngineSettings } from './settings.ts';
import { JobSnapshotCache } from './snapshot.ts';
import type { AddOptions, EngineController, EngineEvent, EngineSnapshot, JobSnapshot, JobState } from './types.ts';

export type { EngineOptions, JobSecrets, RunOptions, RunSummary } from './engine-options.ts';

const HEARTBEAT_MS = 1000;
const COMMAND_MAX_AGE_MS = 30_000;
const EVENTS_KEPT = 5000;

export class Engine implements EngineController {
  readonly repos: Repos;
  private settingsValue: EngineSettings;
  private readonly log: Logger;
  private readonly env: Record<string, string | undefined>;
  private readonly runs = new Map<number, JobRun>();
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly pool: ConnectionPool;
  private readonly globalBucket: TokenBucket;
  private readonly gcPacer = new GcPacer();
  private readonly secrets = new Map<number, JobSecrets>();
  private readonly runEnded = new Map<number, Promise<RunOutcome>>();
  private wakeUp: (() => void) | null = null;
  private isRunning = false;
  private isStopping = false;
  private lastDataVersion = -1;
  private snapshotCache: EngineSnapshot | null = null;
  /** The jobs a `get` run is limited to (null: all); `adopt` adds to it. */
  private onlyJobs: Set<number> | null = null;
  /** The engine lock; every write of the engine and its runs is fenced by it. */
  private readonly lock: EngineLock;
  /** The one writer of job rows (fenced by the lock while the engine runs). */
  readonly jobs: JobsService;
  /** The first DB failure seen by a timer; `run()` ends with it. */
  private dbFailure: unknown = null;
  /** Snapshots of the jobs; also counts the engine's own writes that no stored job depends on. */
  private readonly storedSnapshots: JobSnapshotCache;
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
    this.lock = new EngineLock(this.repos, this.pid, this.lockStaleMs, this.log, () => {
      // Another engine took the lock over: stop every run at once.
      this.isStopping = true;
      for (const run of this.runs.values()) run.stop('lock-lost');
      this.wake();
    });
    this.jobs = new JobsService(this.repos, (fn) => this.lock.fenced(fn));
    this.storedSnapshots = new JobSnapshotCache(this.repos, this.log);
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
      this.lock.checkLease();
      // Event rows change no job's snapshot.
      this.storedSnapshots.quietly(() => this.repos.events.append(jobId, type, data, event.at));
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
    // A completed job's stored credentials are wiped in the same fenced transaction.
    const from = this.jobs.transition(jobId, to);
    if (from === null) return;
    if (to === 'completed') this.forgetCredentials(jobId);
    this.log.info('job state', { jobId, from, to, reason });
    this.emit({ type: 'job-state', jobId, from, to, reason });
  }

  /**
   * The heartbeat timer: renews the lease; never throws (a timer has nobody to throw to). A DB
   * that cannot be written (full, read-only, damaged) ends the run cleanly, its jobs
   * checkpointed where possible, and run() reports the error.
   */
  private heartbeat(): void {
    try {
      // The heartbeat touches the lock row only: snapshots need not look for changed jobs.
      this.storedSnapshots.quietly(() => this.lock.confirm());
    } catch (error) {
      if (this.lock.lost) return;
      this.log.error('cannot write the engine heartbeat', { error: String(error) });
      this.dbFailure ??= error;
      this.stop();
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
    const fileName = freeFileName(dir, wanted, overwrite, (path) => isPathReserved(this.repos, path, -1));
    const connections = clampConnections(
      options.connections ?? this.repos.hosts.get(parsed.host)?.bestConnections ?? this.settings.connections,
      this.settings,
    );
    const job = this.jobs.insert({
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

  /**
   * Queues several downloads, all or none: one transaction, so a bad URL or name among them
   * adds nothing.
   * @throws DdmError as `addJob`.
   */
  addJobs(
    jobs: readonly { url: string; options?: AddOptions & { secrets?: JobSecrets; settings?: JobSettings } }[],
  ): number[] {
    return this.jobs.atomically(() => jobs.map((job) => this.addJob(job.url, job.options)));
  }

  /** Keeps credentials for a job in this process only. */
  setSecrets(jobId: number, secrets: JobSecrets): void {
    this.secrets.set(jobId, secrets);
  }

  // ---- control -----------------------------------------------------------------------------

  private requireJob(jobId: number): JobRow {
    return this.jobs.require(jobId);
  }

  /** Stops the job's traffic, checkpoints, and marks it paused. Resolves when no byte flows any more. */
  async pause(jobId: number): Promise<void> {
    const job = this.requireJob(jobId);
    const run = this.runs.get(jobId);
    if (run) {
      run.stop('pause');
      await this.runEnded.get(jobId);
      if (this.lock.lost) throw this.lock.lost;
      return;
    }
    if (!canPause(job.state)) return;
    this.transition(jobId, 'paused', 'paused by the user');
  }

  async resume(jobId: number): Promise<void> {
    const job = this.requireJob(jobId);
    if (canResume(job.state)) {
      this.jobs.setError(jobId, null, null);
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
      if (this.lock.lost) throw this.lock.lost;
      return;
    }
    if (canCancel(job.state)) this.transition(jobId, 'canceled', 'canceled by the user');
  }

  async remove(jobId: number, options: { deleteFiles?: boolean } = {}): Promise<void> {
    const job = this.requireJob(jobId);
    const run = this.runs.get(jobId);
    if (run) {
      run.stop('remove');
      await this.runEnded.get(jobId);
    }
    // The run may have renamed or created the file meanwhile: delete what the row says now.
    this.jobs.remove(this.repos.jobs.get(jobId) ?? job, options.deleteFiles ?? false);
    this.secrets.delete(jobId);
    flushFreedBytes(this.repos);
    this.emit({ type: 'job-removed', jobId });
  }

  async setConnections(jobId: number, connections: number): Promise<void> {
    this.requireJob(jobId);
    const n = clampConnections(connections, this.settings);
    this.jobs.setOptions(jobId, { connections: n });
    this.runs.get(jobId)?.setConnections(n);
    this.emit({ type: 'connections-changed', jobId, connections: n });
  }

  async setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void> {
    if (jobId === null) {
      this.globalBucket.setRate(bytesPerSec);
    } else {
      this.requireJob(jobId);
      this.jobs.setOptions(jobId, { limitBytesPerSec: bytesPerSec });
      this.runs.get(jobId)?.setLimit(bytesPerSec);
    }
    this.emit({ type: 'limit-changed', jobId, bytesPerSec });
  }

  async move(jobId: number, where: 'top' | 'bottom'): Promise<void> {
    this.requireJob(jobId);
    this.jobs.move(jobId, where);
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
    this.lock.acquire();
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
        this.lock.fenced(() => {
          this.repos.live.clear();
          this.repos.events.trim(EVENTS_KEPT);
          this.repos.commands.prune(COMMAND_MAX_AGE_MS);
        });
        this.lastDataVersion = dataVersion(this.repos.db);
        await this.processCommands(true);
        for (;;) {
          if (this.isStopping || !this.lock.isHeld()) break;
          this.schedule(only, summary);
          if (!options.isWatching && this.runs.size === 0 && !this.hasQueued(only)) break;
          await this.waitForWork();
          if (!this.lock.isHeld()) break;
          if (dataVersion(this.repos.db) !== this.lastDataVersion) {
            this.lastDataVersion = dataVersion(this.repos.db);
            this.snapshotCache = null;
            await this.processCommands(false);
          }
        }
      } catch (error) {
        // A lost lock already stopped every run; wait for them below, then report it.
        if (!this.lock.lost) throw error;
      }
      await Promise.allSettled([...this.runEnded.values()]);
    } finally {
      clearInterval(heartbeat);
      options.signal?.removeEventListener('abort', onAbort);
      this.isRunning = false;
      try {
        this.lock.release(() => this.repos.live.clear());
      } catch (error) {
        // The lock goes stale by itself; the first DB failure is the one worth reporting.
        this.dbFailure ??= error;
      }
    }
    if (this.lock.lost) throw this.lock.lost;
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
    const missing = missingCredentials(job, this.secrets.has(job.id));
    if (missing) {
      this.jobs.setError(job.id, 'ERR_CREDENTIALS_REQUIRED', missing);
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
        // A run writes its own job's rows (checkpoints, why, its states): see `JobSnapshotCache.quietly`.
        fenced: (fn) => this.storedSnapshots.quietly(() => this.lock.fenced(fn)),
        checkLease: () => this.lock.checkLease(),
        confirmLock: () => this.lock.confirm(),
        isPathReserved: (p, except) => isPathReserved(this.repos, p, except),
        gcPacer: this.gcPacer,
      },
      job,
    );
    this.runs.set(job.id, run);
    const ended = run
      .run()
      .then(
        (outcome) => this.afterRun(run, outcome, summary),
        (error) => {
          this.log.error('job run crashed', { jobId: job.id, error: String(error) });
          // JobRun.run() records every failure on the job; it throws only when the DB refused
          // that record (full, read-only, damaged). Scheduling on would start the same job
          // again at once, forever: the engine stops and run() reports the DB's error.
          if (error instanceof DbError && !this.lock.lost) {
            this.dbFailure ??= error;
            this.stop();
          }
          return this.afterRun(run, 'failed', summary);
        },
      )
      .catch((error): RunOutcome => {
        // The run could not record its end (a DB that cannot be written: full, read-only):
        // nobody awaits this promise yet, so it must not reject. The engine stops and run()
        // reports the error; the job's row still says it was active, and the next run
        // recovers it from its last checkpoint.
        this.runs.delete(job.id);
        this.runEnded.delete(job.id);
        if (!this.lock.lost) {
          this.log.error('cannot record the end of a job', { jobId: job.id, error: String(error) });
          this.dbFailure ??= error;
          this.stop();
        }
        return 'failed';
      });
    this.runEnded.set(job.id, ended);
  }

  private async afterRun(run: JobRun, outcome: RunOutcome, summary: RunSummary): Promise<RunOutcome> {
    const id = run.id;
    this.runs.delete(id);
    this.runEnded.delete(id);
    // Taken over: the job is the other engine's now; nothing of this run may be written.
    if (this.lock.lost) return outcome;
    this.lock.fenced(() => this.repos.live.delete(id));
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
    const job = command ? this.repos.jobs.get(jobId) : null;
    if (command && job) await runJobHook(command, job, outcome, this.log);
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
        this.lock.fenced(() => this.repos.commands.markDone(command.id, 'expired before an engine ran'));
        continue;
      }
      try {
        await this.apply(command);
        this.lock.fenced(() => this.repos.commands.markDone(command.id));
      } catch (error) {
        // Taken over: the command is the other engine's to apply.
        if (this.lock.lost) throw this.lock.lost;
        this.lock.fenced(() =>
          this.repos.commands.markDone(command.id, error instanceof Error ? error.message : String(error)),
        );
      }
    }
  }

  private apply(command: CommandRow): Promise<void> {
    return applyToEngine(this.repos, command, {
      controller: this,
      adopt: (jobId) => {
        this.requireJob(jobId);
        this.onlyJobs?.add(jobId);
        this.wake();
      },
      wake: () => this.wake(),
    });
  }

  // ---- snapshot ----------------------------------------------------------------------------

  /** Snapshots of these jobs only, fresh (a `get` of one job in a DB of 10,000 builds one). */
  jobSnapshots(ids: readonly number[]): JobSnapshot[] {
    return this.storedSnapshots.some(ids, this.runs);
  }

  /** A frozen view of every job with live byte counters. Cheap: cached for 100 ms. */
  snapshot(): EngineSnapshot {
    const now = Date.now();
    if (this.snapshotCache && now - this.snapshotCache.at < 100) return this.snapshotCache;
    const jobs = this.storedSnapshots.jobs(this.runs);
    const snapshot: EngineSnapshot = Object.freeze({
      at: now,
      // Read-only by its type; not Object.freeze-d: freezing an array of 10,000 jobs costs
      // milliseconds on every snapshot.
      jobs,
      activeJobs: this.runs.size,
      rateBytesPerSec: jobs.reduce((s, j) => s + j.rateBytesPerSec, 0),
      connections: jobs.reduce((s, j) => s + j.connections, 0),
      limitBytesPerSec: this.globalBucket.rate,
      isAttached: false,
    });
    this.snapshotCache = snapshot;
    return snapshot;
  }
}
