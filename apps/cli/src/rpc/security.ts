/**
 * The guards of a local HTTP API: the secret compared in constant time, failed tokens slowed
 * down (one queue for all clients, so parallel guesses wait too), the Host header checked
 * against DNS rebinding, and browser origins refused unless allowed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `given` equals `secret`. Both are hashed first so the comparison has equal-length
 * inputs and takes the same time whatever the input's length or first differing byte.
 */
export function tokenMatches(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

const FIRST_FAILURE_DELAY_MS = 250;
const MAX_FAILURE_DELAY_MS = 4000;

/** Delay before answering the nth consecutive failed token (1-based): 250 ms, doubling, at most 4 s. */
export function failureDelayMs(consecutiveFailures: number): number {
  const n = Math.max(1, Math.min(consecutiveFailures, 16));
  return Math.min(MAX_FAILURE_DELAY_MS, FIRST_FAILURE_DELAY_MS * 2 ** (n - 1));
}

/**
 * Slows down wrong tokens: each failure waits its delay after the previous failure's answer, so
 * a burst of parallel guesses is answered one at a time. A correct token resets the count.
 */
export class FailureThrottle {
  private failures = 0;
  private nextAnswerAt = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Resolves when the failed call may be answered. */
  failed(): Promise<void> {
    this.failures++;
    const at = Math.max(this.now(), this.nextAnswerAt) + failureDelayMs(this.failures);
    this.nextAnswerAt = at;
    return Bun.sleep(Math.max(0, at - this.now()));
  }

  succeeded(): void {
    this.failures = 0;
  }
}

/**
 * DNS rebinding guard: a page on evil.example whose name resolves to 127.0.0.1 still sends
 * `Host: evil.example`. On loopback only loopback names are accepted; with listen_all (which
 * needs a secret) any host is, since LAN clients use names ddm cannot know.
 */
export function isHostAllowed(host: string | null, isListeningOnAll: boolean): boolean {
  if (isListeningOnAll) return true;
  if (host === null) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

export interface OriginPolicy {
  /** aria2's --rpc-allow-origin-all. */
  isAnyOriginAllowed: boolean;
  /** Exact origins (`http://localhost:8080`) allowed in addition. */
  allowedOrigins: readonly string[];
}

export type OriginDecision =
  | { isAllowed: true; corsHeaders: Record<string, string> }
  | { isAllowed: false; reason: string };

/**
 * Whether a request may be served, and the CORS headers to send. A browser marks its requests
 * with `Origin` (fetch, WebSocket, form posts) or `Sec-Fetch-Site` (script tags, so JSONP); a
 * request that comes from a web page whose origin is not allowed is refused before it runs, since
 * a "simple" cross-site POST would otherwise act even though its answer stays unreadable.
 * Requests without those headers come from programs (curl, the aria2 libraries) and pass.
 */
export function decideOrigin(origin: string | null, secFetchSite: string | null, policy: OriginPolicy): OriginDecision {
  if (policy.isAnyOriginAllowed) {
    return {
      isAllowed: true,
      corsHeaders: {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Allow-Methods': 'POST, GET, OPTIONS',
      },
    };
  }
  if (origin !== null && origin !== 'null' && policy.allowedOrigins.includes(origin)) {
    return {
      isAllowed: true,
      corsHeaders: {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Allow-Methods': 'POST, GET, OPTIONS',
        Vary: 'Origin',
      },
    };
  }
  if (origin !== null) return { isAllowed: false, reason: `origin ${origin} is not allowed` };
  if (secFetchSite !== null && secFetchSite !== 'none' && secFetchSite !== 'same-origin') {
    return { isAllowed: false, reason: `a ${secFetchSite} browser request is not allowed` };
  }
  return { isAllowed: true, corsHeaders: {} };
}

/** `allowed_origins = "http://a, http://b"` → the list. */
export function parseOrigins(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim().replace(/\/$/, ''))
    .filter((s) => s !== '');
}
