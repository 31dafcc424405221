/**
 * The mirrors of one job: several URLs of the same file (aria2's `addUri([a, b, c])`, an input
 * file's tab-separated URLs, `--mirror`). The first URL that answers its probe is the reference
 * (its size and validators are the job's); every other mirror is probed before any byte is
 * fetched from it and used only when it serves the same resource: the same size, Range support
 * without compression, and, on the reference's own host, the same ETag / Last-Modified
 * (validators of different hosts name their own copies and say nothing about each other).
 *
 * Connections go to the usable mirrors round-robin (a mirror whose host has a free slot in the
 * shared pool first); each ranged request carries its own mirror's If-Range validator. A mirror
 * that disagrees, answers a range with 200, fails with an error no retry can mend, or fails
 * more than `retry_attempts` requests in a row is dropped with a why naming it; its segments go
 * back to the pool. A mirror that fails a request is probed again at once: one that no longer
 * answers is dropped then, without waiting for another request to find it dead.
 */

import type { JobRow } from '@ddm/db';
import { DdmError } from './errors.ts';
import type { LiveSegment } from './live-segment.ts';
import type { ProbeResult } from './probe.ts';
import { strongEtagDiffers } from './probe.ts';
import { redactText, redactUrl } from './redact.ts';
import type { ConnectionPool } from './scheduler.ts';
import type { MirrorSnapshot, MirrorState } from './types.ts';

/** One URL of the file and what the job knows of it. */
export interface Mirror {
  readonly url: string;
  /** Where its redirects led (the URL ranged requests go to); the URL itself until probed. */
  finalUrl: string;
  /** Host of `finalUrl`: the key of the shared per-host connection pool. */
  host: string;
  etag: string | null;
  lastModified: string | null;
  state: MirrorState;
  why: string | null;
  /** Bytes written to the file from this mirror in this run. */
  bytes: number;
  /** Failed requests since its last progress. */
  failures: number;
}

/** Every URL of the job's file, the job's own first, without duplicates. */
export function mirrorUrls(job: Pick<JobRow, 'url' | 'settings'>): string[] {
  return [...new Set([job.url, ...(job.settings.mirrors ?? [])])];
}

/**
 * The mirrors as a stored (not running) job shows them: every URL, dropped ones with the why
 * recorded when they were dropped. Empty for a job with a single URL.
 */
export function storedMirrorSnapshots(job: Pick<JobRow, 'url' | 'settings'>): MirrorSnapshot[] {
  const urls = mirrorUrls(job);
  if (urls.length < 2) return [];
  const dropped = new Map((job.settings.droppedMirrors ?? []).map((d) => [d.url, d.why]));
  return urls.map((url) => {
    const why = dropped.get(url) ?? null;
    return { url: redactUrl(url), state: why === null ? 'usable' : 'dropped', rateBytesPerSec: 0, bytes: 0, why };
  });
}

/**
 * The job as a new probe of its reference can be compared with: when the mirror that answered
 * first is on another host than the one that did last time (the first URL is down), the stored
 * ETag / Last-Modified are that other host's and say nothing about this one; the size still counts.
 */
export function comparableJob(job: JobRow, info: ProbeResult): JobRow {
  if (job.finalUrl === null || mirrorUrls(job).length < 2) return job;
  if (new URL(job.finalUrl).host === new URL(info.finalUrl).host) return job;
  return { ...job, etag: null, lastModified: null };
}

/**
 * Why a mirror's probe shows another resource than the reference, or null when it is the same.
 * Validators are compared only between URLs on one host: two CDNs give one file different ETags.
 */
export function mirrorDisagreement(
  reference: { sizeBytes: number | null; host: string; etag: string | null; lastModified: string | null },
  info: ProbeResult,
): string | null {
  if (info.sizeBytes !== reference.sizeBytes) {
    return `size ${info.sizeBytes ?? 'unknown'} instead of ${reference.sizeBytes ?? 'unknown'}`;
  }
  if (!info.acceptsRanges) return 'no Range support';
  if (info.isCompressed) return 'compressed body';
  if (new URL(info.finalUrl).host !== reference.host) return null;
  if (strongEtagDiffers(reference.etag, info.etag)) return `ETag ${info.etag} instead of ${reference.etag}`;
  if (!reference.etag && reference.lastModified && info.lastModified && info.lastModified !== reference.lastModified) {
    return `Last-Modified ${info.lastModified} instead of ${reference.lastModified}`;
  }
  return null;
}

export interface MirrorSetOptions {
  /** Probes a URL once (credentials scoped to the job's own URL). */
  probe: (url: string) => Promise<ProbeResult>;
  /** Called once per dropped mirror, after its state and why are set. */
  onDrop: (mirror: Mirror) => void;
  /** Most failed requests in a row a mirror may have before it is dropped. */
  maxFailures: () => number;
  /** The attempt's signal: a failure after a stop is the stop, not the mirror's fault. */
  signal: AbortSignal;
}

export class MirrorSet {
  readonly list: Mirror[];
  private turn = 0;
  private readonly rechecks = new Map<Mirror, Promise<void>>();
  private reference: Mirror | null = null;

  constructor(
    urls: readonly string[],
    private readonly o: MirrorSetOptions,
  ) {
    this.list = urls.map((url) => ({
      url,
      finalUrl: url,
      host: new URL(url).host,
      etag: null,
      lastModified: null,
      state: 'checking',
      why: null,
      bytes: 0,
      failures: 0,
    }));
  }

  /** More than one URL: connections are spread and failures can move to another mirror. */
  get isMulti(): boolean {
    return this.list.length > 1;
  }

  get usable(): Mirror[] {
    return this.list.filter((m) => m.state === 'usable');
  }

  /**
   * Probes the URLs in order until one answers (each with `probeWithRetries`); it becomes the
   * reference. The ones that failed before it are dropped.
   * @throws the last URL's error when none answers.
   */
  async probeReference(probeWithRetries: (url: string) => Promise<ProbeResult>): Promise<ProbeResult> {
    for (const [i, mirror] of this.list.entries()) {
      try {
        const info = await probeWithRetries(mirror.url);
        this.learn(mirror, info);
        mirror.state = 'usable';
        this.reference = mirror;
        return info;
      } catch (error) {
        if (i === this.list.length - 1 || this.o.signal.aborted) throw error;
        this.drop(mirror, error);
      }
    }
    throw new DdmError('No URL to probe', { code: 'ERR_INVALID_URL' });
  }

  /**
   * Probes every mirror still unchecked, together, and keeps those that serve the same resource
   * as the reference; the others are dropped before any byte comes from them. Without ranges
   * (one connection) the other mirrors are not used.
   */
  async checkOthers(job: Pick<JobRow, 'sizeBytes' | 'etag' | 'lastModified' | 'isResumable'>): Promise<void> {
    const pending = this.list.filter((m) => m.state === 'checking');
    if (!job.isResumable) {
      for (const m of pending)
        this.drop(m, 'not used: the download runs on one connection (no Range support or no length)');
      return;
    }
    await Promise.all(pending.map((m) => this.check(m, job)));
  }

  private async check(mirror: Mirror, job: Pick<JobRow, 'sizeBytes' | 'etag' | 'lastModified'>): Promise<void> {
    const ref = this.reference;
    try {
      const info = await this.o.probe(mirror.url);
      const reason = mirrorDisagreement(
        { sizeBytes: job.sizeBytes, host: ref ? ref.host : '', etag: job.etag, lastModified: job.lastModified },
        info,
      );
      if (reason) return this.drop(mirror, `serves another resource: ${reason}`);
      this.learn(mirror, info);
      if (mirror.state !== 'dropped') mirror.state = 'usable';
    } catch (error) {
      this.drop(mirror, error);
    }
  }

  private learn(mirror: Mirror, info: ProbeResult): void {
    mirror.finalUrl = info.finalUrl;
    mirror.host = new URL(info.finalUrl).host;
    mirror.etag = info.etag;
    mirror.lastModified = info.lastModified;
  }

  /**
   * The mirror for a new connection: the next usable one in turn whose host has a free slot in
   * the pool, else the next usable one in turn (it waits for a slot); null when none is usable.
   */
  pick(pool: Pick<ConnectionPool, 'openFor' | 'capFor'>, avoid: Mirror | null = null): Mirror | null {
    const usable = this.usable;
    if (usable.length === 0) return null;
    const candidates = usable.length > 1 && avoid ? usable.filter((m) => m !== avoid) : usable;
    const order = candidates.map((_, i) => candidates[(this.turn + i) % candidates.length] as Mirror);
    const chosen = order.find((m) => pool.openFor(m.host) < pool.capFor(m.host)) ?? (order[0] as Mirror);
    this.turn++;
    return chosen;
  }

  /**
   * Drops a mirror: it gets no more requests, and the requests under way on it are aborted so
   * their segments go back to the other connections. Idempotent.
   */
  drop(mirror: Mirror, reason: unknown, segments: readonly LiveSegment[] = []): void {
    if (mirror.state === 'dropped' || this.o.signal.aborted) return;
    const text = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : String(reason);
    mirror.state = 'dropped';
    mirror.why = redactText(`mirror ${redactUrl(mirror.url)} dropped: ${text}`);
    for (const s of segments) if (s.mirror === mirror) s.requestAbort?.abort(new MirrorDropped(mirror));
    this.o.onDrop(mirror);
  }

  /**
   * A request on `mirror` failed while others are usable: counts it, drops the mirror when the
   * failures are spent, else probes it again at once (one probe at a time per mirror): a mirror
   * that no longer answers is dropped with the probe's error.
   */
  noteFailure(mirror: Mirror, error: unknown, job: Pick<JobRow, 'sizeBytes' | 'etag' | 'lastModified'>): void {
    mirror.failures++;
    if (mirror.failures > this.o.maxFailures()) {
      this.drop(mirror, `${mirror.failures} failed requests in a row, the last: ${(error as Error).message}`);
      return;
    }
    if (this.rechecks.has(mirror)) return;
    const recheck = (async () => {
      try {
        const info = await this.o.probe(mirror.url);
        const ref = this.reference;
        const reason = mirrorDisagreement(
          { sizeBytes: job.sizeBytes, host: ref ? ref.host : '', etag: job.etag, lastModified: job.lastModified },
          info,
        );
        if (reason && mirror !== ref) this.drop(mirror, `serves another resource: ${reason}`);
      } catch (probeError) {
        this.drop(mirror, probeError);
      }
    })().finally(() => this.rechecks.delete(mirror));
    this.rechecks.set(mirror, recheck);
  }

  /** The dropped mirrors with their why, as the job records them. */
  dropped(): { url: string; why: string }[] {
    return this.list.flatMap((m) => (m.state === 'dropped' && m.why ? [{ url: m.url, why: m.why }] : []));
  }

  /** Resolves when the probes of failed mirrors under way have ended (each bounded by its timeout). */
  async settled(): Promise<void> {
    while (this.rechecks.size > 0) await Promise.allSettled([...this.rechecks.values()]);
  }

  /** Per-mirror state, bytes and the rate of its running connections; empty for a single URL. */
  snapshots(segments: readonly LiveSegment[]): MirrorSnapshot[] {
    if (!this.isMulti) return [];
    return this.list.map((m) => {
      let rate = 0;
      for (const s of segments) if (s.mirror === m) rate += s.rateBytesPerSec;
      return { url: redactUrl(m.url), state: m.state, rateBytesPerSec: rate, bytes: m.bytes, why: m.why };
    });
  }
}

/** Aborts a request whose mirror was dropped; its segment goes on from another mirror at once. */
export class MirrorDropped extends Error {
  constructor(readonly mirror: Mirror) {
    super(`mirror dropped: ${redactUrl(mirror.url)}`);
  }
}
