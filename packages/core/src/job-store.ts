/**
 * The job DB as a front end (the CLI) sees it: reads, commands to the engine (or, with none
 * running, to the DB for the next run), and engines on it. The rows stay behind this API: a front
 * end never writes a job row itself; the engine and the offline control path do, through
 * `JobsService`.
 */
import type { Database } from 'bun:sqlite';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type CommandKind,
  DbError,
  type EventRow,
  type HostRow,
  type JobRow,
  openDb,
  type Repos,
  reposFor,
} from '@ddm/db';
import {
  AttachedController,
  type CommandResult,
  type RunningEngine,
  runningEngine,
  type SnapshotFromDbOptions,
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

  /**
   * A snapshot from the DB alone (see `snapshotFromDb`); `{withSegments: false}` for a listing
   * (`ddm status`): segment sums from SQL, no segment rows.
   */
  snapshot(options: SnapshotFromDbOptions = {}): EngineSnapshot {
    return snapshotFromDb(this.#repos, options);
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
 * What a front end does with the job DB. A `read` front end (`ddm status`) creates nothing: it
 * opens the DB read-only when this process cannot write it (a read-only mount, a file or folder
 * without write permission) and sees an empty DB when there is none yet.
 */
export type JobDbAccess = 'read' | 'write';

/**
 * Opens the job DB at `dbFile`. `write` (the default) creates and migrates it when needed;
 * `read` creates nothing (see `JobDbAccess`).
 * @throws DbError ERR_DB_READONLY ("The job DB is read-only: <path>") for `write` on a DB this
 *   process cannot write; (ERR_DB_*) when it cannot be opened, is damaged, or is from a newer
 *   ddm (or, read-only, has an older schema that would need migrating).
 */
export function openJobStore(dbFile: string, access: JobDbAccess = 'write'): JobStore {
  if (access === 'read') return new JobStore(openForReading(dbFile, jobDbWritability(dbFile)));
  assertJobDbWritable(dbFile);
  return new JobStore(openDb(dbFile));
}

/**
 * Throws when the job DB exists and this process cannot write it; a front end checks this
 * before it creates its folders and log for a command that writes.
 * @throws DbError ERR_DB_READONLY naming the DB.
 */
export function assertJobDbWritable(dbFile: string): void {
  if (jobDbWritability(dbFile) === 'read-only') {
    throw new DbError(`The job DB is read-only: ${dbFile}`, 'ERR_DB_READONLY');
  }
}

/**
 * Whether this process can write the DB: `missing` (no file yet), `read-only` (the file or its
 * folder refuses writing: EACCES, EPERM, or EROFS on a read-only mount, which stops root too),
 * else `writable`.
 */
export function jobDbWritability(path: string): 'missing' | 'writable' | 'read-only' {
  if (!existsSync(path)) return 'missing';
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return 'writable';
  } catch (error) {
    const errno = (error as { code?: unknown }).code;
    return errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS' ? 'read-only' : 'writable';
  }
}

/**
 * The DB for a `read` front end: an empty in-memory one when there is none yet (nothing is
 * created), read-only when it cannot be written, else as usual (a migration may be written);
 * a DB that refuses a write after all (SQLITE_READONLY) is opened again read-only.
 */
function openForReading(path: string, state: 'missing' | 'writable' | 'read-only'): Database {
  if (state === 'missing') return openDb(':memory:');
  if (state === 'read-only') return openDb(path, { isReadOnly: true });
  try {
    return openDb(path);
  } catch (error) {
    if (error instanceof DbError && error.code === 'ERR_DB_READONLY') return openDb(path, { isReadOnly: true });
    throw error;
  }
}
