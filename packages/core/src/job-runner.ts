/**
 * One run of one job: probe, plan, download the segments over parallel Range GETs into the
 * `.part` file, checkpoint, verify, rename. Splits ranges when a connection runs out of work,
 * restarts connections that stall or lag far behind their siblings, re-resolves expired links.
 *
 * A run ends when the job completes or fails, or when the engine stops it (pause, cancel,
 * remove, shutdown); work of an older run is discarded because each run has its own signal.
 */

import { lstatSync, readdirSync } from 'node:fs';
import { link, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRow, Repos, SegmentRow } from '@ddm/db';
import { DdmError, type ErrorCode, errnoOf, HttpStatusError } from './errors.ts';
import {
  type FileIdentity,
  ioError,
  isNameTaken,
  isSameFile,
  lstatOrNull,
  PartFile,
  unsafePathError,
} from './file-writer.ts';
import { fileNameFromResponse, pickFreeName, sanitizeFileName } from './filename.ts';
import { type RequestContext, sendRequest } from './http.ts';
import type { Logger } from './log.ts';
import { ifRangeValidator, type ProbeResult, parseContentRange, probe, statusError } from './probe.ts';
import { acquire, TokenBucket } from './rate-limit.ts';
import { redactText } from './redact.ts';
import { backoffDelayMs, classifyError } from './retry.ts';
import type { ConnectionPool } from './scheduler.ts';
import { pickSplitByRate, planSegments } from './segment-plan.ts';
import type { EngineSettings } from './settings.ts';
import type { EngineEvent, JobState, SegmentSnapshot, SegmentStatus } from './types.ts';
import { formatRate } from './units.ts';

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
}

/** The job must start over from byte 0 (resource changed, ranges unsupported, ...). */
class RestartSignal extends Error {
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
const MAX_RESTARTS = 3;
const MAX_RE_RESOLVES = 5;
const MONITOR_INTERVAL_MS = 250;
const RATE_WINDOW_MS = 2000;
/** A checkpoint also starts after 1% of the file (within these bounds) was written since the last. */
const MIN_CHECKPOINT_BYTES = 8 * 1024 * 1024;
const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** Age from which a connection's rate counts (for splitting and laggard checks). */
const RATE_MATURE_MS = 500;
const MAX_SLOW_RESTARTS = 3;
/** Names tried when the final name keeps being taken while the finished file is moved into place. */
const MAX_MOVE_TRIES = 5;

class LiveSegment {
  status: SegmentStatus = 'pending';
  /** Bytes written to the file (complete writes) from `start` on. */
  writtenBytes: number;
  /** Written plus buffered: where the connection is in the range. */
  receivedBytes: number;
  retries = 0;
  isOwned = false;
  requestAbort: AbortController | null = null;
  requestStartedAt = 0;
  samples: { at: number; bytes: number }[] = [];
  rateBytesPerSec = 0;
  lowSince: number | null = null;
  slowSince: number | null = null;
  slowRestarts = 0;
  buffer: Uint8Array | null = null;

  constructor(
    readonly index: number,
    public start: number,
    public end: number | null,
    writtenBytes: number,
    readonly splitFrom: number | null,
  ) {
    this.writtenBytes = writtenBytes;
    this.receivedBytes = writtenBytes;
  }

  get cursor(): number {
    return this.start + this.receivedBytes;
  }

  get isDone(): boolean {
    return this.end !== null && this.start + this.writtenBytes >= this.end;
  }

  remaining(): number {
    return this.end === null ? Number.POSITIVE_INFINITY : this.end - this.cursor;
  }

  toRow(): Omit<SegmentRow, 'jobId'> {
    return {
      index: this.index,
      start: this.start,
      end: this.end,
      writtenBytes: this.writtenBytes,
      splitFrom: this.splitFrom,
    };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function strongEtagDiffers(stored: string | null, received: string | null): boolean {
  if (!stored || !received) return false;
  const norm = (e: string) => e.replace(/^W\//, '');
  return norm(stored) !== norm(received);
}

export class JobRun {
  private readonly userAbort = new AbortController();
  private fatalAbort = new AbortController();
  stopReason: StopReason | null = null;
  job: JobRow;
  segments: LiveSegment[] = [];
  private file: PartFile | null = null;
  readonly bucket: TokenBucket;
  maxConnections: number;
  rateBytesPerSec = 0;
  why: string | null = null;
  private fatalError: unknown = null;
  private workers = new Set<Promise<void>>();
  private isCheckpointing: Promise<void> | null = null;
  private reResolving: Promise<void> | null = null;
  private reResolves = 0;
  private bytesSinceCheckpoint = 0;
  /** Rates of recently finished requests (bytes/s), newest last. */
  private finishedRates: number[] = [];
  private bytesAtLastReResolve = 0;
  private ctx: RequestContext | null = null;
  private host = '';
  private isDownloading = false;
  private restartReason: string | null = null;

  constructor(
    private readonly deps: RunnerDeps,
    job: JobRow,
  ) {
    this.job = job;
    this.bucket = new TokenBucket(job.limitBytesPerSec);
    this.maxConnections = job.connections;
    this.why = job.why;
  }

  get id(): number {
    return this.job.id;
  }

  get partPath(): string {
    return join(this.job.dir, `${this.job.fileName}.part`);
  }

  get finalPath(): string {
    return join(this.job.dir, this.job.fileName);
  }

  get connections(): number {
    return this.segments.filter((s) => s.status === 'active' || s.status === 'stalled').length;
  }

  get doneBytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.receivedBytes;
    return sum;
  }

  /** Stops the run; `run()` then resolves with the reason. Pending bytes are flushed and checkpointed. */
  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.userAbort.abort(new DdmError(`Job ${this.id} stopped (${reason})`, { code: 'ERR_CANCELED' }));
  }

  setLimit(bytesPerSec: number | null): void {
    this.bucket.setRate(bytesPerSec);
    this.job = { ...this.job, limitBytesPerSec: bytesPerSec };
  }

  setConnections(connections: number): void {
    this.maxConnections = connections;
    this.job = { ...this.job, connections };
    if (this.isDownloading) this.spawnWorkers();
  }

  segmentSnapshots(): SegmentSnapshot[] {
    return this.segments.map((s) => ({
      index: s.index,
      start: s.start,
      end: s.end,
      writtenBytes: s.receivedBytes,
      status: s.isDone ? 'done' : s.status,
      rateBytesPerSec: s.rateBytesPerSec,
      retries: s.retries,
      splitFrom: s.splitFrom,
    }));
  }

  /** Aborted by a stop or by a fatal error of this attempt; set once per attempt (not per use). */
  private signal: AbortSignal = this.userAbort.signal;

  private setWhy(text: string): void {
    // Redacted before it is stored: a retry reason quotes URLs and server messages.
    const why = redactText(text);
    this.why = why;
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { why }));
    this.deps.emit({ type: 'job-why', jobId: this.id, why });
  }

  private refreshJob(): void {
    const row = this.deps.repos.jobs.get(this.id);
    if (row) this.job = { ...row, connections: this.maxConnections, limitBytesPerSec: this.bucket.rate };
  }

  /** Runs the job to an outcome. Never throws: failures are recorded on the job. */
  async run(): Promise<RunOutcome> {
    let restarts = 0;
    let isRestart = false;
    for (;;) {
      try {
        await this.attempt(isRestart);
        return 'completed';
      } catch (error) {
        await this.closeFile();
        if (this.stopReason) return this.stopReason;
        if (error instanceof RestartSignal && restarts < MAX_RESTARTS) {
          restarts++;
          isRestart = true;
          await this.restartFromZero(error);
          continue;
        }
        return this.failWith(error instanceof RestartSignal ? new DdmError(error.reason, { code: error.code }) : error);
      }
    }
  }

  private failWith(error: unknown): 'failed' {
    const ddmError = toDdmError(error);
    const code = ddmError.code;
    // Redacted before it is stored: the message may quote a signed URL or an echoed header.
    const message = redactText(ddmError.message);
    const stack =
      error instanceof Error ? `${error.stack}\ncaused by ${(error.cause as Error | undefined)?.stack}` : undefined;
    this.deps.log.warn('job failed', { jobId: this.id, code, message, stack });
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { errorCode: code, errorMessage: message }));
    this.deps.transition(this.id, 'failed', message);
    return 'failed';
  }

  private async restartFromZero(signal: RestartSignal): Promise<void> {
    const settings = { ...this.job.settings, restarts: (this.job.settings.restarts ?? 0) + 1 };
    const patch: Parameters<Repos['jobs']['update']>[1] = { settings, etag: null, lastModified: null, sizeBytes: null };
    if (signal.isSingleConnection) {
      patch.acceptsRanges = false;
      patch.isResumable = false;
    }
    this.deps.fenced(() => {
      this.deps.repos.segments.deleteAll(this.id);
      this.deps.repos.jobs.update(this.id, patch);
    });
    this.refreshJob();
    this.segments = [];
    this.restartReason = signal.reason;
    this.deps.emit({ type: 'job-restarted', jobId: this.id, code: signal.code, reason: signal.reason });
    this.setWhy(`restarted from zero: ${signal.reason}`);
  }

  private async attempt(isRestart: boolean): Promise<void> {
    // A restart comes from a worker that aborted `fatalAbort`; without a fresh controller the
    // restart's probe would see an aborted signal and every restart would fail at once.
    this.fatalAbort = new AbortController();
    this.signal = AbortSignal.any([this.userAbort.signal, this.fatalAbort.signal]);
    this.fatalError = null;
    this.refreshJob();
    this.deps.transition(this.id, 'probing', isRestart ? 'restart' : null);
    if (!isRestart && (await this.finishInterruptedMove())) return;
    this.ctx = this.deps.requestContext(this.job);
    const info = await this.withRetries('probe', () => probe(this.requestContext(), this.job.url, this.signal));
    this.host = new URL(info.finalUrl).host;
    this.applyProbe(info, isRestart);
    // Creating or emptying the .part is a write to the job's file: only under the lease.
    this.deps.checkLease();
    if (info.sizeBytes === 0) {
      // Nothing to fetch, but the job still passes through downloading: the state table has no
      // shortcut from probing to verifying, and none is needed.
      await this.ensureFile(0);
      this.deps.transition(this.id, 'downloading');
      await this.finish();
      return;
    }
    await this.ensureFile(this.job.sizeBytes);
    this.deps.transition(this.id, 'downloading');
    await this.download();
    await this.finish();
  }

  private requestContext(): RequestContext {
    if (!this.ctx) this.ctx = this.deps.requestContext(this.job);
    return this.ctx;
  }

  /** Compares the probe with what the job knew, names the file, plans segments. */
  private applyProbe(info: ProbeResult, isRestart: boolean): void {
    const { repos } = this.deps;
    const job = this.job;
    const stored = repos.segments.list(this.id);
    const hasProgress = stored.some((s) => s.writtenBytes > 0);
    if (hasProgress && !isRestart) {
      const changed = resourceChange(job, info);
      if (changed) throw new RestartSignal('ERR_RESOURCE_CHANGED', changed, false);
      if (!job.isResumable) {
        throw new RestartSignal(
          'ERR_RANGE_UNSUPPORTED',
          'the server cannot resume (no Range support or no length)',
          true,
        );
      }
    }
    const wasSingle = job.acceptsRanges === false && job.isResumable === false && isRestart;
    const acceptsRanges = info.acceptsRanges && !info.isCompressed && !wasSingle;
    const isResumable = acceptsRanges && info.sizeBytes !== null;
    const whyParts: string[] = [];
    // Keep the reason of a restart: the probe's own reasons below would otherwise replace it.
    if (isRestart && this.restartReason) whyParts.push(`restarted from zero: ${this.restartReason}`);
    if (!info.acceptsRanges) whyParts.push('single connection: the server does not support Range requests');
    else if (info.isCompressed) whyParts.push('single connection: the server compresses the body');
    else if (wasSingle) whyParts.push('single connection: ranged answers were unusable earlier');
    // A missing length matters on its own (no preallocation, no resume), with or without Range.
    if (info.sizeBytes === null) whyParts.push('no length: size learned at the end, cannot resume');
    whyParts.push(...info.notes);

    let fileName = job.fileName;
    if (!job.hasCreatedFile && !job.settings.isFileNameFixed) {
      const picked = fileNameFromResponse({
        contentDisposition: info.contentDisposition,
        url: info.finalUrl,
        contentType: info.contentType,
      });
      const fromUrl = fileNameFromResponse({ url: job.url });
      if (picked.source === 'content-disposition' || picked.name !== fromUrl.name) {
        const name = sanitizeFileName(picked.name);
        fileName = this.freeName(name);
      }
    }
    const isFirstPlan = stored.length === 0;
    this.deps.fenced(() =>
      repos.jobs.update(this.id, {
        finalUrl: info.finalUrl,
        sizeBytes: info.sizeBytes,
        etag: info.etag,
        lastModified: info.lastModified,
        acceptsRanges,
        isResumable,
        fileName,
        ...(whyParts.length > 0 ? { why: whyParts.join('; ') } : {}),
        errorCode: null,
        errorMessage: null,
      }),
    );
    this.refreshJob();
    if (whyParts.length > 0) this.setWhy(whyParts.join('; '));

    if (isFirstPlan || !isResumable) {
      const settings = this.deps.settings();
      const ranges =
        isResumable && info.sizeBytes !== null
          ? planSegments(info.sizeBytes, Math.max(1, this.maxConnections), settings.minSplitBytes)
          : [{ start: 0, end: info.sizeBytes }];
      const rows = ranges.map((r, index) => ({ index, start: r.start, end: r.end, writtenBytes: 0, splitFrom: null }));
      this.deps.fenced(() => repos.segments.replace(this.id, rows));
      this.segments = rows.map((r) => new LiveSegment(r.index, r.start, r.end, 0, null));
      this.deps.emit({ type: 'segments-planned', jobId: this.id, count: rows.length, sizeBytes: info.sizeBytes });
    } else {
      this.segments = stored.map((r) => new LiveSegment(r.index, r.start, r.end, r.writtenBytes, r.splitFrom));
    }
  }

  private freeName(name: string): string {
    const overwrite = this.job.settings.overwrite ?? this.deps.settings().overwrite;
    // lstat, not stat: a dangling symlink at a name makes it taken, not free.
    const isTaken = (candidate: string) => {
      const full = join(this.job.dir, candidate);
      if (this.deps.isPathReserved(full, this.id)) return true;
      if (isNameTaken(`${full}.part`)) return true;
      return overwrite !== 'overwrite' && isNameTaken(full);
    };
    if (!isTaken(name)) return name;
    if (overwrite === 'fail') {
      throw new DdmError(`File already exists (overwrite = "fail"): ${join(this.job.dir, name)}`, {
        code: 'ERR_FILE_EXISTS',
      });
    }
    return pickFreeName(name, isTaken);
  }

  private async ensureFile(sizeBytes: number | null): Promise<void> {
    const { repos } = this.deps;
    if (this.job.hasCreatedFile) {
      const existing = await PartFile.openExisting(this.partPath, this.job.settings.partFile);
      if (existing) {
        this.file = existing;
        // A fresh plan (a restart from zero, a new version) must not inherit the old file's
        // length or bytes: a smaller new version would fail the size check, and stale bytes of
        // the old version must never stand in for the new one. Empty it, then reserve again.
        const isFreshPlan = this.segments.every((s) => s.writtenBytes === 0);
        if (!this.job.isResumable || isFreshPlan) {
          await existing.truncate(0);
          await existing.truncate(sizeBytes ?? 0);
        }
        return;
      }
      if (this.segments.some((s) => s.writtenBytes > 0)) {
        throw new RestartSignal('ERR_IO', `the .part file is gone: ${this.partPath}`, false);
      }
    }
    this.file = await PartFile.create(this.partPath, sizeBytes, this.deps.settings().fileAllocation);
    this.deps.fenced(() =>
      repos.jobs.update(this.id, {
        hasCreatedFile: true,
        settings: { ...this.job.settings, partFile: (this.file as PartFile).identity },
      }),
    );
    this.refreshJob();
  }

  private async closeFile(): Promise<void> {
    await this.file?.close();
    this.file = null;
  }

  // ---- downloading -------------------------------------------------------------------------

  private async download(): Promise<void> {
    this.isDownloading = true;
    const settings = this.deps.settings();
    const checkpointTimer = setInterval(() => {
      // A periodic checkpoint is skipped while one is still syncing; stops force a fresh one.
      if (!this.isCheckpointing) void this.checkpoint().catch((error) => this.failFromTimer(error));
    }, settings.checkpointIntervalMs);
    const monitorTimer = setInterval(() => {
      try {
        this.monitor();
      } catch (error) {
        this.failFromTimer(error);
      }
    }, MONITOR_INTERVAL_MS);
    try {
      this.spawnWorkers();
      while (this.workers.size > 0) await Promise.allSettled([...this.workers]);
    } finally {
      this.isDownloading = false;
      clearInterval(checkpointTimer);
      clearInterval(monitorTimer);
      for (const s of this.segments) {
        s.status = s.isDone ? 'done' : 'pending';
        s.rateBytesPerSec = 0;
      }
      this.rateBytesPerSec = 0;
      await this.checkpoint();
    }
    if (this.fatalError) throw this.fatalError;
    if (this.stopReason) throw this.userAbort.signal.reason;
    const missing = this.segments.find((s) => !s.isDone);
    if (missing) {
      throw new DdmError(`Segment #${missing.index} ended early: ${this.job.finalUrl ?? this.job.url}`, {
        code: 'ERR_NETWORK',
      });
    }
  }

  private spawnWorkers(): void {
    const wanted = Math.max(1, this.maxConnections);
    while (this.workers.size < wanted) {
      const seg = this.claim();
      if (!seg) break;
      const worker: Promise<void> = this.worker(seg).finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  private async worker(first: LiveSegment): Promise<void> {
    let seg: LiveSegment | null = first;
    // The connection slot stays with the worker from one segment to the next, so a worker that
    // steals work does not queue behind other jobs for a slot it just had.
    const slot: Slot = { release: null };
    try {
      while (seg && !this.signal.aborted) {
        await this.runSegment(seg, slot);
        seg.isOwned = false;
        if (this.workers.size > Math.max(1, this.maxConnections)) return;
        seg = this.claim();
      }
    } catch (error) {
      if (seg) seg.isOwned = false;
      if (!this.signal.aborted) {
        this.fatalError = error;
        this.fatalAbort.abort(error);
      }
    } finally {
      slot.release?.();
    }
  }

  /**
   * An unowned unfinished segment, or work stolen from the segment expected to finish last: the
   * back half of the largest remaining range, or, from a laggard, all but what it can write
   * while the new connection fetches the rest.
   */
  private claim(): LiveSegment | null {
    const free = this.segments.find((s) => !s.isOwned && !s.isDone);
    if (free) {
      free.isOwned = true;
      return free;
    }
    if (!this.job.isResumable || this.job.sizeBytes === null) return null;
    const settings = this.deps.settings();
    const now = Date.now();
    const live = this.segments
      .filter((s) => !s.isDone && s.end !== null)
      .map((s) => ({
        index: s.index,
        start: s.start,
        end: s.end as number,
        writtenBytes: s.receivedBytes,
        // A rate measured over less than half a second says little; treat it as unknown.
        rateBytesPerSec: s.status === 'active' && now - s.requestStartedAt >= RATE_MATURE_MS ? s.rateBytesPerSec : 0,
      }));
    const split = pickSplitByRate(live, {
      minSplitBytes: settings.minSplitBytes,
      newRateBytesPerSec: this.typicalRate(live.map((s) => s.rateBytesPerSec)),
    });
    if (!split) return null;
    const victim = this.segments.find((s) => s.index === split.index);
    if (!victim || victim.end === null) return null;
    const newIndex = Math.max(...this.segments.map((s) => s.index)) + 1;
    const created = new LiveSegment(newIndex, split.at, victim.end, 0, victim.index);
    victim.end = split.at;
    created.isOwned = true;
    this.segments.push(created);
    this.segments.sort((a, b) => a.start - b.start);
    this.deps.emit({ type: 'segment-split', jobId: this.id, from: victim.index, to: newIndex, atByte: split.at });
    return created;
  }

  private async runSegment(seg: LiveSegment, slot: Slot): Promise<void> {
    const settings = this.deps.settings();
    let attempts = 0;
    while (!seg.isDone) {
      if (this.signal.aborted) return;
      slot.release ??= await this.deps.pool.acquire(this.host, this.signal);
      const requestAbort = new AbortController();
      seg.requestAbort = requestAbort;
      const signal = AbortSignal.any([this.signal, requestAbort.signal]);
      const before = seg.receivedBytes;
      try {
        if (!this.job.isResumable && seg.writtenBytes > 0) {
          // Without ranges a retry must start from byte 0 again.
          seg.writtenBytes = 0;
          seg.receivedBytes = 0;
          if (this.job.sizeBytes === null) seg.end = null;
          this.setWhy('single connection dropped; fetching again from byte 0 (the server cannot resume)');
        }
        seg.status = 'active';
        seg.requestStartedAt = Date.now();
        seg.samples = [];
        seg.lowSince = null;
        seg.slowSince = null;
        const { response, expectedEnd } = await this.openRange(seg, signal);
        await this.pump(seg, response, expectedEnd, signal);
        if (seg.receivedBytes > before) attempts = 0;
        this.recordConnectionRate(seg.receivedBytes - before, Date.now() - seg.requestStartedAt);
      } catch (error) {
        if (this.signal.aborted) return;
        const reason = requestAbort.signal.aborted ? requestAbort.signal.reason : error;
        if (reason instanceof SlowRestart) continue;
        if (seg.receivedBytes > before) attempts = 0;
        // Nobody waits on a slot held through a backoff.
        slot.release?.();
        slot.release = null;
        await this.handleSegmentError(seg, reason, ++attempts, settings);
      } finally {
        seg.requestAbort = null;
        if (seg.status === 'active' || seg.status === 'stalled') seg.status = 'pending';
      }
    }
    seg.status = 'done';
  }

  private async handleSegmentError(
    seg: LiveSegment,
    error: unknown,
    attempt: number,
    settings: EngineSettings,
  ): Promise<void> {
    if (error instanceof RestartSignal) throw error;
    const err = toDdmError(error);
    if (RESTARTABLE.includes(err.code)) {
      throw new RestartSignal(err.code, err.message, err.code !== 'ERR_RESOURCE_CHANGED');
    }
    if (
      err instanceof HttpStatusError &&
      EXPIRED_LINK_STATUSES.includes(err.status) &&
      this.reResolves < MAX_RE_RESOLVES
    ) {
      await this.reResolve(err);
      return;
    }
    if (err instanceof HttpStatusError && (err.status === 429 || err.status === 503)) {
      const cap = this.deps.pool.penalize(this.host);
      this.setWhy(`server answered ${err.status}: at most ${cap} connection(s) to ${this.host} for now`);
    }
    if (!err.retryable || attempt > settings.retryAttempts) throw err;
    const retryAfter = err instanceof HttpStatusError ? (err.retryAfterMs ?? 0) : 0;
    const delayMs = Math.max(
      retryAfter,
      backoffDelayMs(attempt, { baseDelayMs: settings.retryBaseDelayMs, maxDelayMs: settings.retryMaxDelayMs }),
    );
    seg.status = 'retrying';
    seg.retries++;
    this.deps.emit({
      type: 'segment-retry',
      jobId: this.id,
      index: seg.index,
      attempt,
      delayMs: Math.round(delayMs),
      code: err.code,
      message: err.message,
    });
    this.why = `retrying segment #${seg.index} in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt} of ${settings.retryAttempts}): ${err.message}`;
    this.deps.log.info('segment retry', {
      jobId: this.id,
      index: seg.index,
      attempt,
      delayMs,
      code: err.code,
      message: err.message,
    });
    await sleep(delayMs, this.signal);
  }

  /** A signed link expired mid-download: ask the original URL again for a fresh one. */
  private reResolve(cause: HttpStatusError): Promise<void> {
    if (this.reResolving) return this.reResolving;
    // The budget counts renewals that brought no progress: long downloads behind short-lived
    // links may renew many times.
    if (this.doneBytes > this.bytesAtLastReResolve) this.reResolves = 0;
    this.bytesAtLastReResolve = this.doneBytes;
    this.reResolves++;
    this.reResolving = (async () => {
      const info = await this.withRetries('re-resolve', () => probe(this.requestContext(), this.job.url, this.signal));
      const changed = resourceChange(this.job, info);
      if (changed) throw new RestartSignal('ERR_RESOURCE_CHANGED', changed, false);
      this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { finalUrl: info.finalUrl }));
      this.job = { ...this.job, finalUrl: info.finalUrl };
      this.setWhy(`link expired (HTTP ${cause.status}); got a fresh URL from the original request and continued`);
    })().finally(() => {
      this.reResolving = null;
    });
    return this.reResolving;
  }

  private async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const settings = this.deps.settings();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (this.signal.aborted) throw error;
        const err = toDdmError(error);
        if (!err.retryable || attempt > settings.retryAttempts) throw err;
        const retryAfter = err instanceof HttpStatusError ? (err.retryAfterMs ?? 0) : 0;
        const delayMs = Math.max(
          retryAfter,
          backoffDelayMs(attempt, { baseDelayMs: settings.retryBaseDelayMs, maxDelayMs: settings.retryMaxDelayMs }),
        );
        this.setWhy(
          `retrying ${what} in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt} of ${settings.retryAttempts}): ${err.message}`,
        );
        await sleep(delayMs, this.signal);
      }
    }
  }

  /** Sends the ranged GET for what is left of `seg` and checks the answer before any byte is written. */
  private async openRange(
    seg: LiveSegment,
    signal: AbortSignal,
  ): Promise<{ response: Response; expectedEnd: number | null }> {
    const job = this.job;
    const url = job.finalUrl ?? job.url;
    // `originUrl`: credentials belong to the job's URL's host, not to wherever it redirected.
    if (!job.isResumable) {
      const { response } = await sendRequest(this.requestContext(), { url, originUrl: job.url, signal });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {});
        throw statusError(response, url);
      }
      const length = response.headers.get('content-length');
      if (job.sizeBytes !== null && length !== null && Number(length) !== job.sizeBytes) {
        await response.body?.cancel().catch(() => {});
        throw new DdmError(`Resource changed: length ${length} instead of ${job.sizeBytes}: GET ${url}`, {
          code: 'ERR_RESOURCE_CHANGED',
        });
      }
      return { response, expectedEnd: job.sizeBytes };
    }
    const start = seg.cursor;
    const end = seg.end as number;
    const validator = ifRangeValidator(job.etag, job.lastModified);
    const { response } = await sendRequest(this.requestContext(), {
      url,
      originUrl: job.url,
      range: { start, end: end - 1 },
      ifRange: validator,
      signal,
    });
    const fail = async (error: DdmError): Promise<never> => {
      await response.body?.cancel().catch(() => {});
      throw error;
    };
    const range = `bytes=${start}-${end - 1}`;
    if (response.status === 200) {
      const etag = response.headers.get('etag');
      const length = response.headers.get('content-length');
      // Without an ETag, If-Range carried Last-Modified (RFC 9110 §13.1.5): a 200 with another
      // date means the validator failed, i.e. a new version, not a server without ranges.
      const lastModified = response.headers.get('last-modified');
      const isNewDate = !job.etag && !!job.lastModified && !!lastModified && lastModified !== job.lastModified;
      if (
        strongEtagDiffers(job.etag, etag) ||
        isNewDate ||
        (length !== null && job.sizeBytes !== null && Number(length) !== job.sizeBytes)
      ) {
        return fail(
          new DdmError(`Resource changed (answered 200 with a new version to ${range}): GET ${url}`, {
            code: 'ERR_RESOURCE_CHANGED',
          }),
        );
      }
      return fail(
        new DdmError(`Range request answered 200 instead of 206: GET ${url}`, { code: 'ERR_RANGE_UNSUPPORTED' }),
      );
    }
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => {});
      if (response.status === 416) {
        throw new DdmError(`Range ${range} not satisfiable (the file shrank?): GET ${url}`, {
          code: 'ERR_RESOURCE_CHANGED',
        });
      }
      throw statusError(response, url);
    }
    const encoding = response.headers.get('content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity') {
      return fail(
        new DdmError(`Range response is ${encoding}-compressed; its bytes cannot go at file offsets: GET ${url}`, {
          code: 'ERR_COMPRESSED',
        }),
      );
    }
    const contentRange = response.headers.get('content-range');
    const parsed = parseContentRange(contentRange);
    if (!parsed || parsed.start !== start || parsed.end > end - 1) {
      return fail(
        new DdmError(`Content-Range "${contentRange ?? ''}" does not match the request ${range}: GET ${url}`, {
          code: 'ERR_RANGE_MISMATCH',
          retryable: true,
        }),
      );
    }
    if (parsed.total !== null && job.sizeBytes !== null && parsed.total !== job.sizeBytes) {
      return fail(
        new DdmError(`Resource changed: size ${parsed.total} instead of ${job.sizeBytes}: GET ${url}`, {
          code: 'ERR_RESOURCE_CHANGED',
        }),
      );
    }
    if (strongEtagDiffers(job.etag, response.headers.get('etag'))) {
      return fail(
        new DdmError(`Resource changed: ETag ${response.headers.get('etag')} instead of ${job.etag}: GET ${url}`, {
          code: 'ERR_RESOURCE_CHANGED',
        }),
      );
    }
    const length = response.headers.get('content-length');
    if (length !== null && Number(length) !== parsed.end - parsed.start + 1) {
      return fail(
        new DdmError(`Content-Length ${length} does not match Content-Range "${contentRange}": GET ${url}`, {
          code: 'ERR_RANGE_MISMATCH',
          retryable: true,
        }),
      );
    }
    return { response, expectedEnd: parsed.end + 1 };
  }

  /**
   * Streams a response body into the file at the segment's cursor, coalescing small chunks.
   *
   * A known length is a contract: `expectedEnd` is the file offset where the RESPONSE promised
   * to end (its Content-Range end, or the job's known size for a 200), and the body must end
   * exactly there. A byte beyond it fails with ERR_SIZE_MISMATCH before anything of that chunk
   * is written; a body that ends short is a retryable ERR_NETWORK. Stopping at `seg.end` below
   * `expectedEnd` is no error: a split moved the segment's end while this response still had
   * bytes, and the rest belongs to the new segment.
   * @throws DdmError ERR_SIZE_MISMATCH, ERR_NETWORK, ERR_LOCK_LOST.
   */
  private async pump(
    seg: LiveSegment,
    response: Response,
    expectedEnd: number | null,
    signal: AbortSignal,
  ): Promise<void> {
    const file = this.file as PartFile;
    const body = response.body;
    if (!body)
      throw new DdmError(`Empty response body: GET ${this.job.finalUrl}`, { code: 'ERR_NETWORK', retryable: true });
    const bufferBytes = this.deps.settings().segmentBufferBytes;
    if (!seg.buffer || seg.buffer.length !== bufferBytes) seg.buffer = new Uint8Array(bufferBytes);
    const buffer = seg.buffer;
    const responseStart = seg.cursor;
    let buffered = 0;
    let bufferPos = seg.start + seg.writtenBytes;
    const write = async (data: Uint8Array, length: number) => {
      // Bytes go into the file only while this engine provably holds the lock.
      this.deps.checkLease();
      await file.write(data, length, bufferPos);
      seg.writtenBytes += length;
      this.noteWritten(length);
      bufferPos += length;
    };
    const flush = async () => {
      if (buffered === 0) return;
      await write(buffer, buffered);
      buffered = 0;
    };
    const reader = body.getReader();
    const buckets = [this.bucket, this.deps.globalBucket];
    let isLimited = this.bucket.rate !== null || this.deps.globalBucket.rate !== null;
    let sawEnd = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          sawEnd = true;
          break;
        }
        if (expectedEnd !== null && seg.cursor + value.length > expectedEnd) {
          throw new DdmError(
            `Response body is longer than promised: more than ${expectedEnd - responseStart} bytes from offset ${responseStart} (segment #${seg.index}): GET ${this.job.finalUrl}`,
            { code: 'ERR_SIZE_MISMATCH' },
          );
        }
        const stopAt = seg.end;
        let chunk = value;
        if (stopAt !== null && seg.cursor + chunk.length > stopAt)
          chunk = chunk.subarray(0, Math.max(0, stopAt - seg.cursor));
        if (chunk.length > 0) {
          isLimited = this.bucket.rate !== null || this.deps.globalBucket.rate !== null;
          if (isLimited) await acquire(buckets, chunk.length, signal);
          if (buffered + chunk.length > buffer.length) await flush();
          if (buffered === 0 && chunk.length >= buffer.length >> 1) {
            // Large chunks go straight to disk; copying them would only cost time.
            await write(chunk, chunk.length);
          } else {
            buffer.set(chunk, buffered);
            buffered += chunk.length;
          }
          seg.receivedBytes += chunk.length;
        }
        // Cut short only by a split; at its promised end the body must end: read on to see it.
        if (stopAt !== null && seg.cursor >= stopAt && (expectedEnd === null || stopAt < expectedEnd)) break;
      }
    } catch (error) {
      await flush();
      throw error;
    } finally {
      reader.cancel().catch(() => {});
    }
    await flush();
    if (seg.end === null && sawEnd) {
      // No length: the size is whatever the stream delivered.
      seg.end = seg.start + seg.writtenBytes;
      const sizeBytes = seg.end;
      this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { sizeBytes }));
      this.job = { ...this.job, sizeBytes };
      return;
    }
    const target = Math.min(seg.end ?? Number.POSITIVE_INFINITY, expectedEnd ?? Number.POSITIVE_INFINITY);
    if (sawEnd && seg.cursor < target) {
      throw new DdmError(
        `Connection closed after ${seg.cursor - seg.start} of ${target - seg.start} bytes of segment #${seg.index}: GET ${this.job.finalUrl}`,
        { code: 'ERR_NETWORK', retryable: true },
      );
    }
  }

  /** Rates, stalls and laggards, four times a second. */
  private monitor(): void {
    const now = Date.now();
    const settings = this.deps.settings();
    let total = 0;
    const active = this.segments.filter((s) => s.status === 'active' || s.status === 'stalled');
    for (const s of active) {
      s.samples.push({ at: now, bytes: s.receivedBytes });
      while (s.samples.length > 2 && (s.samples[0] as { at: number }).at < now - RATE_WINDOW_MS) s.samples.shift();
      const first = s.samples[0] as { at: number; bytes: number };
      const dt = now - first.at;
      s.rateBytesPerSec = dt > 0 ? ((s.receivedBytes - first.bytes) * 1000) / dt : 0;
      total += s.rateBytesPerSec;
      const age = now - s.requestStartedAt;
      if (age < 1000) continue;
      if (s.rateBytesPerSec < settings.lowSpeedBytesPerSec && !this.isThrottled()) {
        s.lowSince ??= now;
        s.status = 'stalled';
        if (now - s.lowSince >= settings.lowSpeedTimeMs) {
          s.requestAbort?.abort(
            new DdmError(
              `Stalled: under ${formatRate(settings.lowSpeedBytesPerSec)} for ${settings.lowSpeedTimeMs / 1000} s (segment #${s.index}): GET ${this.job.finalUrl}`,
              { code: 'ERR_STALLED', retryable: true },
            ),
          );
        }
      } else {
        s.lowSince = null;
        if (s.status === 'stalled') s.status = 'active';
      }
    }
    for (const s of this.segments) if (s.status !== 'active' && s.status !== 'stalled') s.rateBytesPerSec = 0;
    this.rateBytesPerSec = total;
    this.restartLaggard(active, now, settings);
  }

  private isThrottled(): boolean {
    return this.bucket.rate !== null || this.deps.globalBucket.rate !== null;
  }

  /** A connection far slower than its siblings is restarted (a new connection often gets a better path). */
  /** The median rate of the job's connections, running or recently finished; 0 when unknown. */
  private typicalRate(running: readonly number[]): number {
    const rates = [...running.filter((r) => r > 0), ...this.finishedRates].sort((a, b) => a - b);
    return rates.length === 0 ? 0 : (rates[Math.floor(rates.length / 2)] as number);
  }

  /** Remembers how fast a finished request ran, so a laggard is judged even after its siblings ended. */
  private recordConnectionRate(bytes: number, durationMs: number): void {
    if (durationMs < 500 || bytes <= 0) return;
    this.finishedRates.push((bytes * 1000) / durationMs);
    if (this.finishedRates.length > 16) this.finishedRates.shift();
  }

  private restartLaggard(active: LiveSegment[], now: number, settings: EngineSettings): void {
    if (this.isThrottled()) return;
    const mature = active.filter((s) => now - s.requestStartedAt >= RATE_MATURE_MS);
    if (mature.length === 0) return;
    // Siblings: the connections running now and the ones that recently finished their ranges.
    const rates = [...mature.map((s) => s.rateBytesPerSec), ...this.finishedRates].sort((a, b) => a - b);
    if (rates.length < 3) return;
    const median = rates[Math.floor(rates.length / 2)] as number;
    for (const s of mature) {
      const isSlow = s.rateBytesPerSec < settings.slowConnectionRatio * median;
      const isWorth = s.remaining() > median * 0.5;
      if (!isSlow || !isWorth || s.slowRestarts >= MAX_SLOW_RESTARTS) {
        s.slowSince = null;
        continue;
      }
      s.slowSince ??= now;
      if (now - s.slowSince >= settings.slowConnectionMs) {
        s.slowRestarts++;
        s.slowSince = null;
        const why = `restarted segment #${s.index}: ${formatRate(s.rateBytesPerSec)} against a median of ${formatRate(median)}`;
        this.why = why;
        this.deps.emit({ type: 'job-why', jobId: this.id, why });
        s.requestAbort?.abort(new SlowRestart());
      }
    }
  }

  /**
   * Counts written bytes and starts a checkpoint early once enough piled up: on a fast link a
   * second's worth of data is a lot to fetch again after a crash, and syncing in smaller steps
   * costs the disk nothing extra.
   */
  private noteWritten(bytes: number): void {
    this.bytesSinceCheckpoint += bytes;
    const size = this.job.sizeBytes ?? 0;
    const threshold = Math.min(MAX_CHECKPOINT_BYTES, Math.max(MIN_CHECKPOINT_BYTES, Math.floor(size / 100)));
    if (this.bytesSinceCheckpoint >= threshold && !this.isCheckpointing) {
      void this.checkpoint().catch((error) => this.failFromTimer(error));
    }
  }

  /**
   * A failure in work nobody awaits (a timer's checkpoint or monitor pass): it has nobody to
   * throw to, so it ends this attempt the way a failing worker does, and the run reports it (a
   * DB failure such as a full disk reaches the engine, which ends with it). Never throws.
   */
  private failFromTimer(error: unknown): void {
    if (this.signal.aborted) return;
    this.fatalError ??= error;
    this.fatalAbort.abort(error);
  }

  /** fdatasync, then one transaction with every segment's written bytes: the DB never claims unsynced data. */
  checkpoint(): Promise<void> {
    // A checkpoint already running may have captured older counts: run a fresh one after it.
    if (this.isCheckpointing) return this.isCheckpointing.then(() => this.checkpoint());
    const file = this.file;
    if (!file) return Promise.resolve();
    this.isCheckpointing = (async () => {
      this.bytesSinceCheckpoint = 0;
      const captured = this.segments.map((s) => s.toRow());
      const { repos } = this.deps;
      await file.sync();
      this.deps.fenced(() => {
        repos.segments.save(this.id, captured);
        repos.live.put({
          jobId: this.id,
          rateBytesPerSec: this.rateBytesPerSec,
          connections: this.connections,
          segments: this.segmentSnapshots(),
          updatedAt: Date.now(),
        });
      });
    })().finally(() => {
      this.isCheckpointing = null;
    });
    return this.isCheckpointing;
  }

  // ---- finishing ---------------------------------------------------------------------------

  private async finish(): Promise<void> {
    const file = this.file as PartFile;
    this.deps.transition(this.id, 'verifying');
    const size = this.job.sizeBytes ?? 0;
    const actual = await file.sizeBytes();
    if (actual !== size) {
      throw new DdmError(`Size check failed: ${actual} bytes on disk, expected ${size}: ${this.partPath}`, {
        code: 'ERR_SIZE_MISMATCH',
      });
    }
    await file.sync();
    if (this.job.checksum) {
      // Through the open, checked handle: by now the name could point somewhere else.
      const result = await file.checksum(this.job.checksum);
      if (!result.ok) {
        throw new DdmError(
          `Checksum mismatch: expected ${result.expected}, got ${result.actual}; data kept in ${this.partPath}`,
          { code: 'ERR_CHECKSUM_MISMATCH' },
        );
      }
    }
    await this.moveIntoPlace(file);
    await this.closeFile();
    this.complete();
  }

  private complete(): void {
    this.deps.fenced(() => {
      this.deps.repos.jobs.update(this.id, { completedAt: Date.now(), errorCode: null, errorMessage: null });
      this.deps.repos.live.delete(this.id);
      this.deps.transition(this.id, 'completed');
    });
  }

  /**
   * Gives the finished `.part` its final name, never through a symlink and never over a file
   * that appeared meanwhile (unless `overwrite`). The `.part` keeps its name until the end: it is
   * linked under the final name (EEXIST: under the next free `name (n).ext`), the name is
   * recorded, then the `.part` is unlinked. A crash at any step leaves the job's inode under the
   * `.part`, under both names, or under the final name only; {@link finishInterruptedMove} ends
   * the move from each of them on the next run.
   * @throws DdmError ERR_UNSAFE_PATH (the .part was swapped), ERR_FILE_EXISTS (overwrite = "fail"), ERR_IO
   */
  private async moveIntoPlace(file: PartFile): Promise<void> {
    const overwrite = this.job.settings.overwrite ?? this.deps.settings().overwrite;
    const part = this.partPath;
    file.assertAt(part);
    if (overwrite === 'overwrite') {
      // rename() replaces the name itself: a symlink there is replaced, its target left alone.
      try {
        // The file becomes the user's here: prove the lock is still this engine's right before.
        this.deps.confirmLock();
        await rename(part, this.finalPath);
      } catch (error) {
        throw ioError(error, 'renaming the finished download', this.finalPath);
      }
      return;
    }
    let name = this.job.fileName;
    for (let tries = 0; ; tries++) {
      const target = join(this.job.dir, name);
      if ((await this.linkAs(file, part, target)) === 'linked') break;
      if (overwrite === 'fail') {
        throw new DdmError(`File already exists (overwrite = "fail"): ${target}`, { code: 'ERR_FILE_EXISTS' });
      }
      if (tries >= MAX_MOVE_TRIES) {
        throw new DdmError(`Could not find a free name for: ${this.finalPath}`, { code: 'ERR_FILE_EXISTS' });
      }
      name = this.freeName(this.job.fileName);
    }
    if (name !== this.job.fileName) {
      this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { fileName: name }));
      this.job = { ...this.job, fileName: name };
      this.setWhy(`saved as ${name}: the original name was taken while downloading`);
    }
    try {
      await unlink(part);
    } catch (error) {
      // Gone already: the rename fallback below moved it.
      if (errnoOf(error) !== 'ENOENT') throw ioError(error, 'removing', part);
    }
  }

  /** Links the checked `.part` as `target`; 'taken' when anything has that name. */
  private async linkAs(file: PartFile, part: string, target: string): Promise<'linked' | 'taken'> {
    try {
      // The file gets a user-visible name here: prove the lock is still this engine's first.
      this.deps.confirmLock();
      // link() fails with EEXIST instead of replacing: no race with a file created meanwhile.
      await link(part, target);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST') return 'taken';
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
        // No hard links on this file system (FAT, some network mounts): rename to a free name.
        if (isNameTaken(target)) return 'taken';
        try {
          this.deps.confirmLock();
          await rename(part, target);
        } catch (renameError) {
          throw ioError(renameError, 'renaming the finished download', target);
        }
        return 'linked';
      }
      throw ioError(error, 'renaming the finished download', target);
    }
    // link() does not follow a symlink at `part`: had one been swapped in since the check, the
    // new name would be a second name of that symlink. Undo it and refuse.
    const linked = lstatOrNull(target);
    if (!linked?.isFile() || !isSameFile(linked, file.identity)) {
      await unlink(target).catch(() => {});
      throw unsafePathError(part, 'it was replaced while ddm moved it into place');
    }
    return 'linked';
  }

  /**
   * A run that crashed while moving the finished file into place left the job's inode under its
   * final name, and maybe still under `.part`. Its bytes were checked before the move began, so
   * the move is ended now (no request is made). True when the job is complete.
   */
  private async finishInterruptedMove(): Promise<boolean> {
    const identity = this.job.settings.partFile;
    const size = this.job.sizeBytes;
    if (identity === undefined || size === null || !this.job.hasCreatedFile) return false;
    const part = lstatOrNull(this.partPath);
    // The usual case: the .part is the job's only name (opening it checks the rest).
    if (part && part.nlink === 1) return false;
    const written = this.deps.repos.segments.list(this.id).reduce((sum, s) => sum + s.writtenBytes, 0);
    if (written !== size) return false;
    const finalName = this.otherNameOf(identity, size);
    if (finalName === null) return false;
    if (part && isSameFile(part, identity)) {
      try {
        this.deps.confirmLock();
        await unlink(this.partPath);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw ioError(error, 'removing', this.partPath);
      }
    }
    if (finalName !== this.job.fileName) {
      this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { fileName: finalName }));
      this.job = { ...this.job, fileName: finalName };
    }
    this.deps.log.info('finished a move into place that a previous run left halfway', { fileName: finalName });
    this.deps.transition(this.id, 'downloading', 'finishing an interrupted move into place');
    this.deps.transition(this.id, 'verifying');
    this.complete();
    return true;
  }

  /**
   * The one name in the job's folder, other than the `.part`, of the regular file `identity`
   * names, `sizeBytes` long, on the folder's device; null when there is none or more than one. The
   * final name is tried first; the folder is listed only when the move fell back to another name.
   */
  private otherNameOf(identity: FileIdentity, sizeBytes: number): string | null {
    const dir = this.job.dir;
    const partName = `${this.job.fileName}.part`;
    let dev: number;
    let names: string[];
    try {
      dev = lstatSync(dir).dev;
      const isOurs = (name: string): boolean => {
        const stat = lstatOrNull(join(dir, name));
        return stat?.isFile() === true && isSameFile(stat, identity) && stat.dev === dev && stat.size === sizeBytes;
      };
      if (isOurs(this.job.fileName)) return this.job.fileName;
      names = readdirSync(dir).filter((name) => name !== partName && isOurs(name));
    } catch {
      return null;
    }
    return names.length === 1 ? (names[0] as string) : null;
  }
}

/** A worker's connection slot from the shared pool; null while it holds none. */
interface Slot {
  release: (() => void) | null;
}

class SlowRestart extends Error {
  constructor() {
    super('slow connection restarted');
  }
}

/** What changed between the stored resource and a new probe, or null when it is the same. */
export function resourceChange(job: JobRow, info: ProbeResult): string | null {
  if (job.sizeBytes !== null && info.sizeBytes !== null && job.sizeBytes !== info.sizeBytes) {
    return `resource changed: size ${info.sizeBytes} instead of ${job.sizeBytes}`;
  }
  if (job.etag && info.etag && strongEtagDiffers(job.etag, info.etag)) {
    return `resource changed: ETag ${info.etag} instead of ${job.etag}`;
  }
  if (!job.etag && job.lastModified && info.lastModified && job.lastModified !== info.lastModified) {
    return `resource changed: Last-Modified ${info.lastModified} instead of ${job.lastModified}`;
  }
  return null;
}

/** Normalises anything thrown into a DdmError (classified by errno/name, never by message). */
export function toDdmError(error: unknown): DdmError {
  if (error instanceof DdmError) return error;
  const c = classifyError(error);
  const message = error instanceof Error ? error.message : String(error);
  return new DdmError(message, { code: c.code, retryable: c.retryable, cause: error });
}
