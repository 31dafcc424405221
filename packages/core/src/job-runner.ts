/**
 * One run of one job: probe, plan, download the segments over parallel Range GETs into the
 * `.part` file, checkpoint, verify, rename. Splits ranges when a connection runs out of work,
 * restarts connections that stall or lag far behind their siblings, re-resolves expired links.
 *
 * A run ends when the job completes or fails, or when the engine stops it (pause, cancel,
 * remove, shutdown); work of an older run is discarded because each run has its own signal.
 */

import { join } from 'node:path';
import type { JobRow } from '@ddm/db';
import { Checkpointer } from './checkpoint.ts';
import { DdmError, type HttpStatusError } from './errors.ts';
import type { PartFile } from './file-writer.ts';
import { freeFileName } from './filename.ts';
import { interruptedMoveName, moveIntoPlace, verifyPart } from './finish-move.ts';
import type { RequestContext } from './http.ts';
import { openJobPart } from './job-files.ts';
import { recordCompletion, recordFailure, resetForRestart } from './job-outcome.ts';
import { LinkRenewal } from './link-renewal.ts';
import { assertSegmentsDone, type LiveSegment, planLiveSegments, settleSegments } from './live-segment.ts';
import { comparableJob, type Mirror, MirrorSet, mirrorUrls, storedMirrorSnapshots } from './mirrors.ts';
import { type ProbeResult, probe, readProbe, resourceChange } from './probe.ts';
import { TokenBucket } from './rate-limit.ts';
import { redactText } from './redact.ts';
import { withRetries } from './retry.ts';
import type { RunnerDeps, RunOutcome, StopReason } from './run-deps.ts';
import { MONITOR_INTERVAL_MS, SegmentMonitor } from './segment-monitor.ts';
import { RestartSignal, SegmentWorkers } from './segment-workers.ts';
import type { EngineSettings } from './settings.ts';
import type { MirrorSnapshot, SegmentSnapshot } from './types.ts';

export type { EventInput, RunnerDeps, RunOutcome, StopReason } from './run-deps.ts';

const MAX_RESTARTS = 3;
const MAX_RE_RESOLVES = 5;

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
  /** The connections of the download under way; null outside the downloading phase. */
  private workers: SegmentWorkers | null = null;
  private readonly checkpoints: Checkpointer;
  private readonly renewal: LinkRenewal;
  private readonly monitor: SegmentMonitor;
  private ctx: RequestContext | null = null;
  private host = '';
  private restartReason: string | null = null;
  private mirrors: MirrorSet | null = null;

  constructor(
    private readonly deps: RunnerDeps,
    job: JobRow,
  ) {
    this.job = job;
    this.bucket = new TokenBucket(job.limitBytesPerSec);
    this.maxConnections = job.connections;
    this.why = job.why;
    this.monitor = new SegmentMonitor({
      settings: deps.settings,
      isThrottled: () => this.bucket.rate !== null || deps.globalBucket.rate !== null,
      onSlowRestart: (why) => this.setWhy(why, 'announced'),
    });
    this.checkpoints = new Checkpointer({
      file: () => this.file,
      capture: () => this.segments.map((s) => s.toRow()),
      commit: (rows) =>
        deps.fenced(() => {
          deps.repos.segments.save(this.id, rows);
          const live = { rateBytesPerSec: this.rateBytesPerSec, connections: this.connections };
          const snapshots = { segments: this.segmentSnapshots(), mirrors: this.mirrorSnapshots() };
          deps.repos.live.put({ jobId: this.id, ...live, ...snapshots, updatedAt: Date.now() });
        }),
      sizeBytes: () => this.job.sizeBytes,
      onBackgroundError: (error) => this.failFromTimer(error),
    });
    this.renewal = new LinkRenewal({
      maxRenewals: MAX_RE_RESOLVES,
      doneBytes: () => this.doneBytes,
      renew: (cause) => this.renewLink(cause),
    });
  }

  get id(): number {
    return this.job.id;
  }

  get partPath(): string {
    return join(this.job.dir, `${this.job.fileName}.part`);
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

  /**
   * Sets how many connections the job may use. A higher count opens connections for the free
   * or splittable ranges; a lower one closes the newest surplus connections now: their written
   * bytes stay, and their ranges go back to the pool for the remaining connections.
   */
  setConnections(connections: number): void {
    this.maxConnections = connections;
    this.job = { ...this.job, connections };
    this.workers?.resize();
  }

  segmentSnapshots(): SegmentSnapshot[] {
    return this.segments.map((s) => s.toSnapshot());
  }

  mirrorSnapshots(): MirrorSnapshot[] {
    return this.mirrors?.snapshots(this.segments) ?? storedMirrorSnapshots(this.job);
  }

  /** Records the dropped mirrors on the job (what `status` shows after the run) and says why. */
  private recordDrops(dropped?: Mirror): void {
    const settings = { ...this.job.settings, droppedMirrors: this.mirrors?.dropped() ?? [] };
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { settings }));
    this.job = { ...this.job, settings };
    if (dropped?.why) this.setWhy(dropped.why, 'announced');
  }

  /** Aborted by a stop or by a fatal error of this attempt; set once per attempt (not per use). */
  private signal: AbortSignal = this.userAbort.signal;

  /**
   * The one way a run says why it does what it does. Redacted first: a reason quotes URLs and
   * server messages. `reach` says how far it goes: 'stored' on the jobs row and announced by a
   * job-why event (it outlives the run); 'announced' by the event only (a laggard restart, from
   * the monitor's timer, where a fenced write that fails would have nobody to catch it); 'shown'
   * in the snapshot only (a segment retry, which can come several times a second: its
   * segment-retry event already records it, and the DB is not written per retry).
   */
  private setWhy(text: string, reach: 'stored' | 'announced' | 'shown' = 'stored'): void {
    const why = redactText(text);
    this.why = why;
    if (reach === 'stored') this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { why }));
    if (reach !== 'shown') this.deps.emit({ type: 'job-why', jobId: this.id, why });
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
        return recordFailure(
          this.deps,
          this.id,
          error instanceof RestartSignal ? new DdmError(error.reason, { code: error.code }) : error,
        );
      }
    }
  }

  private async restartFromZero(signal: RestartSignal): Promise<void> {
    resetForRestart(this.deps, this.job, signal.isSingleConnection);
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
    // A mirror is asked with the job's URL as the origin: secret headers stay on that host.
    const probeOne = (url: string) => probe(this.requestContext(), url, this.signal, this.job.url);
    this.mirrors = new MirrorSet(mirrorUrls(this.job), {
      probe: probeOne,
      onDrop: (mirror) => this.recordDrops(mirror),
      maxFailures: () => this.deps.settings().retryAttempts,
      signal: this.signal,
    });
    if (this.job.settings.droppedMirrors?.length) this.recordDrops();
    const info = await this.mirrors.probeReference((url) => this.withRetries('probe', () => probeOne(url)));
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
    const reading = readProbe(comparableJob(job, info), info, {
      hasProgress: stored.some((s) => s.writtenBytes > 0),
      isRestart,
      restartReason: this.restartReason,
    });
    if (reading.restart) {
      const { code, reason, isSingleConnection } = reading.restart;
      throw new RestartSignal(code, reason, isSingleConnection);
    }
    const { acceptsRanges, isResumable, whyParts } = reading;
    const fileName = reading.suggestedName === null ? job.fileName : this.freeName(reading.suggestedName);
    this.deps.fenced(() =>
      repos.jobs.update(this.id, {
        finalUrl: info.finalUrl,
        sizeBytes: info.sizeBytes,
        etag: info.etag,
        lastModified: info.lastModified,
        acceptsRanges,
        isResumable,
        fileName,
        errorCode: null,
        errorMessage: null,
      }),
    );
    this.refreshJob();
    if (whyParts.length > 0) this.setWhy(whyParts.join('; '));

    const plan = planLiveSegments(stored, {
      isResumable,
      sizeBytes: info.sizeBytes,
      connections: this.maxConnections,
      minSplitBytes: this.deps.settings().minSplitBytes,
    });
    this.segments = plan.segments;
    const rows = plan.plannedRows;
    if (rows) {
      this.deps.fenced(() => repos.segments.replace(this.id, rows));
      this.deps.emit({ type: 'segments-planned', jobId: this.id, count: rows.length, sizeBytes: info.sizeBytes });
    }
  }

  private overwrite(): EngineSettings['overwrite'] {
    return this.job.settings.overwrite ?? this.deps.settings().overwrite;
  }

  private freeName(wanted: string): string {
    return freeFileName(this.job.dir, wanted, this.overwrite(), (path) => this.deps.isPathReserved(path, this.id));
  }

  private async ensureFile(sizeBytes: number | null): Promise<void> {
    const opened = await openJobPart({
      job: this.job,
      path: this.partPath,
      sizeBytes,
      hasProgress: this.segments.some((s) => s.writtenBytes > 0),
      allocation: this.deps.settings().fileAllocation,
    });
    if (opened === 'gone') throw new RestartSignal('ERR_IO', `the .part file is gone: ${this.partPath}`, false);
    this.file = opened.file;
    if (!opened.isCreated) return;
    const settings = { ...this.job.settings, partFile: opened.file.identity };
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { hasCreatedFile: true, settings }));
    this.refreshJob();
  }

  private async closeFile(): Promise<void> {
    await this.file?.close();
    this.file = null;
  }

  // ---- downloading -------------------------------------------------------------------------

  private async download(): Promise<void> {
    const settings = this.deps.settings();
    const stopCheckpoints = this.checkpoints.every(settings.checkpointIntervalMs);
    const monitorTimer = setInterval(() => {
      try {
        this.rateBytesPerSec = this.monitor.tick(this.segments, this.job.finalUrl);
      } catch (error) {
        this.failFromTimer(error);
      }
    }, MONITOR_INTERVAL_MS);
    this.workers = new SegmentWorkers({
      mirrors: this.mirrors?.isMulti ? this.mirrors : null,
      run: this,
      deps: this.deps,
      signal: this.signal,
      fail: (error) => {
        this.fatalError = error;
        this.fatalAbort.abort(error);
      },
      host: this.host,
      file: this.file as PartFile,
      bucket: this.bucket,
      monitor: this.monitor,
      requestContext: () => this.requestContext(),
      setWhy: (text, reach) => this.setWhy(text, reach),
      onWritten: (bytes) => {
        this.deps.gcPacer.note(bytes);
        this.checkpoints.noteWritten(bytes);
      },
      onSizeLearned: (sizeBytes) => {
        this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { sizeBytes }));
        this.job = { ...this.job, sizeBytes };
      },
      reResolve: (cause) => this.renewal.request(cause),
    });
    try {
      await this.workers.run();
    } finally {
      this.workers = null;
      stopCheckpoints();
      clearInterval(monitorTimer);
      settleSegments(this.segments);
      this.rateBytesPerSec = 0;
      await this.checkpoints.run();
    }
    if (this.fatalError) throw this.fatalError;
    if (this.stopReason) throw this.userAbort.signal.reason;
    assertSegmentsDone(this.segments, this.job.finalUrl ?? this.job.url);
  }

  /** A signed link expired mid-download: ask the original URL again for a fresh one. */
  private async renewLink(cause: HttpStatusError): Promise<void> {
    const info = await this.withRetries('re-resolve', () => probe(this.requestContext(), this.job.url, this.signal));
    const changed = resourceChange(this.job, info);
    if (changed) throw new RestartSignal('ERR_RESOURCE_CHANGED', changed, false);
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { finalUrl: info.finalUrl }));
    this.job = { ...this.job, finalUrl: info.finalUrl };
    this.setWhy(`link expired (HTTP ${cause.status}); got a fresh URL from the original request and continued`);
  }

  private withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetries(what, fn, {
      settings: this.deps.settings(),
      signal: this.signal,
      // A job that was never answered (no final URL yet) is on its first contact: see shouldRetry.
      hasJobWorked: () => what !== 'probe' || this.job.finalUrl !== null,
      onRetry: (why) => this.setWhy(why),
    });
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

  // ---- finishing ---------------------------------------------------------------------------

  private async finish(): Promise<void> {
    const file = this.file as PartFile;
    this.deps.transition(this.id, 'verifying');
    await verifyPart(file, this.job, this.partPath);
    await moveIntoPlace(file, {
      dir: this.job.dir,
      fileName: this.job.fileName,
      partPath: this.partPath,
      overwrite: this.overwrite(),
      confirmLock: this.deps.confirmLock,
      freeName: (wanted) => this.freeName(wanted),
      recordName: (name) => {
        this.recordFileName(name);
        this.setWhy(`saved as ${name}: the original name was taken while downloading`);
      },
    });
    await this.closeFile();
    recordCompletion(this.deps, this.id);
  }

  private recordFileName(fileName: string): void {
    this.deps.fenced(() => this.deps.repos.jobs.update(this.id, { fileName }));
    this.job = { ...this.job, fileName };
  }

  /** Ends a move into place that a crashed run left halfway (see {@link interruptedMoveName}); true when the job is complete. */
  private async finishInterruptedMove(): Promise<boolean> {
    const writtenBytes = () => this.deps.repos.segments.list(this.id).reduce((sum, s) => sum + s.writtenBytes, 0);
    const finalName = await interruptedMoveName(this.job, this.partPath, writtenBytes, this.deps.confirmLock);
    if (finalName === null) return false;
    if (finalName !== this.job.fileName) this.recordFileName(finalName);
    this.deps.log.info('finished a move into place that a previous run left halfway', { fileName: finalName });
    this.deps.transition(this.id, 'downloading', 'finishing an interrupted move into place');
    this.deps.transition(this.id, 'verifying');
    recordCompletion(this.deps, this.id);
    return true;
  }
}
