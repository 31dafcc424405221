/**
 * The connections of one download attempt: up to the job's count of workers, each claiming a
 * segment (or stealing work from the one expected to finish last), fetching it request by
 * request through `range-fetch.ts`, and deciding after a failed request: start the job over,
 * renew an expired link, wait and retry, or fail the attempt. A lowered count retires the
 * newest connections; their bytes stay and their ranges go back to the others.
 */

import type { JobRow } from '@ddm/db';
import { type ErrorCode, HttpStatusError, toDdmError } from './errors.ts';
import type { PartFile } from './file-writer.ts';
import type { RequestContext } from './http.ts';
import { claimSegment, type LiveSegment } from './live-segment.ts';
import { type Mirror, MirrorDropped, type MirrorSet } from './mirrors.ts';
import { openRange, pumpBody } from './range-fetch.ts';
import type { TokenBucket } from './rate-limit.ts';
import { retryDelayMs, retryWhy, waitMs } from './retry.ts';
import type { RunnerDeps } from './run-deps.ts';
import { type SegmentMonitor, SlowRestart } from './segment-monitor.ts';
import type { EngineSettings } from './settings.ts';

/** The job must start over from byte 0 (resource changed, ranges unsupported, ...). */
export class RestartSignal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    readonly isSingleConnection: boolean,
  ) {
    super(reason);
  }
}

const RESTARTABLE: readonly ErrorCode[] = ['ERR_RESOURCE_CHANGED', 'ERR_RANGE_UNSUPPORTED', 'ERR_COMPRESSED'];
const EXPIRED_LINK_STATUSES = [401, 403, 410];

/** What the workers read of their run, live: the run replaces the job snapshot and the count. */
export interface WorkersRun {
  readonly job: JobRow;
  readonly segments: LiveSegment[];
  readonly maxConnections: number;
}

export interface WorkersOptions {
  run: WorkersRun;
  deps: Pick<RunnerDeps, 'settings' | 'pool' | 'globalBucket' | 'checkLease' | 'emit' | 'log'>;
  /** The attempt's signal: a stop, or a worker's fatal error through `fail`, aborts it. */
  signal: AbortSignal;
  /** Ends the attempt with `error` (aborts `signal`). */
  fail: (error: unknown) => void;
  /** The host of the job's final URL, for the shared connection pool. */
  host: string;
  /** The job's URLs when it has several (see mirrors.ts); null for a single URL. */
  mirrors: MirrorSet | null;
  file: PartFile;
  bucket: TokenBucket;
  monitor: SegmentMonitor;
  requestContext: () => RequestContext;
  setWhy: (text: string, reach?: 'stored' | 'shown') => void;
  /** After every complete write to the file. */
  onWritten: (bytes: number) => void;
  /** A body without a known length ended: the job's size is now known. */
  onSizeLearned: (sizeBytes: number) => void;
  /** Renews an expired link from the original URL; null when the renewals are spent. */
  reResolve: (cause: HttpStatusError) => Promise<void> | null;
}

/** A worker's connection slot from the shared pool; null while it holds none. */
interface Slot {
  release: (() => void) | null;
}

/** One worker (connection) of a job's download. */
interface WorkerState {
  /** Counted out of the job's connections; it ends after its current request. */
  isRetiring: boolean;
  /** The mirror this connection talks to; null for a job with a single URL. */
  mirror: Mirror | null;
}

/** Aborts a request whose connection is beyond a lowered connection count. */
class SurplusConnection extends Error {
  constructor() {
    super('connection closed: the job uses fewer connections now');
  }
}

export class SegmentWorkers {
  private readonly workers = new Set<Promise<void>>();
  /** Workers that decided to give their connection up but have not ended yet. */
  private retiringWorkers = 0;

  constructor(private readonly o: WorkersOptions) {}

  /**
   * Runs workers until none has work left or the attempt's signal aborts. The other mirrors are
   * checked first (none is used before), and the re-probes of failed mirrors are awaited at the
   * end, so the run ends with every mirror's verdict.
   */
  async run(): Promise<void> {
    await this.o.mirrors?.checkOthers(this.o.run.job);
    this.spawn();
    while (this.workers.size > 0) await Promise.allSettled([...this.workers]);
    if (!this.o.signal.aborted) await this.o.mirrors?.settled();
  }

  /**
   * Follows the job's connection count: a higher count opens connections for the free or
   * splittable ranges; a lower one closes the newest surplus connections now: their written
   * bytes stay, and their ranges go back to the pool for the remaining connections.
   */
  resize(): void {
    this.spawn();
    this.closeSurplusConnections();
  }

  private get wanted(): number {
    return Math.max(1, this.o.run.maxConnections);
  }

  private spawn(): void {
    while (this.workers.size - this.retiringWorkers < this.wanted) {
      const seg = this.claim();
      if (!seg) break;
      const state: WorkerState = { isRetiring: false, mirror: this.o.mirrors?.pick(this.o.deps.pool) ?? null };
      const worker: Promise<void> = this.worker(seg, state).finally(() => {
        this.workers.delete(worker);
        if (state.isRetiring) this.retiringWorkers--;
      });
      this.workers.add(worker);
    }
  }

  /** Aborts the requests of the newest connections beyond the job's count (a segment boundary-safe abort: bytes are flushed). */
  private closeSurplusConnections(): void {
    let surplus = this.workers.size - this.retiringWorkers - this.wanted;
    if (surplus <= 0) return;
    const open = this.o.run.segments
      .filter((s) => s.requestAbort !== null && !s.requestAbort.signal.aborted)
      .sort((a, b) => b.requestStartedAt - a.requestStartedAt);
    for (const s of open) {
      if (surplus-- <= 0) break;
      s.requestAbort?.abort(new SurplusConnection());
    }
  }

  /**
   * True when `worker` is one connection too many for the job's count; it is then counted out at
   * once, so two workers deciding together do not both leave.
   */
  private retireIfSurplus(worker: WorkerState): boolean {
    if (worker.isRetiring) return true;
    if (this.workers.size - this.retiringWorkers <= this.wanted) return false;
    worker.isRetiring = true;
    this.retiringWorkers++;
    return true;
  }

  private async worker(first: LiveSegment, state: WorkerState): Promise<void> {
    let seg: LiveSegment | null = first;
    // The connection slot stays with the worker from one segment to the next, so a worker that
    // steals work does not queue behind other jobs for a slot it just had.
    const slot: Slot = { release: null };
    try {
      while (seg && !this.o.signal.aborted) {
        await this.runSegment(seg, slot, state);
        seg.isOwned = false;
        if (this.retireIfSurplus(state)) return;
        seg = this.claim();
      }
    } catch (error) {
      if (seg) seg.isOwned = false;
      if (!this.o.signal.aborted) this.o.fail(error);
    } finally {
      slot.release?.();
    }
  }

  /** The next work for a free connection (see {@link claimSegment}); a split is announced. */
  private claim(): LiveSegment | null {
    const { job, segments } = this.o.run;
    const claimed = claimSegment(segments, {
      canSplit: job.isResumable && job.sizeBytes !== null,
      minSplitBytes: this.o.deps.settings().minSplitBytes,
      typicalRate: (rates) => this.o.monitor.typicalRate(rates),
      now: Date.now(),
    });
    if (claimed?.split) this.o.deps.emit({ type: 'segment-split', jobId: job.id, ...claimed.split });
    return claimed?.segment ?? null;
  }

  /**
   * Moves `worker` to another usable mirror (`avoid` only when there is another), giving its
   * slot back when the host changes. False when no mirror is usable: the worker then ends, and
   * the job's error is the one that dropped the last mirror.
   */
  private switchMirror(worker: WorkerState, slot: Slot, avoid: Mirror | null): boolean {
    const next = this.o.mirrors?.pick(this.o.deps.pool, avoid) ?? null;
    if (!next) return false;
    if (next.host !== worker.mirror?.host) {
      slot.release?.();
      slot.release = null;
    }
    worker.mirror = next;
    return true;
  }

  /** Fetches `seg` to its end, or returns early (segment not done) on a stop or when `worker` retires. */
  private async runSegment(seg: LiveSegment, slot: Slot, worker: WorkerState): Promise<void> {
    const { deps, run } = this.o;
    const settings = deps.settings();
    let attempts = 0;
    while (!seg.isDone) {
      if (this.o.signal.aborted) return;
      // Also after a backoff: a connection lowered meanwhile is not opened again.
      if (this.retireIfSurplus(worker)) return;
      if (worker.mirror?.state === 'dropped' && !this.switchMirror(worker, slot, null)) return;
      const mirror = worker.mirror;
      seg.mirror = mirror;
      slot.release ??= await deps.pool.acquire(mirror?.host ?? this.o.host, this.o.signal);
      const requestAbort = new AbortController();
      seg.requestAbort = requestAbort;
      const signal = AbortSignal.any([this.o.signal, requestAbort.signal]);
      const before = seg.receivedBytes;
      try {
        if (!run.job.isResumable && seg.writtenBytes > 0) {
          // Without ranges a retry must start from byte 0 again.
          seg.writtenBytes = 0;
          seg.receivedBytes = 0;
          if (run.job.sizeBytes === null) seg.end = null;
          this.o.setWhy('single connection dropped; fetching again from byte 0 (the server cannot resume)');
        }
        seg.status = 'active';
        seg.requestStartedAt = Date.now();
        seg.samples = [];
        seg.lowSince = null;
        seg.slowSince = null;
        const opened = await openRange(this.o.requestContext(), run.job, seg, signal, mirror);
        const learnedSizeBytes = await pumpBody(seg, opened, {
          file: this.o.file,
          url: mirror?.finalUrl ?? run.job.finalUrl,
          bufferBytes: settings.segmentBufferBytes,
          buckets: [this.o.bucket, deps.globalBucket],
          checkLease: deps.checkLease,
          onWritten: mirror ? (bytes) => this.noteMirrorBytes(mirror, bytes) : this.o.onWritten,
          signal,
        });
        if (learnedSizeBytes !== null) this.o.onSizeLearned(learnedSizeBytes);
        if (seg.receivedBytes > before) attempts = 0;
        this.o.monitor.recordConnectionRate(seg.receivedBytes - before, Date.now() - seg.requestStartedAt);
      } catch (error) {
        if (this.o.signal.aborted) return;
        const reason = requestAbort.signal.aborted ? requestAbort.signal.reason : error;
        if (reason instanceof SurplusConnection || reason instanceof MirrorDropped) continue;
        if (reason instanceof SlowRestart) {
          // A new connection to another mirror is the better path a laggard restart looks for.
          if (mirror) this.switchMirror(worker, slot, mirror);
          continue;
        }
        if (seg.receivedBytes > before) attempts = 0;
        if (mirror && this.movedToOtherMirror(seg, worker, slot, reason)) continue;
        // Nobody waits on a slot held through a backoff.
        slot.release?.();
        slot.release = null;
        await this.handleError(seg, reason, ++attempts, settings, mirror);
      } finally {
        seg.requestAbort = null;
        if (seg.status === 'active' || seg.status === 'stalled') seg.status = 'pending';
      }
    }
    seg.status = 'done';
  }

  private noteMirrorBytes(mirror: Mirror, bytes: number): void {
    mirror.bytes += bytes;
    mirror.failures = 0;
    this.o.onWritten(bytes);
  }

  /**
   * A request to `worker`'s mirror failed while another mirror is usable: the mirror is dropped
   * (an answer no retry mends: another resource, a 200 to a range, a refusal) or its failure is
   * counted and it is probed again; either way the segment goes on from another mirror at once.
   * False when no other mirror is usable: the error is then handled as for a single URL.
   */
  private movedToOtherMirror(seg: LiveSegment, worker: WorkerState, slot: Slot, error: unknown): boolean {
    const mirrors = this.o.mirrors as MirrorSet;
    const mirror = worker.mirror as Mirror;
    if (mirror.state === 'dropped' || !mirrors.usable.some((m) => m !== mirror)) return false;
    if (error instanceof RestartSignal) return false;
    const err = toDdmError(error);
    // The job's own URL may get a fresh link first (handleError renews it).
    const isExpired = err instanceof HttpStatusError && EXPIRED_LINK_STATUSES.includes(err.status);
    if (isExpired && mirror.url === this.o.run.job.url) return false;
    const isOverload = err instanceof HttpStatusError && (err.status === 429 || err.status === 503);
    if (isOverload) this.o.deps.pool.penalize(mirror.host);
    if (!isOverload && (RESTARTABLE.includes(err.code) || !err.retryable))
      mirrors.drop(mirror, err, this.o.run.segments);
    else mirrors.noteFailure(mirror, err, this.o.run.job);
    const { id: jobId } = this.o.run.job;
    this.o.deps.log.info('mirror request failed', { jobId, index: seg.index, code: err.code, message: err.message });
    this.switchMirror(worker, slot, mirror);
    // Without a usable mirror left, the loop's next turn ends the worker.
    return true;
  }

  /**
   * After a failed request of `seg`: throws a RestartSignal (start over), renews an expired link,
   * or waits `retryDelayMs` and returns so the segment is fetched again from its written offset.
   * @throws RestartSignal, or the error itself when it is not retryable or the attempts are spent.
   */
  private async handleError(
    seg: LiveSegment,
    error: unknown,
    attempt: number,
    settings: EngineSettings,
    mirror: Mirror | null,
  ): Promise<void> {
    if (error instanceof RestartSignal) throw error;
    const err = toDdmError(error);
    const host = mirror?.host ?? this.o.host;
    if (RESTARTABLE.includes(err.code)) {
      throw new RestartSignal(err.code, err.message, err.code !== 'ERR_RESOURCE_CHANGED');
    }
    // Only the job's own URL can be asked for a fresh link; a mirror's expiry is its failure.
    const isJobUrl = !mirror || mirror.url === this.o.run.job.url;
    if (err instanceof HttpStatusError && EXPIRED_LINK_STATUSES.includes(err.status) && isJobUrl) {
      const renewal = this.o.reResolve(err);
      if (renewal) {
        await renewal;
        if (mirror) mirror.finalUrl = this.o.run.job.finalUrl ?? mirror.finalUrl;
        return;
      }
    }
    if (err instanceof HttpStatusError && (err.status === 429 || err.status === 503)) {
      const cap = this.o.deps.pool.penalize(host);
      this.o.setWhy(`server answered ${err.status}: at most ${cap} connection(s) to ${host} for now`);
    }
    if (!err.retryable || attempt > settings.retryAttempts) {
      // The mirror is dropped (so every mirror shows its why); the job goes on while another is usable.
      if (mirror && this.o.mirrors) {
        this.o.mirrors.drop(mirror, err, this.o.run.segments);
        if (this.o.mirrors.usable.length > 0) return;
      }
      throw err;
    }
    const delayMs = retryDelayMs(err, attempt, settings);
    seg.status = 'retrying';
    seg.retries++;
    const { id: jobId } = this.o.run.job;
    const { index } = seg;
    const { code, message } = err;
    this.o.deps.emit({ type: 'segment-retry', jobId, index, attempt, delayMs: Math.round(delayMs), code, message });
    this.o.setWhy(retryWhy(`segment #${index}`, delayMs, attempt, settings.retryAttempts, err), 'shown');
    this.o.deps.log.info('segment retry', { jobId, index, attempt, delayMs, code, message });
    await waitMs(delayMs, this.o.signal);
  }
}
