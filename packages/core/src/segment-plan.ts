/**
 * Pure planning of byte ranges: the initial split of a file into segments, and the dynamic
 * split that lets a connection which finished take over half of the largest remaining range
 * (as IDM, XDM, gopeed and axel do), down to small ranges so no slow tail is left to one
 * connection (aria2#1593).
 *
 * All ranges are half-open: `start` inclusive, `end` EXCLUSIVE, so a range holds
 * `end - start` bytes and neighbours share a boundary (`a.end === b.start`).
 *
 * Invariant kept by {@link planSegments} followed by any number of writes and
 * {@link applySplit}s of splits chosen by {@link pickSplit} (with the same `minSplitBytes`):
 * 1. the ranges, sorted by `start`, are contiguous and cover `[0, sizeBytes)` exactly: no gap,
 *    no overlap, none empty;
 * 2. every range holds at least `minSplitBytes` bytes (`end - start >= minSplitBytes`), except
 *    when the whole file is smaller than `minSplitBytes`, in which case there is exactly one
 *    range, `[0, sizeBytes)`. (The *unwritten remainder* of a range naturally shrinks below the
 *    minimum as bytes arrive; the invariant is about range lengths.)
 * 3. a split point is never inside a range's written bytes, so no written byte changes owner.
 */
import { DdmError } from './errors.ts';

/** Segment boundaries are aligned to this when that keeps every range >= the minimum. */
export const SEGMENT_ALIGN_BYTES = 4096;

/** A planned byte range; `end` is exclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A segment being downloaded. Its unwritten remainder is `end - start - writtenBytes`; its
 * cursor (the next byte to write) is `start + writtenBytes`.
 */
export interface LiveRange {
  index: number;
  start: number;
  /** Exclusive. */
  end: number;
  writtenBytes: number;
}

/** Where to split: segment `index` now ends at `at`; a new segment covers `[at, oldEnd)`. */
export interface SplitPoint {
  index: number;
  at: number;
}

function assertNonNegativeInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DdmError(`Invalid ${name} for segment planning (expected a non-negative integer): ${value}`, {
      code: 'ERR_USAGE',
    });
  }
}

const alignDown = (offset: number): number => offset - (offset % SEGMENT_ALIGN_BYTES);

function rangesFromBoundaries(sizeBytes: number, boundaries: readonly number[]): ByteRange[] {
  const ranges: ByteRange[] = [];
  let start = 0;
  for (const boundary of [...boundaries, sizeBytes]) {
    ranges.push({ start, end: boundary });
    start = boundary;
  }
  return ranges;
}

/**
 * Splits `[0, sizeBytes)` into contiguous ranges for the first connections of a job.
 *
 * - `sizeBytes` 0 gives `[]`: there is nothing to fetch, and the caller completes the job
 *   without a ranged request (a `Range: bytes=0-` on an empty resource is answered 416).
 * - The count is reduced so that every range holds at least `minSplitBytes`
 *   (`count <= floor(sizeBytes / minSplitBytes)`); a file smaller than `minSplitBytes` gives
 *   exactly one range. `minSplitBytes` 0 is treated as 1.
 * - Ranges are as equal as possible. Inner boundaries are aligned down to
 *   {@link SEGMENT_ALIGN_BYTES} when the aligned plan still has every range >= `minSplitBytes`
 *   (and non-empty); otherwise the plan is left unaligned.
 *
 * @throws DdmError `ERR_USAGE` when `sizeBytes` or `minSplitBytes` is not a non-negative safe
 *   integer, or `count` is not a positive integer.
 */
export function planSegments(sizeBytes: number, count: number, minSplitBytes: number): ByteRange[] {
  assertNonNegativeInteger(sizeBytes, 'size');
  assertNonNegativeInteger(minSplitBytes, 'minimum split size');
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new DdmError(`Invalid segment count (expected a positive integer): ${count}`, { code: 'ERR_USAGE' });
  }
  if (sizeBytes === 0) return [];
  const minBytes = Math.max(1, minSplitBytes);
  const segmentCount = Math.max(1, Math.min(count, Math.floor(sizeBytes / minBytes)));
  // floor(sizeBytes * i / segmentCount) in exact integer arithmetic (sizeBytes * i may pass 2^53).
  const quotient = Math.floor(sizeBytes / segmentCount);
  const remainder = sizeBytes % segmentCount;
  const exact: number[] = [];
  for (let i = 1; i < segmentCount; i++) {
    exact.push(quotient * i + Math.floor((remainder * i) / segmentCount));
  }
  const aligned = exact.map(alignDown);
  const alignedRanges = rangesFromBoundaries(sizeBytes, aligned);
  const isAlignedPlanValid = alignedRanges.every((range) => range.end - range.start >= minBytes);
  return isAlignedPlanValid ? alignedRanges : rangesFromBoundaries(sizeBytes, exact);
}

/** Unwritten bytes of a segment. */
export function remainingBytes(segment: LiveRange): number {
  return segment.end - segment.start - segment.writtenBytes;
}

/**
 * Chooses the next dynamic split: the segment with the most unwritten bytes (ties go to the
 * one listed first), not in `options.exclude`, is split in the middle of its unwritten part.
 *
 * With `cursor = start + writtenBytes`, the split point `at` is
 * `cursor + floor(remaining / 2)`, aligned down to {@link SEGMENT_ALIGN_BYTES} when both parts
 * stay >= `minSplitBytes` after aligning. Returns `null` unless both the part the current
 * connection keeps (`[cursor, at)`, its unwritten front) and the new back part (`[at, end)`) hold
 * at least `minSplitBytes` — that is, exactly when the largest unwritten remainder is at least
 * `2 * minSplitBytes` (`minSplitBytes` 0 is treated as 1).
 *
 * Since `at >= cursor + minSplitBytes`, a split never lands inside written bytes, and the
 * connection still writing the front part has `minSplitBytes` of slack before it reaches `at`.
 *
 * The caller shrinks segment `index` to end at `at` (telling its connection to stop there) and
 * starts a new segment `[at, oldEnd)`; {@link applySplit} does the bookkeeping.
 */
export function pickSplit(
  segments: readonly LiveRange[],
  minSplitBytes: number,
  options: { exclude?: ReadonlySet<number> } = {},
): SplitPoint | null {
  const minBytes = Math.max(1, minSplitBytes);
  let largest: LiveRange | undefined;
  for (const segment of segments) {
    if (options.exclude?.has(segment.index)) continue;
    if (largest === undefined || remainingBytes(segment) > remainingBytes(largest)) largest = segment;
  }
  if (largest === undefined) return null;
  const { index, end } = largest;
  const cursor = largest.start + largest.writtenBytes;
  const middle = cursor + Math.floor((end - cursor) / 2);
  const isSplittable = (at: number): boolean => at - cursor >= minBytes && end - at >= minBytes;
  const aligned = alignDown(middle);
  if (isSplittable(aligned)) return { index, at: aligned };
  if (isSplittable(middle)) return { index, at: middle };
  return null;
}

/**
 * Applies a split to a segment list without mutating it: segment `split.index` ends at
 * `split.at`, and a new segment `{index: newIndex, start: split.at, end: oldEnd, writtenBytes: 0}`
 * is inserted right after it, so a list sorted by `start` stays sorted.
 *
 * @throws DdmError `ERR_USAGE` when segment `split.index` is missing, `newIndex` is already used,
 *   or `split.at` is not strictly inside the segment's unwritten part
 *   (`start + writtenBytes <= at < end`, and `at > start`). These are programming errors: a split
 *   from {@link pickSplit}, applied before any further write is recorded, is always valid.
 */
export function applySplit(segments: readonly LiveRange[], split: SplitPoint, newIndex: number): LiveRange[] {
  const position = segments.findIndex((segment) => segment.index === split.index);
  const segment = segments[position];
  if (segment === undefined) {
    throw new DdmError(`Cannot split a segment that does not exist: #${split.index}`, { code: 'ERR_USAGE' });
  }
  if (segments.some((other) => other.index === newIndex)) {
    throw new DdmError(`Cannot split segment #${split.index}: index ${newIndex} is already in use`, {
      code: 'ERR_USAGE',
    });
  }
  const cursor = segment.start + segment.writtenBytes;
  if (!Number.isSafeInteger(split.at) || split.at < cursor || split.at <= segment.start || split.at >= segment.end) {
    throw new DdmError(
      `Cannot split segment #${split.index} [${segment.start}, ${segment.end}) written to ${cursor} at byte ${split.at}`,
      { code: 'ERR_USAGE' },
    );
  }
  const front: LiveRange = { ...segment, end: split.at };
  const back: LiveRange = { index: newIndex, start: split.at, end: segment.end, writtenBytes: 0 };
  return [...segments.slice(0, position), front, back, ...segments.slice(position + 1)];
}

/** A live segment with the rate its connection achieves now (0 = not known yet). */
export interface RatedRange extends LiveRange {
  readonly rateBytesPerSec: number;
}

export interface RatedSplitOptions {
  /** The new back part holds at least this many bytes, except when hedging a laggard. */
  readonly minSplitBytes: number;
  /** Expected rate of the connection that takes the new part (the median of its siblings). */
  readonly newRateBytesPerSec: number;
  /** A victim slower than `slowRatio` x the new rate is a laggard. @default 0.5 */
  readonly slowRatio?: number;
  /** Smallest back part taken from a laggard. @default 256 KiB */
  readonly minTailBytes?: number;
  /** Smallest unwritten front part left to a laggard. @default 64 KiB */
  readonly minKeepBytes?: number;
}

/**
 * Chooses a split so the new connection and the one it steals from finish together: the
 * victim is the segment expected to finish last (unwritten bytes over its rate; an unknown rate
 * counts as the new connection's), and it keeps a share of its unwritten bytes proportional to
 * its rate: `at = cursor + remaining * rv / (rv + rn)`, aligned down to 4 KiB when that keeps
 * the limits.
 *
 * With equal (or unknown) rates this is {@link pickSplit}: the middle of the largest remainder,
 * both parts at least `minSplitBytes`. A laggard (rate under `slowRatio` x the new rate) keeps
 * only what it can write in the time the new connection needs for the rest, down to
 * `minKeepBytes`, and may give away as little as `minTailBytes`: the slow tail is hedged by a
 * faster connection instead of being left to finish alone (aria2#1593).
 *
 * Like {@link pickSplit}, the split point is never inside written bytes. Returns null when no
 * segment can be split within the limits.
 */
export function pickSplitByRate(segments: readonly RatedRange[], options: RatedSplitOptions): SplitPoint | null {
  const minSplit = Math.max(1, options.minSplitBytes);
  const slowRatio = options.slowRatio ?? 0.5;
  const minTail = Math.max(1, Math.min(options.minTailBytes ?? 256 * 1024, minSplit));
  const minKeep = Math.max(1, Math.min(options.minKeepBytes ?? 64 * 1024, minSplit));
  const newRate = options.newRateBytesPerSec;
  const ranked = segments
    .filter((s) => remainingBytes(s) > 0)
    .map((s) => {
      const rate = s.rateBytesPerSec > 0 ? s.rateBytesPerSec : newRate;
      const isLaggard = newRate > 0 && s.rateBytesPerSec > 0 && s.rateBytesPerSec < slowRatio * newRate;
      const eta = rate > 0 ? remainingBytes(s) / rate : remainingBytes(s);
      return { s, rate, isLaggard, eta };
    })
    .sort((a, b) => b.eta - a.eta || remainingBytes(b.s) - remainingBytes(a.s));
  for (const { s, rate, isLaggard } of ranked) {
    const cursor = s.start + s.writtenBytes;
    const remaining = s.end - cursor;
    const share = isLaggard && newRate > 0 ? rate / (rate + newRate) : 0.5;
    const keepMin = isLaggard ? minKeep : minSplit;
    const backMin = isLaggard ? minTail : minSplit;
    const isSplittable = (at: number): boolean => at - cursor >= keepMin && s.end - at >= backMin;
    const ideal = Math.min(s.end - backMin, Math.max(cursor + keepMin, cursor + Math.floor(remaining * share)));
    const aligned = alignDown(ideal);
    if (isSplittable(aligned)) return { index: s.index, at: aligned };
    if (isSplittable(ideal)) return { index: s.index, at: ideal };
  }
  return null;
}
