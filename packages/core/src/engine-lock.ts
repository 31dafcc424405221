/**
 * The engine lock: one engine runs jobs on a job DB at a time. The lock row can be taken over
 * from an engine whose heartbeat went silent, so every write that matters is fenced: the holder
 * proves, in the write's own transaction (or under a fresh lease), that the lock is still its own.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DbError, type Repos } from '@ddm/db';
import { DdmError } from './errors.ts';
import type { Logger } from './log.ts';

export const LOCK_STALE_MS = 30_000;
/** The share of the staleness window during which a confirmed lock may be written under without asking the DB. */
const LEASE_SHARE = 1 / 3;

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

/**
 * One engine's hold on the lock of a job DB: acquire, fence writes, renew the lease, and notice a
 * take-over. When another engine took the lock over, `onLost` runs once (the engine stops every
 * run) and every later fenced write or lease check throws the same ERR_LOCK_LOST error.
 */
export class EngineLock {
  private held: HeldLock | null = null;
  private lostError: DdmError | null = null;

  constructor(
    private readonly repos: Repos,
    readonly pid: number,
    readonly staleMs: number,
    private readonly log: Logger,
    private readonly onLost: () => void,
  ) {}

  /** Set once another engine took the lock over. */
  get lost(): DdmError | null {
    return this.lostError;
  }

  /**
   * Takes the lock (over a dead or silent holder) and starts a lease.
   * @throws DdmError ERR_ENGINE_BUSY naming the pid of the engine that holds it.
   */
  acquire(): void {
    const confirmedAtMonoMs = performance.now();
    const confirmedAtWallMs = Date.now();
    const acquired = this.repos.lock.tryAcquire(this.pid, hostname(), (lock) => isLockHolderAlive(lock, this.staleMs));
    if (acquired.holder) {
      throw new DdmError(`Another ddm engine (pid ${acquired.holder.pid}) is running jobs on this database`, {
        code: 'ERR_ENGINE_BUSY',
      });
    }
    this.held = { epoch: acquired.epoch, confirmedAtMonoMs, confirmedAtWallMs };
    this.lostError = null;
  }

  /**
   * Lets the lock go (unless it was lost: then it is another engine's). `beforeRelease` runs
   * first, while the lock is still held.
   */
  release(beforeRelease: () => void): void {
    const lock = this.held;
    this.held = null;
    if (this.lostError || !lock) return;
    beforeRelease();
    this.repos.lock.release(this.pid, lock.epoch);
  }

  /**
   * Runs `fn` (DB writes) in one transaction; while the lock is held, an IMMEDIATE one that
   * first proves the lock is still its own (pid and epoch), so a write of an engine that was
   * taken over never commits.
   * @throws DdmError ERR_LOCK_LOST (after `onLost`) when another engine took over.
   */
  fenced<T>(fn: () => T): T {
    if (this.lostError) throw this.lostError;
    const lock = this.held;
    if (!lock) return this.repos.db.transaction(fn)();
    try {
      return this.repos.lock.fenced(this.pid, lock.epoch, fn);
    } catch (error) {
      if (error instanceof DbError && error.code === 'ERR_LOCK_LOST') throw this.lose();
      throw error;
    }
  }

  /**
   * The cheap proof before bytes go into a job's file, called on every write.
   *
   * Why a lease is safe: another engine takes the lock over only when the heartbeat stored in
   * the DB is older than `staleMs` (its wall clock against ours; same host, same clock). We
   * record the time *before* each heartbeat we store, so while less than `staleMs` has
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
  checkLease(): void {
    if (this.lostError) throw this.lostError;
    const lock = this.held;
    if (!lock) return;
    const leaseMs = this.staleMs * LEASE_SHARE;
    const isFresh =
      performance.now() - lock.confirmedAtMonoMs < leaseMs && Date.now() - lock.confirmedAtWallMs < leaseMs;
    if (!isFresh) this.confirm();
  }

  /**
   * Proves the lock from the DB now and renews the lease: a heartbeat that only updates the row
   * of this pid and epoch (a plain read would prove the lock but not keep a take-over away).
   * @throws DdmError ERR_LOCK_LOST.
   */
  confirm(): void {
    if (this.lostError) throw this.lostError;
    const lock = this.held;
    if (!lock) return;
    const monoMs = performance.now();
    const wallMs = Date.now();
    if (!this.repos.lock.heartbeat(this.pid, lock.epoch, wallMs)) throw this.lose();
    lock.confirmedAtMonoMs = monoMs;
    lock.confirmedAtWallMs = wallMs;
  }

  /** False once the lock is lost (checked at the top of the engine loop). */
  isHeld(): boolean {
    try {
      this.checkLease();
      return true;
    } catch (error) {
      if (this.lostError) return false;
      throw error;
    }
  }

  /**
   * Another engine took the lock over while this one was frozen: `onLost` stops every run at
   * once. They write nothing more (each write would fail the fence anyway) and `run()` ends with
   * the error.
   */
  private lose(): DdmError {
    if (this.lostError) return this.lostError;
    const lock = this.held as HeldLock;
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
    this.lostError = new DdmError(
      `This engine (pid ${this.pid}) lost its lock on the job database to ${who} (it was frozen for ${(silentMs / 1000).toFixed(1)} s); that engine continues the jobs`,
      { code: 'ERR_LOCK_LOST' },
    );
    this.log.warn('engine lock lost', { pid: this.pid, epoch: lock.epoch, holder, silentMs: Math.round(silentMs) });
    this.onLost();
    return this.lostError;
  }
}
