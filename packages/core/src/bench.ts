/**
 * `ddm bench`: measures how many parallel connections a host rewards. Fetches the first part
 * of a file with 1, 2, 4, 8, 16 connections (up to a maximum), each count as parallel Range
 * GETs over fresh connections, reads and discards the bytes, and picks the smallest count
 * within 5% of the best rate.
 *
 * Bytes are discarded rather than written through the engine into a temp file on purpose: the
 * question is what the network path to the host rewards, and a write path (page cache,
 * fdatasync at each checkpoint) would cap the fast rows at the disk's speed and add noise from
 * writeback between rows. Every request goes through `sendRequest` (http.ts), as a job's do:
 * the host sees what a real job sends, and secret headers never follow a redirect to another
 * host.
 */
import { DdmError } from './errors.ts';
import { networkError, parseHttpUrl, type RequestContext, sendRequest } from './http.ts';
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
    origin: options.url,
    url: info.finalUrl,
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
  /** The URL the user gave, whose host the credentials belong to. */
  origin: string;
  /** Where the probe's redirects ended. */
  url: string;
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
  const subject = `GET ${url}`;
  // Through http.ts like every request of a job: one header rule (secret headers never leave the
  // original host), identity encoding, the head timeout, proxies, manual redirects. A fresh
  // connection per request, as each count stands for a new job.
  const { response, finalUrl } = await sendRequest(target.context, {
    url,
    originUrl: target.origin,
    range: { start, end: end - 1 },
    ifRange: target.ifRange,
    signal,
    isFreshConnection: true,
  });
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
  if (response.status !== 206) return fail(statusError(response, finalUrl));
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
    throw networkError(error, 'GET', finalUrl);
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
