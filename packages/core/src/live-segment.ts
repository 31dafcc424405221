/**
 * The segments of a running job as the workers see them: where each connection is in its range,
 * and how a free connection claims work (an unowned range, or a split of the range expected to
 * finish last).
 */

import type { SegmentRow } from '@ddm/db';
import { DdmError } from './errors.ts';
import type { Mirror } from './mirrors.ts';
import { pickSplitByRate, planSegments } from './segment-plan.ts';
import type { SegmentSnapshot, SegmentStatus } from './types.ts';

/** Age from which a connection's rate counts (for splitting and laggard checks). */
export const RATE_MATURE_MS = 500;

export class LiveSegment {
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
  /** The mirror its current (or last) request went to; null for a job with a single URL. */
  mirror: Mirror | null = null;

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

  toSnapshot(): SegmentSnapshot {
    return {
      index: this.index,
      start: this.start,
      end: this.end,
      writtenBytes: this.receivedBytes,
      status: this.isDone ? 'done' : this.status,
      rateBytesPerSec: this.rateBytesPerSec,
      retries: this.retries,
      splitFrom: this.splitFrom,
    };
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

export interface ClaimOptions {
  /** False when the job cannot split ranges (no Range support or no known length). */
  canSplit: boolean;
  minSplitBytes: number;
  /** The rate a new connection is expected to reach, from the rates of the running ones (0: unknown). */
  typicalRate: (runningRates: readonly number[]) => number;
  now: number;
}

/** A claimed segment; `split` tells which range gave up its back part, when one did. */
export interface Claim {
  segment: LiveSegment;
  split: { from: number; to: number; atByte: number } | null;
}

/**
 * An unowned unfinished segment, or work stolen from the segment expected to finish last: the
 * back half of the largest remaining range, or, from a laggard, all but what it can write
 * while the new connection fetches the rest. A stolen range becomes a new segment, added to
 * `segments` (kept sorted by start); the claimed segment is marked owned. Null when there is
 * no work worth taking.
 */
export function claimSegment(segments: LiveSegment[], options: ClaimOptions): Claim | null {
  const free = segments.find((s) => !s.isOwned && !s.isDone);
  if (free) {
    free.isOwned = true;
    return { segment: free, split: null };
  }
  if (!options.canSplit) return null;
  const live = segments
    .filter((s) => !s.isDone && s.end !== null)
    .map((s) => ({
      index: s.index,
      start: s.start,
      end: s.end as number,
      writtenBytes: s.receivedBytes,
      // A rate measured over less than half a second says little; treat it as unknown.
      rateBytesPerSec:
        s.status === 'active' && options.now - s.requestStartedAt >= RATE_MATURE_MS ? s.rateBytesPerSec : 0,
    }));
  const split = pickSplitByRate(live, {
    minSplitBytes: options.minSplitBytes,
    newRateBytesPerSec: options.typicalRate(live.map((s) => s.rateBytesPerSec)),
  });
  if (!split) return null;
  const victim = segments.find((s) => s.index === split.index);
  if (!victim || victim.end === null) return null;
  const newIndex = Math.max(...segments.map((s) => s.index)) + 1;
  const created = new LiveSegment(newIndex, split.at, victim.end, 0, victim.index);
  victim.end = split.at;
  created.isOwned = true;
  segments.push(created);
  segments.sort((a, b) => a.start - b.start);
  return { segment: created, split: { from: victim.index, to: newIndex, atByte: split.at } };
}

/** After the connections of an attempt ended: each segment done or pending again, with no rate. */
export function settleSegments(segments: readonly LiveSegment[]): void {
  for (const s of segments) {
    s.status = s.isDone ? 'done' : 'pending';
    s.rateBytesPerSec = 0;
  }
}

/** @throws DdmError ERR_NETWORK when a segment ended before its end; `url` names the job. */
export function assertSegmentsDone(segments: readonly LiveSegment[], url: string): void {
  const missing = segments.find((s) => !s.isDone);
  if (missing) throw new DdmError(`Segment #${missing.index} ended early: ${url}`, { code: 'ERR_NETWORK' });
}

/**
 * The segments an attempt starts from: the stored ones when the job can resume and has a plan,
 * else a fresh plan (N ranges, or one range without Range support or length) with the rows to
 * store (null when nothing is to be stored).
 */
export function planLiveSegments(
  stored: readonly Omit<SegmentRow, 'jobId'>[],
  o: { isResumable: boolean; sizeBytes: number | null; connections: number; minSplitBytes: number },
): { segments: LiveSegment[]; plannedRows: Omit<SegmentRow, 'jobId'>[] | null } {
  if (stored.length > 0 && o.isResumable) {
    const segments = stored.map((r) => new LiveSegment(r.index, r.start, r.end, r.writtenBytes, r.splitFrom));
    return { segments, plannedRows: null };
  }
  const ranges =
    o.isResumable && o.sizeBytes !== null
      ? planSegments(o.sizeBytes, Math.max(1, o.connections), o.minSplitBytes)
      : [{ start: 0, end: o.sizeBytes }];
  const rows = ranges.map((r, index) => ({ index, start: r.start, end: r.end, writtenBytes: 0, splitFrom: null }));
  return { segments: rows.map((r) => new LiveSegment(r.index, r.start, r.end, 0, null)), plannedRows: rows };
}
