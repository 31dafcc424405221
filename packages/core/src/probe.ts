/**
 * Learns what a server offers before planning: size, Range support, validators, file name.
 * HEAD first; when HEAD is refused (pre-signed S3/R2 URLs answer 403/405) or says nothing
 * useful, `GET` with `Range: bytes=0-0` (RFC 9110 §14.2), whose body is one byte at most.
 */
import type { JobRow } from '@ddm/db';
import { DdmError, type ErrorCode, HttpStatusError } from './errors.ts';
import { fileNameFromResponse, sanitizeFileName } from './filename.ts';
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
 * an answer (connect and response headers) within that time in total. `originUrl` is the URL the
 * user's credentials belong to (a mirror is probed with the job's URL there, see http.ts).
 * @throws HttpStatusError when the GET probe fails; DdmError ERR_TIMEOUT (not retryable) when no
 *   answer came before the probe deadline; DdmError from sendRequest.
 */
export async function probe(
  ctx: RequestContext,
  url: string,
  signal: AbortSignal,
  originUrl?: string,
): Promise<ProbeResult> {
  const budgetMs = ctx.probeTimeoutMs;
  if (budgetMs === undefined) return probeOnce(() => ctx, url, signal, originUrl);
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
    const result = await probeOnce(bounded, url, signal, originUrl);
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

async function probeOnce(
  ctxNow: () => RequestContext,
  url: string,
  signal: AbortSignal,
  originUrl: string | undefined,
): Promise<ProbeResult> {
  const notes: string[] = [];
  let head: Awaited<ReturnType<typeof sendRequest>> | null = null;
  try {
    head = await sendRequest(ctxNow(), { url, originUrl, method: 'HEAD', signal });
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

  const got = await sendRequest(ctxNow(), { url, originUrl, method: 'GET', range: { start: 0, end: 0 }, signal });
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

/** True when both ETags are known and name different versions (a weak prefix is ignored). */
export function strongEtagDiffers(stored: string | null, received: string | null): boolean {
  if (!stored || !received) return false;
  const norm = (e: string) => e.replace(/^W\//, '');
  return norm(stored) !== norm(received);
}

/** What changed between the stored resource and a new probe, or null when it is the same. */
export function resourceChange(job: JobRow, info: ProbeResult): string | null {
  if (job.sizeBytes !== null && info.sizeBytes !== null && job.sizeBytes !== info.sizeBytes) {
    return `resource changed: size ${info.sizeBytes} instead of ${job.sizeBytes}`;
  }
  if (job.etag && info.etag && strongEtagDiffers(job.etag, info.etag)) {
    return `resource changed: ETag ${info.etag} instead of ${job.etag}`;
  }
  if (!job.etag && job.lastModified && info.lastModified && job.lastModified !== info.lastModified) {
    return `resource changed: Last-Modified ${info.lastModified} instead of ${job.lastModified}`;
  }
  return null;
}

/** What a probe means for a job: go on or start over, one connection or many, and why. */
export interface ProbeReading {
  /** Set when the job must start over from byte 0. */
  restart: { code: ErrorCode; reason: string; isSingleConnection: boolean } | null;
  acceptsRanges: boolean;
  isResumable: boolean;
  whyParts: string[];
  /** The (sanitised) name the response suggests when the job may still take it; null: keep the job's. */
  suggestedName: string | null;
}

/**
 * Compares a probe with what the job knew. A job with progress restarts when the resource
 * changed or cannot be resumed; a job that restarted for unusable ranged answers stays on one
 * connection; Content-Disposition (or a redirect to another name) names a file not yet created.
 */
export function readProbe(
  job: JobRow,
  info: ProbeResult,
  run: { hasProgress: boolean; isRestart: boolean; restartReason: string | null },
): ProbeReading {
  const { isRestart } = run;
  let restart: ProbeReading['restart'] = null;
  if (run.hasProgress && !isRestart) {
    const changed = resourceChange(job, info);
    if (changed) restart = { code: 'ERR_RESOURCE_CHANGED', reason: changed, isSingleConnection: false };
    else if (!job.isResumable) {
      const reason = 'the server cannot resume (no Range support or no length)';
      restart = { code: 'ERR_RANGE_UNSUPPORTED', reason, isSingleConnection: true };
    }
  }
  const wasSingle = job.acceptsRanges === false && job.isResumable === false && isRestart;
  const acceptsRanges = info.acceptsRanges && !info.isCompressed && !wasSingle;
  const isResumable = acceptsRanges && info.sizeBytes !== null;
  const whyParts: string[] = [];
  // Keep the reason of a restart: the probe's own reasons below would otherwise replace it.
  if (isRestart && run.restartReason) whyParts.push(`restarted from zero: ${run.restartReason}`);
  if (!info.acceptsRanges) whyParts.push('single connection: the server does not support Range requests');
  else if (info.isCompressed) whyParts.push('single connection: the server compresses the body');
  else if (wasSingle) whyParts.push('single connection: ranged answers were unusable earlier');
  // A missing length matters on its own (no preallocation, no resume), with or without Range.
  if (info.sizeBytes === null) whyParts.push('no length: size learned at the end, cannot resume');
  whyParts.push(...info.notes);
  let suggestedName: string | null = null;
  if (!job.hasCreatedFile && !job.settings.isFileNameFixed) {
    const picked = fileNameFromResponse({
      contentDisposition: info.contentDisposition,
      url: info.finalUrl,
      contentType: info.contentType,
    });
    const fromUrl = fileNameFromResponse({ url: job.url });
    if (picked.source === 'content-disposition' || picked.name !== fromUrl.name) {
      suggestedName = sanitizeFileName(picked.name);
    }
  }
  return { restart, acceptsRanges, isResumable, whyParts, suggestedName };
}
