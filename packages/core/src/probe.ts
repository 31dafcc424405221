/**
 * Learns what a server offers before planning: size, Range support, validators, file name.
 * HEAD first; when HEAD is refused (pre-signed S3/R2 URLs answer 403/405) or says nothing
 * useful, `GET` with `Range: bytes=0-0` (RFC 9110 §14.2), whose body is one byte at most.
 */
import { DdmError, HttpStatusError } from './errors.ts';
import { type RequestContext, sendRequest } from './http.ts';
import { redactUrl } from './redact.ts';
import { parseRetryAfter } from './retry.ts';

export interface ProbeResult {
  finalUrl: string;
  chain: string[];
  sizeBytes: number | null;
  acceptsRanges: boolean;
  etag: string | null;
  lastModified: string | null;
  contentDisposition: string | null;
  contentType: string | null;
  /** The server sent a Content-Encoding other than identity: bytes are not the file's. */
  isCompressed: boolean;
  /** How the probe learned this, for the job's "why" line. */
  notes: string[];
}

/** `bytes a-b/total` → {start, end (inclusive), total (null for `*`)}; null when malformed. */
export function parseContentRange(value: string | null): { start: number; end: number; total: number | null } | null {
  if (!value) return null;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}

function contentLength(headers: Headers): number | null {
  const raw = headers.get('content-length');
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw);
}

function isEncoded(headers: Headers): boolean {
  const enc = headers.get('content-encoding');
  return enc !== null && enc.trim() !== '' && enc.trim().toLowerCase() !== 'identity';
}

/** A strong ETag may be used in If-Range; a weak one may not (RFC 9110 §13.1.5). */
export function ifRangeValidator(etag: string | null, lastModified: string | null): string | null {
  if (etag && !etag.startsWith('W/')) return etag;
  return lastModified;
}

export function statusError(response: Response, url: string, method = 'GET'): HttpStatusError {
  return new HttpStatusError(
    response.status,
    url,
    parseRetryAfter(response.headers.get('retry-after'), Date.now()),
    method,
  );
}

/**
 * When the probe with a request context must have had an answer. A job run builds one context
 * per attempt and retries a failed probe with it, so the retries share one deadline; any answer
 * (even an error status) clears it, so a later re-resolve of the same run gets its own.
 */
const probeDeadlines = new WeakMap<RequestContext, number>();

/** A server that never answered within `ctx.probeTimeoutMs`: final, retrying cannot help. */
function noAnswerError(ctx: RequestContext, url: string, cause?: unknown): DdmError {
  const budgetMs = ctx.probeTimeoutMs ?? ctx.connectTimeoutMs;
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // Not a URL: name it as given.
  }
  const seconds = Math.round(budgetMs / 100) / 10;
  return new DdmError(
    `No answer from ${host} within ${seconds} s (connect and response headers, all tries; timeouts.probe_ms): ${redactUrl(url)}`,
    { code: 'ERR_TIMEOUT', retryable: false, cause },
  );
}

/**
 * Probes `url`. With `ctx.probeTimeoutMs`, the probe and its retries with the same `ctx` must get
 * an answer (connect and response headers) within that time in total.
 * @throws HttpStatusError when the GET probe fails; DdmError ERR_TIMEOUT (not retryable) when no
 *   answer came before the probe deadline; DdmError from sendRequest.
 */
export async function probe(ctx: RequestContext, url: string, signal: AbortSignal): Promise<ProbeResult> {
  const budgetMs = ctx.probeTimeoutMs;
  if (budgetMs === undefined) return probeOnce(() => ctx, url, signal);
  let deadline = probeDeadlines.get(ctx);
  if (deadline === undefined) {
    deadline = Date.now() + budgetMs;
    probeDeadlines.set(ctx, deadline);
  }
  const until = deadline;
  // Each request gets what is left of the deadline (at most its own connect timeout).
  const bounded = (): RequestContext => {
    const remainingMs = until - Date.now();
    if (remainingMs <= 0) throw noAnswerError(ctx, url);
    return { ...ctx, connectTimeoutMs: Math.min(ctx.connectTimeoutMs, remainingMs) };
  };
  try {
    const result = await probeOnce(bounded, url, signal);
    probeDeadlines.delete(ctx);
    return result;
  } catch (error) {
    if (error instanceof HttpStatusError) probeDeadlines.delete(ctx);
    else if (!signal.aborted && error instanceof DdmError && error.code === 'ERR_TIMEOUT' && Date.now() >= until - 10) {
      throw error.retryable ? noAnswerError(ctx, url, error) : error;
    }
    throw error;
  }
}

async function probeOnce(ctxNow: () => RequestContext, url: string, signal: AbortSignal): Promise<ProbeResult> {
  const notes: string[] = [];
  let head: Awaited<ReturnType<typeof sendRequest>> | null = null;
  try {
    head = await sendRequest(ctxNow(), { url, method: 'HEAD', signal });
  } catch (error) {
    if (signal.aborted) throw error;
    if (error instanceof DdmError && (error.code === 'ERR_REDIRECT_LOOP' || error.code === 'ERR_TOO_MANY_REDIRECTS')) {
      throw error;
    }
    notes.push('HEAD failed, probed with GET');
  }
  if (head) {
    const { response } = head;
    await response.body?.cancel().catch(() => {});
    const size = contentLength(response.headers);
    const ranges = (response.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes');
    if (response.ok && size !== null && ranges && !isEncoded(response.headers)) {
      return fromHeaders(head.finalUrl, head.chain, response.headers, size, true, notes);
    }
    if (!response.ok) notes.push(`HEAD answered ${response.status}, probed with GET Range: bytes=0-0`);
    else if (size === null) notes.push('HEAD gave no Content-Length, probed with GET Range: bytes=0-0');
  }

  const got = await sendRequest(ctxNow(), { url, method: 'GET', range: { start: 0, end: 0 }, signal });
  const { response } = got;
  try {
    if (response.status === 416) {
      // An empty resource cannot satisfy bytes=0-0; RFC 9110 §15.5.17 sends `bytes */0`.
      const total = /\*\/(\d+)/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined)
        return fromHeaders(got.finalUrl, got.chain, response.headers, Number(total), true, notes);
    }
    if (!response.ok) throw statusError(response, got.finalUrl);
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range && range.start === 0 && !isEncoded(response.headers)) {
        return fromHeaders(got.finalUrl, got.chain, response.headers, range.total, range.total !== null, notes);
      }
      notes.push('server answered the Range probe with a bad Content-Range');
      return fromHeaders(got.finalUrl, got.chain, response.headers, range?.total ?? null, false, notes);
    }
    notes.push('server ignores Range (answered 200 to bytes=0-0)');
    return fromHeaders(got.finalUrl, got.chain, response.headers, contentLength(response.headers), false, notes);
  } finally {
    await response.body?.cancel().catch(() => {});
  }
}

function fromHeaders(
  finalUrl: string,
  chain: string[],
  headers: Headers,
  sizeBytes: number | null,
  acceptsRanges: boolean,
  notes: string[],
): ProbeResult {
  return {
    finalUrl,
    chain,
    sizeBytes,
    acceptsRanges,
    etag: headers.get('etag'),
    lastModified: headers.get('last-modified'),
    contentDisposition: headers.get('content-disposition'),
    contentType: headers.get('content-type'),
    isCompressed: isEncoded(headers),
    notes,
  };
}
