/**
 * Watches a job's connections four times a second: measures each one's rate over a sliding
 * window, aborts connections that stall, and restarts one far slower than its siblings (a new
 * connection often gets a better path). Remembers the rates of finished requests so a laggard
 * is still judged after its siblings ended.
 */

import { DdmError } from './errors.ts';
import { type LiveSegment, RATE_MATURE_MS } from './live-segment.ts';
import type { EngineSettings } from './settings.ts';
import { formatRate } from './units.ts';

export const MONITOR_INTERVAL_MS = 250;
const RATE_WINDOW_MS = 2000;
const MAX_SLOW_RESTARTS = 3;
/** Finished-request rates kept for the median. */
const MAX_FINISHED_RATES = 16;

/** Aborts the request of a connection restarted for being slow; its segment is fetched again at once. */
export class SlowRestart extends Error {
  constructor() {
    super('slow connection restarted');
  }
}

export interface MonitorOptions {
  settings: () => EngineSettings;
  /** True while a rate limit holds the job back: a slow connection is then no fault of its own. */
  isThrottled: () => boolean;
  /** Called with the reason when a laggard's request is aborted (it restarts at once). */
  onSlowRestart: (why: string) => void;
}

export class SegmentMonitor {
  /** Rates of recently finished requests (bytes/s), newest last. */
  private readonly finishedRates: number[] = [];

  constructor(private readonly options: MonitorOptions) {}

  /**
   * One look at the connections: updates each segment's rate, aborts stalled requests with a
   * retryable ERR_STALLED (quoting `url`), restarts a laggard.
   * @returns the job's total rate in bytes/s.
   */
  tick(segments: readonly LiveSegment[], url: string | null, now = Date.now()): number {
    const settings = this.options.settings();
    let total = 0;
    const active = segments.filter((s) => s.status === 'active' || s.status === 'stalled');
    for (const s of active) {
      s.samples.push({ at: now, bytes: s.receivedBytes });
      while (s.samples.length > 2 && (s.samples[0] as { at: number }).at < now - RATE_WINDOW_MS) s.samples.shift();
      const first = s.samples[0] as { at: number; bytes: number };
      const dt = now - first.at;
      s.rateBytesPerSec = dt > 0 ? ((s.receivedBytes - first.bytes) * 1000) / dt : 0;
      total += s.rateBytesPerSec;
      const age = now - s.requestStartedAt;
      if (age < 1000) continue;
      if (s.rateBytesPerSec < settings.lowSpeedBytesPerSec && !this.options.isThrottled()) {
        s.lowSince ??= now;
        s.status = 'stalled';
        if (now - s.lowSince >= settings.lowSpeedTimeMs) {
          s.requestAbort?.abort(
            new DdmError(
              `Stalled: under ${formatRate(settings.lowSpeedBytesPerSec)} for ${settings.lowSpeedTimeMs / 1000} s (segment #${s.index}): GET ${url}`,
              { code: 'ERR_STALLED', retryable: true },
            ),
          );
        }
      } else {
        s.lowSince = null;
        if (s.status === 'stalled') s.status = 'active';
      }
    }
    for (const s of segments) if (s.status !== 'active' && s.status !== 'stalled') s.rateBytesPerSec = 0;
    this.restartLaggard(active, now, settings);
    return total;
  }

  /** The median rate of the job's connections, running or recently finished; 0 when unknown. */
  typicalRate(running: readonly number[]): number {
    const rates = [...running.filter((r) => r > 0), ...this.finishedRates].sort((a, b) => a - b);
    return rates.length === 0 ? 0 : (rates[Math.floor(rates.length / 2)] as number);
  }

  /** Remembers how fast a finished request ran, so a laggard is judged even after its siblings ended. */
  recordConnectionRate(bytes: number, durationMs: number): void {
    if (durationMs < 500 || bytes <= 0) return;
    this.finishedRates.push((bytes * 1000) / durationMs);
    if (this.finishedRates.length > MAX_FINISHED_RATES) this.finishedRates.shift();
  }

  /** A connection far slower than its siblings is restarted (a new connection often gets a better path). */
  private restartLaggard(active: LiveSegment[], now: number, settings: EngineSettings): void {
    if (this.options.isThrottled()) return;
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
        this.options.onSlowRestart(
          `restarted segment #${s.index}: ${formatRate(s.rateBytesPerSec)} against a median of ${formatRate(median)}`,
        );
        s.requestAbort?.abort(new SlowRestart());
      }
    }
  }
}
