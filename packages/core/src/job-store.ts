/**
 * The job DB as a front end (the CLI) sees it: reads, commands to the engine (or, with none
 * running, to the DB for the next run), and engines on it. The rows stay behind this API: a front
 * end never writes a job row itself; the engine and the offline control path do, through
 * `JobsService`.
 */
import type { Database } from 'bun:sqlite';
import { type CommandKind, type EventRow, type HostRow, type JobRow, openDb, type Repos, reposFor } from '@ddm/db';
import {
  AttachedController,
  type CommandResult,
  type RunningEngine,
  runningEngine,
  sendCommand,
  snapshotFromDb,
} from './control.ts';
import { Engine, type EngineOptions } from './engine.ts';
import type { ProbeResult } from './probe.ts';
import type { RequestEnvironment } from './request-context.ts';
import { applyRefresh, type ImportedRequest, verifyReplacement } from './request-import.ts';
import type { AddOptions, EngineSnapshot } from './types.ts';

export type { EventRow, HostRow, JobRow, JobSettings } from '@ddm/db';

/** A job DB opened for a front end (see `openJobStore`). */
export class JobStore {
  readonly #repos: Repos;

  constructor(db: Database) {
    this.#repos = reposFor(db);
  }

  /** The job as stored, or null. */
  job(jobId: number): JobRow | null {
    return this.#repos.jobs.get(jobId);
  }

  /** Every job in queue order. */
  jobs(): JobRow[] {
    return this.#repos.jobs.list();
  }

  /** The job's latest events, newest first. */
  eventsForJob(jobId: number, limit: number): EventRow[] {
    return this.#repos.events.forJob(jobId, limit);
  }

  /** The live engine on this DB, or null (see `runningEngine`). */
  runningEngine(): RunningEngine | null {
    return runningEngine(this.#repos);
  }

  /** A snapshot from the DB alone (see `snapshotFromDb`). */
  snapshot(): EngineSnapshot {
    return snapshotFromDb(this.#repos);
  }

  /**
   * Sends a command to the running engine and waits until it is applied, or applies it to the
   * DB for the next run (see `sendCommand`).
   * @throws DdmError ERR_NOT_FOUND, ERR_ENGINE_BUSY, ERR_ILLEGAL_TRANSITION, ERR_USAGE.
   */
  send(kind: CommandKind, jobId: number | null, arg: Record<string, unknown> = {}): Promise<CommandResult> {
    return sendCommand(this.#repos, kind, jobId, arg);
  }

  /** Hands a job over to the running `get` engine (an `adopt` command), without waiting. */
  handOver(jobId: number): void {
    this.#repos.commands.enqueue('adopt', jobId);
  }

  /** An EngineController for the engine running in another process (see `AttachedController`). */
  attach(addJob: (url: string, options?: AddOptions) => Promise<number>): AttachedController {
    return new AttachedController(this.#repos, addJob);
  }

  /** An engine on this DB. */
  createEngine(options: Omit<EngineOptions, 'repos'>): Engine {
    return new Engine({ ...options, repos: this.#repos });
  }

  /** Keeps what `ddm bench` measured for a host: new jobs to it use `bestConnections`. */
  recordHostBenchmark(host: HostRow): void {
    this.#repos.hosts.put(host);
  }

  /** Probes a job's new request (see `verifyReplacement`). */
  verifyReplacement(
    job: JobRow,
    request: ImportedRequest,
    environment: RequestEnvironment,
    signal: AbortSignal,
  ): ReturnType<typeof verifyReplacement> {
    return verifyReplacement(this.#repos, job, request, environment, signal);
  }

  /** Gives the job its new request (see `applyRefresh`). */
  applyRefresh(job: JobRow, request: ImportedRequest, info: ProbeResult): void {
    applyRefresh(this.#repos, job, request, info);
  }

  close(): void {
    this.#repos.db.close();
  }
}

/**
 * Opens (creating and migrating when needed) the job DB at `dbFile`.
 * @throws DbError (ERR_DB_*) when it cannot be opened, is damaged, or is from a newer ddm.
 */
export function openJobStore(dbFile: string): JobStore {
  return new JobStore(openDb(dbFile));
}
