/**
 * Speed limits as token buckets shared by many connections: one bucket per job with a limit,
 * one global bucket, and each connection takes from both ({@link acquire}) after reading a chunk.
 * Limits change while downloads run (`setRate`), which gopeed#879 and Surge#197 lack.
 */
import { DdmError } from './errors.ts';

const KiB = 1024;

/** Upper bound of the default burst for slow limits. */
export const MAX_DEFAULT_BURST_BYTES = 256 * KiB;

/**
 * Default burst for a rate: a quarter-second of traffic, at most 256 KiB, but never less than
 * 50 ms of traffic. The floor matters for fast limits: the bucket refills only when a timer
 * fires (≥ 1 ms, often later), so a burst smaller than one timer tick of traffic would cap the
 * rate below the limit. Because a bucket starts full, the overshoot over a 10 s window is at most
 * `burst / (10 * rate)`, i.e. 2.5 %.
 */
export function defaultBurstBytes(bytesPerSec: number): number {
  return Math.max(Math.min(bytesPerSec / 4, MAX_DEFAULT_BURST_BYTES), bytesPerSec / 20, 1);
}

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

function assertRate(bytesPerSec: number | null): void {
  if (bytesPerSec !== null && !(Number.isFinite(bytesPerSec) && bytesPerSec > 0)) {
    throw new DdmError(`Invalid rate limit (expected a positive number of bytes/s or null): ${bytesPerSec}`, {
      code: 'ERR_USAGE',
    });
  }
}

export interface TokenBucketOptions {
  /**
   * Most bytes that may pass at once after an idle period.
   * @default defaultBurstBytes(rate), recomputed on every setRate
   */
  burstBytes?: number;
  /**
   * Monotonic clock in ms (injectable for tests).
   * @default performance.now
   */
  now?: () => number;
}

/**
 * A token bucket of bytes. `take(n)` resolves once `n` bytes may pass.
 *
 * - A `null` rate means unlimited: `take` resolves at once and no timer is ever set.
 * - Waiting callers are served strictly in arrival order (FIFO), so connections sharing a bucket
 *   share the rate evenly instead of the luckiest one draining it.
 * - A take larger than the burst waits until the bucket is full, then drives it into debt that
 *   later callers wait out; the long-run rate stays exact for any chunk size.
 * - `setRate` applies at once to callers already waiting (their timer is recomputed); setting
 *   `null` releases every waiter.
 * - The bucket starts full.
 */
export class TokenBucket {
  #rateBytesPerSec: number | null;
  readonly #explicitBurstBytes: number | undefined;
  #capacityBytes: number;
  #tokens: number;
  #lastRefillMs: number;
  readonly #now: () => number;
  readonly #queue: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param bytesPerSec the limit, or `null` for none.
   * @throws DdmError `ERR_USAGE` when `bytesPerSec` is not null nor a positive finite number, or
   *   `options.burstBytes` is not a positive finite number.
   */
  constructor(bytesPerSec: number | null, options: TokenBucketOptions = {}) {
    assertRate(bytesPerSec);
    const { burstBytes } = options;
    if (burstBytes !== undefined && !(Number.isFinite(burstBytes) && burstBytes > 0)) {
      throw new DdmError(`Invalid burst size (expected a positive number of bytes): ${burstBytes}`, {
        code: 'ERR_USAGE',
      });
    }
    this.#rateBytesPerSec = bytesPerSec;
    this.#explicitBurstBytes = burstBytes;
    this.#now = options.now ?? (() => performance.now());
    this.#capacityBytes = this.#capacityFor(bytesPerSec);
    this.#tokens = this.#capacityBytes;
    this.#lastRefillMs = this.#now();
  }

  /** Current limit in bytes/s; `null` when unlimited. */
  get rate(): number | null {
    return this.#rateBytesPerSec;
  }

  /** Callers waiting right now (for tests and diagnostics). */
  get waitingCount(): number {
    return this.#queue.length;
  }

  /**
   * Changes the limit, effective immediately for callers already waiting. Tokens earned so far
   * are kept (up to the new burst); going from unlimited to a limit starts with a full bucket.
   * @throws DdmError `ERR_USAGE` on an invalid rate (see the constructor).
   */
  setRate(bytesPerSec: number | null): void {
    assertRate(bytesPerSec);
    this.#refill();
    const wasUnlimited = this.#rateBytesPerSec === null;
    this.#rateBytesPerSec = bytesPerSec;
    this.#capacityBytes = this.#capacityFor(bytesPerSec);
    this.#tokens = wasUnlimited ? this.#capacityBytes : Math.min(this.#tokens, this.#capacityBytes);
    this.#clearTimer();
    this.#drain();
  }

  /**
   * Waits until `bytes` may pass, then counts them against the limit.
   *
   * @returns a promise that resolves when the caller may proceed; it rejects with
   *   `signal.reason` if `signal` is (or becomes) aborted first, and then takes no tokens.
   * @throws DdmError `ERR_USAGE` (as a rejection) when `bytes` is negative or not finite.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(Number.isFinite(bytes) && bytes >= 0)) {
      return Promise.reject(
        new DdmError(`Invalid byte count to take from a rate limit: ${bytes}`, { code: 'ERR_USAGE' }),
      );
    }
    if (this.#rateBytesPerSec === null || bytes === 0) return Promise.resolve();
    if (this.#queue.length === 0) {
      this.#refill();
      if (this.#hasTokensFor(bytes)) {
        this.#tokens -= bytes;
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => this.#cancel(waiter),
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      if (this.#queue.length === 1) this.#drain();
    });
  }

  #capacityFor(bytesPerSec: number | null): number {
    if (bytesPerSec === null) return 0;
    return this.#explicitBurstBytes ?? defaultBurstBytes(bytesPerSec);
  }

  /** A take of more than the burst needs a full bucket, not more tokens than it can hold. */
  #hasTokensFor(bytes: number): boolean {
    // The epsilon absorbs float error in the refill arithmetic.
    return this.#tokens + 1e-6 >= Math.min(bytes, this.#capacityBytes);
  }

  #refill(): void {
    const nowMs = this.#now();
    const elapsedMs = Math.max(0, nowMs - this.#lastRefillMs);
    this.#lastRefillMs = nowMs;
    if (this.#rateBytesPerSec === null) return;
    this.#tokens = Math.min(this.#capacityBytes, this.#tokens + (elapsedMs * this.#rateBytesPerSec) / 1000);
  }

  /** Serves waiters from the head while tokens allow, then arms one timer for the new head. */
  #drain(): void {
    this.#refill();
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      if (this.#rateBytesPerSec !== null) {
        if (!this.#hasTokensFor(head.bytes)) break;
        this.#tokens -= head.bytes;
      }
      this.#queue.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve();
    }
    const head = this.#queue[0];
    if (head === undefined || this.#rateBytesPerSec === null || this.#timer !== undefined) return;
    const deficitBytes = Math.min(head.bytes, this.#capacityBytes) - this.#tokens;
    const delayMs = Math.max(1, Math.ceil((deficitBytes * 1000) / this.#rateBytesPerSec));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, delayMs);
  }

  #cancel(waiter: Waiter): void {
    const position = this.#queue.indexOf(waiter);
    if (position === -1) return;
    this.#queue.splice(position, 1);
    waiter.reject(waiter.signal?.reason);
    if (position === 0) {
      // The timer was armed for this waiter's deficit; the next head may need less.
      this.#clearTimer();
      this.#drain();
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Takes `bytes` from every bucket (typically the job's and the global one) and resolves when all
 * have granted them. The buckets are waited on concurrently, so the wait is that of the slowest
 * bucket, not the sum.
 *
 * @returns a promise that rejects with `signal.reason` when `signal` aborts first. Tokens already
 *   granted by the other buckets stay spent: the bytes were read, so they count.
 */
export async function acquire(buckets: readonly TokenBucket[], bytes: number, signal?: AbortSignal): Promise<void> {
  if (buckets.length === 1) return buckets[0]?.take(bytes, signal);
  await Promise.all(buckets.map((bucket) => bucket.take(bytes, signal)));
}
