/**
 * What a job run needs from its engine (`RunnerDeps`) and how it ends: the contract between
 * `Engine` and `JobRun`, in its own file so the run's parts (segment workers) can name it
 * without importing the run.
 */
import type { JobRow, Repos } from '@ddm/db';
import type { GcPacer } from './gc-pacer.ts';
import type { RequestContext } from './http.ts';
import type { Logger } from './log.ts';
import type { TokenBucket } from './rate-limit.ts';
import type { ConnectionPool } from './scheduler.ts';
import type { EngineSettings } from './settings.ts';
import type { EngineEvent, JobState } from './types.ts';

/** `lock-lost`: another engine took the lock over; the run stops without writing anything. */
export type StopReason = 'pause' | 'cancel' | 'remove' | 'interrupt' | 'lock-lost';
export type RunOutcome = 'completed' | 'failed' | StopReason;

/** Distributive Omit, so each event variant keeps its own fields. */
export type EventInput = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, 'at'> : never) : never;

export interface RunnerDeps {
  repos: Repos;
  settings: () => EngineSettings;
  log: Logger;
  pool: ConnectionPool;
  globalBucket: TokenBucket;
  requestContext: (job: JobRow) => RequestContext;
  /** Persists then announces a state change. */
  transition: (jobId: number, to: JobState, reason?: string | null) => void;
  /** Persists then announces an event. */
  emit: (event: EventInput) => void;
  /** True when `path` is the target (final or .part) of another job. */
  isPathReserved: (path: string, exceptJobId: number) => boolean;
  /**
   * Runs DB writes in one transaction that first proves the engine still holds its lock.
   * @throws DdmError ERR_LOCK_LOST (the engine then stops every run).
   */
  fenced: <T>(fn: () => T) => T;
  /** Before every write of bytes: a clock comparison, the DB only when the lease lapsed. @throws ERR_LOCK_LOST */
  checkLease: () => void;
  /** Proves the lock from the DB now (right before the final rename). @throws ERR_LOCK_LOST */
  confirmLock: () => void;
  /** The engine's heap pacing (see gc-pacer.ts), told of every write. */
  gcPacer: GcPacer;
}
