/**
 * The one writer of job rows outside a running download (`JobRun` checkpoints its own job under
 * the engine's fence). The engine uses it under its lock's fence; the offline control path (no
 * engine running) and `continueOrAddJob` use it with plain transactions. Every state change is
 * checked against the transition table in `job.ts`.
 */
import type { JobPatch, JobRow, NewJob, Repos, SegmentRow } from '@ddm/db';
import { wipeJobCredentials } from './credential-wipe.ts';
import { DdmError } from './errors.ts';
import { assertTransition } from './job.ts';
import { deleteOwnJobFiles } from './job-files.ts';
import type { JobState } from './types.ts';

/** Runs DB writes in one transaction (the engine's: fenced by its lock). */
export type WriteFence = <T>(fn: () => T) => T;

/** What a caller may change of a job besides its state. */
export type JobOptionsPatch = Pick<JobPatch, 'connections' | 'limitBytesPerSec' | 'checksum'>;

export class JobsService {
  constructor(
    private readonly repos: Repos,
    readonly write: WriteFence = (fn) => repos.db.transaction(fn)(),
  ) {}

  /** @throws DdmError ERR_NOT_FOUND */
  require(jobId: number): JobRow {
    const job = this.repos.jobs.get(jobId);
    if (!job) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
    return job;
  }

  /**
   * Moves a job to `to` (read, check and write in one transaction), with `patch` in the same
   * write; a completed job's stored credentials are wiped in it. `inTransaction` runs inside it
   * after the move (the offline path records the event there). Moving to the same state is a
   * no-op.
   * @returns the state it moved from, or null when nothing moved.
   * @throws DdmError ERR_ILLEGAL_TRANSITION.
   */
  transition(
    jobId: number,
    to: JobState,
    options: { patch?: JobPatch; inTransaction?: (from: JobState) => void } = {},
  ): JobState | null {
    return this.write(() => {
      const job = this.repos.jobs.get(jobId);
      if (!job || job.state === to) return null;
      assertTransition(jobId, job.state, to);
      this.repos.jobs.update(jobId, { ...options.patch, state: to });
      // A completed job needs no credentials any more: wiped in the same transaction.
      if (to === 'completed') wipeJobCredentials(this.repos, jobId);
      options.inTransaction?.(job.state);
      return job.state;
    });
  }

  /**
   * Inserts a new job. Not fenced: a new row takes nothing from another engine. `atomically`
   * groups several inserts (and the checks between them) into one transaction.
   */
  insert(job: NewJob): JobRow {
    return this.repos.jobs.insert(job);
  }

  /** Runs `fn` (several inserts) in one transaction: all or none. */
  atomically<T>(fn: () => T): T {
    return this.repos.db.transaction(fn)();
  }

  /** Connections, speed limit or checksum for the job's next (or current) run. */
  setOptions(jobId: number, patch: JobOptionsPatch): void {
    this.write(() => this.repos.jobs.update(jobId, patch));
  }

  /** Records why the job cannot run (or clears it with nulls). */
  setError(jobId: number, errorCode: string | null, errorMessage: string | null): void {
    this.write(() => this.repos.jobs.update(jobId, { errorCode, errorMessage }));
  }

  /** Moves the job to the top or bottom of its priority in the queue. */
  move(jobId: number, where: 'top' | 'bottom'): void {
    this.write(() => this.repos.jobs.move(jobId, where));
  }

  /** Forgets the job (and, when asked, deletes only the files it created; see `deleteOwnJobFiles`). */
  remove(job: JobRow, deleteFiles: boolean): void {
    this.write(() => {
      if (deleteFiles) deleteOwnJobFiles(job);
      this.repos.jobs.delete(job.id);
      this.repos.live.delete(job.id);
    });
  }

  /**
   * Gives a just-added job the bytes of a file that was already on disk: its segments, what a
   * probe learned, and `patch`; `beforeCommit` runs last in the same transaction (it moves the
   * file into place), so no engine ever sees the job without its bytes.
   */
  adoptBytes(
    jobId: number,
    segments: readonly Omit<SegmentRow, 'jobId'>[],
    patch: JobPatch,
    beforeCommit: () => void,
  ): void {
    this.write(() => {
      this.repos.segments.replace(jobId, segments);
      this.repos.jobs.update(jobId, patch);
      beforeCommit();
    });
  }

  /** Changes what the job stores besides its state (its settings after adding). */
  update(jobId: number, patch: JobPatch): void {
    this.write(() => this.repos.jobs.update(jobId, patch));
  }
}

/**
 * The `where` of a `move` command.
 * @throws DdmError ERR_USAGE for anything but 'top' or 'bottom'.
 */
export function moveWhere(arg: Record<string, unknown>): 'top' | 'bottom' {
  if (arg.where === 'top' || arg.where === 'bottom') return arg.where;
  throw new DdmError(`A move goes to the top or the bottom, not: ${String(arg.where)}`, { code: 'ERR_USAGE' });
}
