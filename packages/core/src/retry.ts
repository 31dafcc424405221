/**
 * Retry policy as small pure functions: how long to wait, whether a status or an error is worth
 * another try, and what a server's Retry-After asks for.
 *
 * Errors are classified by their `code` (errno style) or DOM exception `name`, never by message
 * text. What Bun 1.4.4's fetch was observed to throw against loopback servers (re-checked by
 * the "Bun fetch failures" tests in retry.test.ts):
 *
 * - nothing listening on the port: TypeError with `code: 'ECONNREFUSED'`;
 * - socket closed or reset before the response head, a response head that is not HTTP, a body
 *   cut short (Content-Length not reached, chunked body truncated, socket destroyed mid-body):
 *   TypeError with `code: 'ECONNRESET'` (from `fetch()` or from reading the body);
 * - unknown host: TypeError with `code: 'ENOTFOUND'`, `syscall: 'getaddrinfo'`;
 * - `AbortSignal.timeout()` fired, before or during the body: DOMException named
 *   `'TimeoutError'` (its `code` is the number 23);
 * - `controller.abort()` without a reason: DOMException named `'AbortError'` (`code` 20);
 *   `controller.abort(reason)` rejects with `reason` itself;
 * - an `ftp:` URL: TypeError with `code: 'ERR_INVALID_ARG_VALUE'`.
 *
 * Older Bun versions threw `code: 'ConnectionRefused'` / `'ConnectionClosed'`; both are still
 * mapped.
 */
import { HttpStatusError, isConnectionRefused, toDdmError } from './errors.ts';

// Classification lives with the error types (errors.ts); re-exported for existing importers.
export { type ClassifyOptions, classifyError, type ErrorClass, isConnectionRefused } from './errors.ts';

/** Longest Retry-After ddm honours; a server asking for more is waited on for this long. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

export interface BackoffOptions {
  /** Upper bound of the first retry's delay. */
  baseDelayMs: number;
  /** No delay exceeds this. */
  maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (1 = the first retry), with "full jitter": a uniformly
 * random delay in `[0, min(maxDelayMs, baseDelayMs * 2^(attempt - 1)))`.
 *
 * Full jitter rather than decorrelated jitter because it is a pure function of the attempt
 * number (decorrelated jitter needs the previous delay, i.e. state per segment), and in AWS's
 * comparison ("Exponential Backoff And Jitter") it spreads competing clients as well as
 * decorrelated jitter while doing the least total work. Here the competing clients are our own
 * segments, which all fail together when a server drops every connection at once.
 *
 * Non-integer or < 1 attempts count as 1; negative options count as 0. `random` must return a
 * number in `[0, 1)` (injectable for tests).
 *
 * @returns an integer number of ms, `0 <= delay <= maxDelayMs`.
 */
export function backoffDelayMs(
  attempt: number,
  { baseDelayMs, maxDelayMs }: BackoffOptions,
  random: () => number = Math.random,
): number {
  const retryNumber = Number.isFinite(attempt) && attempt >= 1 ? Math.floor(attempt) : 1;
  const base = Math.max(0, baseDelayMs);
  const max = Math.max(0, maxDelayMs);
  // 2^1024 is Infinity and 0 * Infinity is NaN; past 2^52 the cap has long been reached anyway.
  const ceilingMs = Math.min(max, base * 2 ** Math.min(retryNumber - 1, 52));
  const fraction = Math.min(Math.max(random(), 0), 1);
  return Math.min(max, Math.floor(fraction * ceilingMs));
}

/**
 * How long to wait before retry number `attempt` after `error`: the full-jitter backoff, or
 * longer when the server asked for more with Retry-After (an {@link HttpStatusError}'s
 * `retryAfterMs`, already capped at {@link MAX_RETRY_AFTER_MS}). The one rule for every
 * retry of a job, its probe and its segments alike.
 *
 * @returns an integer number of ms, at least the Retry-After delay.
 */
export function retryDelayMs(
  error: unknown,
  attempt: number,
  settings: { retryBaseDelayMs: number; retryMaxDelayMs: number },
  random: () => number = Math.random,
): number {
  const retryAfterMs = error instanceof HttpStatusError ? (error.retryAfterMs ?? 0) : 0;
  const backoffMs = backoffDelayMs(
    attempt,
    { baseDelayMs: settings.retryBaseDelayMs, maxDelayMs: settings.retryMaxDelayMs },
    random,
  );
  return Math.max(retryAfterMs, backoffMs);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function waitMs(ms: number, signal: AbortSignal): Promise<void> {
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

/** The why of a retry: what is retried, when, which attempt of how many, and the error. */
export function retryWhy(what: string, delayMs: number, attempt: number, attempts: number, error: Error): string {
  return `retrying ${what} in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt} of ${attempts}): ${error.message}`;
}

export interface RetryLoopOptions {
  settings: { retryAttempts: number; retryBaseDelayMs: number; retryMaxDelayMs: number };
  signal: AbortSignal;
  /** See {@link shouldRetry}: false on a first contact, where a refusal fails at once. */
  hasJobWorked: () => boolean;
  /** Told each wait before it starts, with the {@link retryWhy} line. */
  onRetry: (why: string) => void;
}

/**
 * Runs `fn` until it succeeds, waiting `retryDelayMs` between tries while {@link shouldRetry}
 * allows and the attempts last. @throws the last error (as a DdmError), or the signal's reason.
 */
export async function withRetries<T>(what: string, fn: () => Promise<T>, o: RetryLoopOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (o.signal.aborted) throw error;
      const err = toDdmError(error);
      if (!shouldRetry(err, { hasJobWorked: o.hasJobWorked() }) || attempt > o.settings.retryAttempts) throw err;
      const delayMs = retryDelayMs(err, attempt, o.settings);
      o.onRetry(retryWhy(what, delayMs, attempt, o.settings.retryAttempts, err));
      await waitMs(delayMs, o.signal);
    }
  }
}

/** IMF-fixdate, RFC 850 and asctime dates all start with a day name (RFC 9110 §5.6.7). */
const HTTP_DATE_PATTERN = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i;
/** asctime has no zone but is UTC (RFC 9110 §5.6.7): `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_PATTERN = /^[a-z]{3}\s+([a-z]{3})\s+(\d{1,2})\s+(\d{2}:\d{2}:\d{2})\s+(\d{4})$/i;

const HAS_ZONE_PATTERN = /(?:GMT|UTC|UT|Z|[+-]\d{4})$/i;

/**
 * Reads a Retry-After header (RFC 9110 §10.2.3): delta-seconds (`"120"`) or an HTTP-date
 * (`"Wed, 21 Oct 2015 07:28:00 GMT"`, RFC 850 and asctime forms too), relative to `nowMs`.
 *
 * @returns the delay in ms, at least 0 (a date in the past means "now") and at most
 *   {@link MAX_RETRY_AFTER_MS}; `null` when the header is absent, empty or not one of the
 *   two forms (negative or fractional seconds included).
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  if (!HTTP_DATE_PATTERN.test(text)) return null;
  const asctime = ASCTIME_PATTERN.exec(text);
  // HTTP-dates are always UTC; a sender that leaves the zone out still means GMT, not our zone.
  const dateMs = asctime
    ? Date.parse(`${asctime[2]} ${asctime[1]} ${asctime[4]} ${asctime[3]} GMT`)
    : Date.parse(HAS_ZONE_PATTERN.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(dateMs)) return null;
  return Math.min(Math.max(0, dateMs - nowMs), MAX_RETRY_AFTER_MS);
}

/**
 * Whether a response status is worth retrying: 5xx, 408 Request Timeout and 429 Too Many
 * Requests are; everything else (other 4xx, and 1xx-3xx, which are not failures) is not.
 * Matches {@link HttpStatusError}'s `retryable`.
 */
export function isRetryableStatus(status: number): boolean {
  return (status >= 500 && status <= 599) || status === 408 || status === 429;
}

/**
 * Whether a retryable failure of a job's request is worth retrying. A refused connection on a
 * job's first contact (its probe, before any request of the job was ever answered) fails at
 * once, as curl and aria2c do: nothing listens there, and waiting through every backoff only
 * delays the answer. Once the job has worked, a refusal (a server restarting) is retried.
 */
export function shouldRetry(error: { retryable: boolean }, options: { hasJobWorked: boolean }): boolean {
  if (!error.retryable) return false;
  if (!options.hasJobWorked && isConnectionRefused(error)) return false;
  return true;
}
