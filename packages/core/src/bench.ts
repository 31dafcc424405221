/**
 * `ddm bench`: measures how many parallel connections a host rewards. Fetches the first part
 * of a file with 1, 2, 4, 8, 16 connections (up to a maximum), each count as parallel Range
 * GETs over fresh connections, reads and discards the bytes, and picks the smallest count
 * within 5% of the best rate.
 *
 * Bytes are discarded rather than written through the engine into a temp file on purpose: the
 * question is what the network path to the host rewards, and a write path (page cache,
 * fdatasync at each checkpoint) would cap the fast rows at the disk's speed and add noise from
 * writeback between rows. The requests follow the engine's rules (redirects resolved by the
 * probe, `Accept-Encoding: identity`, no decompression, If-Range, credentials only to the
 * original host, proxies) so the host sees what a real job sends.
 */
import { DdmError, HttpStatusError } from './errors.ts';
import { networkError, parseHttpUrl, type RequestContext } from './http.ts';
import { ifRangeValidator, parseContentRange, probe, statusError } from './probe.ts';

/** How much of the file each count fetches, at most. */
export const DEFAULT_BENCH_SAMPLE_BYTES = 64 * 1024 * 1024;
/** Most connections tried unless told otherwise. */
export const DEFAULT_BENCH_MAX_CONNECTIONS = 16;
/** A count whose rate is within this fraction of the top rate counts as "as good". */
export const BENCH_TOLERANCE = 0.05;

/** One row of the measurement. */
export interface BenchRow {
  connections: number;
  /** Bytes fetched by all connections together (the sample). */
  bytes: number;
  /** From the first request sent to the last byte received. */
  seconds: number;
  bytesPerSec: number;
}

export interface BenchReport {
  /** The URL as given; its `host` is what the engine looks up for new jobs. */
  url: string;
  host: string;
  /** Where the redirects ended; the ranged requests go here. */
  finalUrl: string;
  sizeBytes: number;
  sampleBytes: number;
  /** One row per count, in increasing order of connections. */
  results: BenchRow[];
  bestConnections: number;
}

export interface BenchOptions {
  url: string;
  /** Headers, credentials, proxy and timeout, as the engine would use them for a job. */
  context: RequestContext;
  /** Largest count to try. @default 16 */
  maxConnections?: number;
  /** Bytes fetched per count: the first min(size, sampleBytes) of the file. @default 64 MiB */
  sampleBytes?: number;
  signal?: AbortSignal;
  /** Called after each count, e.g. to print the table as it grows. */
  onRow?: (row: BenchRow) => void;
}

/** 1, 2, 4, 8, ... below `max`, then `max` itself: `connectionCounts(12)` is [1, 2, 4, 8, 12]. */
export function connectionCounts(max: number): number[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`Connection count must be a positive integer: ${max}`);
  const counts: number[] = [];
  for (let n = 1; n < max; n *= 2) counts.push(n);
  counts.push(max);
  return counts;
}

/**
 * The smallest count whose rate is within `tolerance` of the top rate: more connections cost
 * the server and the other users of the path, so they must earn their keep.
 * @throws RangeError when `rows` is empty.
 */
export function pickBestConnections(rows: readonly BenchRow[], tolerance = BENCH_TOLERANCE): number {
  if (rows.length === 0) throw new RangeError('No measurements to pick from');
  const top = Math.max(...rows.map((r) => r.bytesPerSec));
  const good = rows.filter((r) => r.bytesPerSec >= top * (1 - tolerance));
  return Math.min(...good.map((r) => r.connections));
}

/** `[start, end)` ranges splitting `sizeBytes` into `count` near-equal parts. */
export function splitEvenly(sizeBytes: number, count: number): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor((sizeBytes * i) / count);
    const end = Math.floor((sizeBytes * (i + 1)) / count);
    if (end > start) ranges.push({ start, end });
  }
  return ranges;
}

/**
 * Probes `url`, then fetches its first min(size, sampleBytes) bytes with each count of
 * `connectionCounts(maxConnections)` in turn and picks the best count.
 *
 * @throws DdmError ERR_RANGE_UNSUPPORTED when the server cannot serve ranges (no Range support,
 *   no length, or compressed bodies), ERR_USAGE for an empty file, ERR_RANGE_MISMATCH for a
 *   Content-Range that does not match the request, ERR_RESOURCE_CHANGED when the file changed
 *   during the measurement, HttpStatusError, and the network errors of `sendRequest`.
 */
export async function measureConnections(options: BenchOptions): Promise<BenchReport> {
  const signal = options.signal ?? new AbortController().signal;
  const origin = parseHttpUrl(options.url);
  const info = await probe(options.context, options.url, signal);
  const subject = `GET ${info.finalUrl}`;
  if (!info.acceptsRanges || info.isCompressed || info.sizeBytes === null) {
    const why = !info.acceptsRanges
      ? 'the server does not support Range requests'
      : info.isCompressed
        ? 'the server compresses the body'
        : 'the server sends no length';
    throw new DdmError(`Cannot measure connections (${why}; jobs will use one connection): ${subject}`, {
      code: 'ERR_RANGE_UNSUPPORTED',
    });
  }
  if (info.sizeBytes === 0)
    throw new DdmError(`Cannot measure connections on an empty file: ${subject}`, { code: 'ERR_USAGE' });
  const sampleBytes = Math.min(info.sizeBytes, options.sampleBytes ?? DEFAULT_BENCH_SAMPLE_BYTES);
  const target: RangeTarget = {
    context: options.context,
    origin,
    url: parseHttpUrl(info.finalUrl),
    sizeBytes: info.sizeBytes,
    ifRange: ifRangeValidator(info.etag, info.lastModified),
  };
  const counts = connectionCounts(options.maxConnections ?? DEFAULT_BENCH_MAX_CONNECTIONS).filter(
    (n) => n <= sampleBytes,
  );
  const results: BenchRow[] = [];
  for (const connections of counts) {
    const row = await measureOnce(target, sampleBytes, connections, signal);
    results.push(row);
    options.onRow?.(row);
  }
  return {
    url: options.url,
    host: origin.host,
    finalUrl: info.finalUrl,
    sizeBytes: info.sizeBytes,
    sampleBytes,
    results,
    bestConnections: pickBestConnections(results),
  };
}

interface RangeTarget {
  context: RequestContext;
  origin: URL;
  url: URL;
  sizeBytes: number;
  ifRange: string | null;
}

async function measureOnce(
  target: RangeTarget,
  sampleBytes: number,
  connections: number,
  signal: AbortSignal,
): Promise<BenchRow> {
  const ranges = splitEvenly(sampleBytes, connections);
  // One failed range ends the row: the others are aborted rather than left to finish.
  const failed = new AbortController();
  const rowSignal = AbortSignal.any([signal, failed.signal]);
  const startedAt = performance.now();
  const fetched = await Promise.all(
    ranges.map((r) =>
      fetchRange(target, r.start, r.end, rowSignal).catch((error: unknown) => {
        failed.abort(error);
        throw error;
      }),
    ),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const bytes = fetched.reduce((sum, n) => sum + n, 0);
  return { connections, bytes, seconds, bytesPerSec: seconds > 0 ? bytes / seconds : 0 };
}

/** GETs `[start, end)` over a new connection, checks the answer and counts the bytes. */
async function fetchRange(target: RangeTarget, start: number, end: number, signal: AbortSignal): Promise<number> {
  const { url } = target;
  const range = `bytes=${start}-${end - 1}`;
  const subject = `GET ${url.href}`;
  const response = await fetchHead(target, range, signal);
  const fail = async (error: DdmError): Promise<never> => {
    await response.body?.cancel().catch(() => {});
    throw error;
  };
  if (response.status === 200) {
    // RFC 9110 §13.1.5: a failed If-Range answers the whole current representation.
    return fail(
      new DdmError(`Range request answered 200 instead of 206 (the file changed?): ${subject}`, {
        code: 'ERR_RESOURCE_CHANGED',
      }),
    );
  }
  if (response.status !== 206) return fail(statusError(response, url.href));
  const encoding = response.headers.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') {
    return fail(new DdmError(`Range response is ${encoding}-compressed: ${subject}`, { code: 'ERR_COMPRESSED' }));
  }
  const contentRange = response.headers.get('content-range');
  const parsed = parseContentRange(contentRange);
  if (!parsed || parsed.start !== start || parsed.end !== end - 1) {
    return fail(
      new DdmError(`Content-Range "${contentRange ?? ''}" does not match the request ${range}: ${subject}`, {
        code: 'ERR_RANGE_MISMATCH',
      }),
    );
  }
  if (parsed.total !== null && parsed.total !== target.sizeBytes) {
    return fail(
      new DdmError(`Resource changed: size ${parsed.total} instead of ${target.sizeBytes}: ${subject}`, {
        code: 'ERR_RESOURCE_CHANGED',
      }),
    );
  }
  const body = response.body;
  if (!body) return fail(new DdmError(`Empty response body: ${subject}`, { code: 'ERR_NETWORK', retryable: true }));
  const wanted = end - start;
  let received = 0;
  const reader = body.getReader();
  try {
    while (received < wanted) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    throw networkError(error, 'GET', url.href);
  } finally {
    reader.cancel().catch(() => {});
  }
  if (received < wanted) {
    throw new DdmError(`Connection closed after ${received} of ${wanted} bytes of ${range}: ${subject}`, {
      code: 'ERR_NETWORK',
      retryable: true,
    });
  }
  // A server sending more than it announced is cut off at what was asked.
  return Math.min(received, wanted);
}

/** Sends one ranged GET with `keepalive: false` (each count starts on fresh connections, as a new job would). */
async function fetchHead(target: RangeTarget, range: string, signal: AbortSignal): Promise<Response> {
  const { context, url } = target;
  const headTimer = new AbortController();
  const timer = setTimeout(
    () =>
      headTimer.abort(
        new DdmError(`No response within ${context.connectTimeoutMs} ms: GET ${url.href}`, {
          code: 'ERR_TIMEOUT',
          retryable: true,
        }),
      ),
    context.connectTimeoutMs,
  );
  const init: RequestInit & { proxy?: string; decompress?: boolean; tls?: { rejectUnauthorized: boolean } } = {
    method: 'GET',
    headers: rangeHeaders(target, range),
    redirect: 'manual',
    keepalive: false,
    decompress: false,
    signal: AbortSignal.any([signal, headTimer.signal]),
  };
  const proxy = context.proxyFor?.(url.href);
  if (proxy) init.proxy = proxy;
  if (context.isInsecure) init.tls = { rejectUnauthorized: false };
  try {
    const response = await fetch(url.href, init);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => {});
      throw new HttpStatusError(response.status, url.href);
    }
    return response;
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    if (headTimer.signal.aborted) throw headTimer.signal.reason;
    throw networkError(error, 'GET', url.href);
  } finally {
    clearTimeout(timer);
  }
}

const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** The engine's header rules (see http.ts): user headers, identity encoding, credentials only to the original host. */
function rangeHeaders(target: RangeTarget, range: string): Headers {
  const { context, url, origin } = target;
  const headers = new Headers();
  const crossesHost = url.host.toLowerCase() !== origin.host.toLowerCase();
  for (const [name, value] of Object.entries(context.headers)) {
    if (crossesHost && CREDENTIAL_HEADERS.includes(name.toLowerCase())) continue;
    headers.set(name, value);
  }
  if (!headers.has('user-agent') && context.userAgent) headers.set('user-agent', context.userAgent);
  if (!headers.has('accept')) headers.set('accept', '*/*');
  // Bun asks for compressed bodies by default; a compressed range measures the wrong bytes.
  headers.set('accept-encoding', 'identity');
  const cookie = context.cookieHeaderFor?.(url.href);
  if (cookie) {
    const given = headers.get('cookie');
    headers.set('cookie', given ? `${given}; ${cookie}` : cookie);
  }
  if (!headers.has('authorization')) {
    const auth = context.authorizationFor?.(url.href);
    if (auth) headers.set('authorization', auth);
  }
  headers.set('range', range);
  if (target.ifRange) headers.set('if-range', target.ifRange);
  return headers;
}
