/** Per-job rate samples for the sparkline: one sample a second, the last 60 seconds. */
import type { EngineSnapshot } from '@ddm/core';

export const SAMPLE_INTERVAL_MS = 1000;
export const HISTORY_SAMPLES = 60;

export interface RateHistory {
  /** `at` of the snapshot that gave the latest sample; `null` before the first. */
  readonly sampledAt: number | null;
  /** Oldest first, at most {@link HISTORY_SAMPLES} per job. */
  readonly samplesByJob: ReadonlyMap<number, readonly number[]>;
}

export const EMPTY_RATE_HISTORY: RateHistory = { sampledAt: null, samplesByJob: new Map() };

/**
 * Adds samples from `snapshot` when at least a second passed since the last one. Each whole
 * second that passed adds a sample (the current rate), so a late poll does not squeeze time.
 * Jobs missing from the snapshot are dropped.
 *
 * @returns the same object when no sample was due, so callers can skip a redraw.
 */
export function recordRates(history: RateHistory, snapshot: EngineSnapshot): RateHistory {
  const elapsedMs = history.sampledAt === null ? SAMPLE_INTERVAL_MS : snapshot.at - history.sampledAt;
  if (elapsedMs < SAMPLE_INTERVAL_MS) return history;
  const steps = Math.min(HISTORY_SAMPLES, Math.floor(elapsedMs / SAMPLE_INTERVAL_MS));
  const samplesByJob = new Map<number, readonly number[]>();
  for (const job of snapshot.jobs) {
    const previous = history.samplesByJob.get(job.id) ?? [];
    const added = Array.from({ length: steps }, () => job.rateBytesPerSec);
    samplesByJob.set(job.id, [...previous, ...added].slice(-HISTORY_SAMPLES));
  }
  const sampledAt = history.sampledAt === null ? snapshot.at : history.sampledAt + steps * SAMPLE_INTERVAL_MS;
  // After a long gap (suspend), restart the clock instead of replaying it.
  return { sampledAt: snapshot.at - sampledAt >= SAMPLE_INTERVAL_MS ? snapshot.at : sampledAt, samplesByJob };
}

const hasMovement = (history: RateHistory): boolean => {
  for (const samples of history.samplesByJob.values()) {
    if (samples.some((rate) => rate > 0)) return true;
  }
  return false;
};

/**
 * Whether sparklines drawn from `a` and from `b` can differ. Not when no job moved in either:
 * all-zero samples draw the same blank graph and `peak 0 B/s` however many there are, so an idle
 * UI need not redraw every second just because a zero sample was taken.
 */
export function isRateChangeVisible(a: RateHistory, b: RateHistory): boolean {
  if (a === b) return false;
  return hasMovement(a) || hasMovement(b);
}
