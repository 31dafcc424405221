/**
 * The browser's request as a ddm job. Turns a download picked from a HAR export, or a "Copy as
 * cURL" command, into what `Engine.addJob` stores (URL, replayable headers, settings) and what
 * lives in this process only; and checks, for `ddm refresh`, that a new URL or request serves the
 * same file so a job keeps its finished segments.
 *
 * What is stored where:
 * - Headers (User-Agent, Referer, Accept, `X-*`, and Authorization too) go to the job DB, which
 *   is mode 0600 in a 0700 folder: a job must be able to resume in a later process (`ddm add`,
 *   then `ddm run`), and a header is scoped to one request. http.ts sends Authorization only to
 *   the host of the job's URL, never to the CDN that final_url may point to.
 * - Cookies are sent only when the user allows it (`allowCookies`), each only to its own domain
 *   and path. They stay in this process unless the user opts in to storing them
 *   (`rememberCookies`): a browser's cookies are usually a whole login session, broader than the
 *   one file. A job with cookies kept in memory is marked `needsCookies`, so a later process
 *   refuses to run it and asks for the HAR again instead of failing with an HTTP 403.
 * - `withholdHeaders` keeps named headers out of the DB the same way (`withheldHeaders`).
 */
import type { JobRow, JobSettings, Repos } from '@ddm/db';
import {
  type CookieSpec,
  CurlParseError,
  type CurlRequest,
  cookieHeaderFor,
  type Har,
  type HarEntrySummary,
  HarError,
  listEntries,
  type PickedDownload,
  type PickOptions,
  parseCurlCommand,
  parseHar,
  pickDownload,
} from '@ddm/har';
import type { JobSecrets } from './engine.ts';
import { DdmError } from './errors.ts';
import { parseHttpUrl, type RequestContext } from './http.ts';
import { JobsService } from './jobs-service.ts';
import { type ProbeResult, probe, resourceChange } from './probe.ts';
import { isSecretHeaderName, redactText, redactUrl } from './redact.ts';
import { buildRequestContext, type RequestEnvironment } from './request-context.ts';

export type { CurlRequest, Har, HarEntrySummary, PickedDownload } from '@ddm/har';

/** How an imported request treats its credentials. */
export interface RequestImportOptions {
  /**
   * Send the captured cookies, each only to its domain and path.
   * @default false
   */
  readonly allowCookies?: boolean;
  /**
   * Store the allowed cookies in the job DB so a later process can resume; needs `allowCookies`.
   * @default false
   */
  readonly rememberCookies?: boolean;
  /**
   * Header names (case-insensitive) whose values stay in this process only; the job lists them
   * in `withheldHeaders` and a later process asks for them again.
   * @default []
   */
  readonly withholdHeaders?: readonly string[];
}

/** A request ready for `Engine.addJob(url, {settings, secrets})` or for `ddm refresh`. */
export interface ImportedRequest {
  /**
   * What the job fetches: the first request of the browser's redirect chain when it was a GET,
   * so that on 401/403/410 the engine re-issues it for a fresh signed URL.
   */
  readonly url: string;
  /** Where the browser ended up (may be a signed URL that has expired since). */
  readonly finalUrl: string;
  readonly source: 'har' | 'curl' | 'url';
  /** Request headers the job sends (stored and withheld ones), canonical names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request part of the job's settings; every key is present so it replaces an old request's. */
  readonly settings: JobSettings;
  /** Credentials that live in this process only; null when the DB holds all the request needs. */
  readonly secrets: JobSecrets | null;
  /** Cookie names (never values): sent ones, and ones dropped because cookies were not allowed. */
  readonly cookies: { readonly sent: readonly string[]; readonly dropped: readonly string[] };
  /** Human-readable notes on what was dropped or changed; contain no secret. */
  readonly notes: readonly string[];
}

/** Where a probe outside the engine gets proxies, netrc credentials and timeouts. */
export type ProbeEnvironment = RequestEnvironment;

function usage(message: string): DdmError {
  return new DdmError(message, { code: 'ERR_USAGE' });
}

/** `@ddm/har`'s errors as DdmErrors (ERR_HAR, ERR_USAGE), with secrets in the message redacted. */
function fromHarPackage(error: unknown): unknown {
  if (error instanceof HarError || error instanceof CurlParseError) {
    return new DdmError(redactText(error.message), { code: error.code, cause: error });
  }
  return error;
}

/**
 * Parses the text of a HAR export.
 * @throws DdmError ERR_HAR when the text is not JSON, not a HAR, or has no entries.
 */
export function readHar(text: string): Har {
  try {
    return parseHar(text);
  } catch (error) {
    throw fromHarPackage(error);
  }
}

/** Every entry of a HAR as a download candidate, in file order (see `listEntries`). */
export function harEntries(har: Har): HarEntrySummary[] {
  return listEntries(har);
}

/**
 * The download in a HAR: the best-scoring entry, or the one `pick` / `match` names.
 * @throws DdmError ERR_HAR when no entry qualifies or the chosen one cannot be replayed.
 */
export function pickHarDownload(har: Har, options: PickOptions = {}): PickedDownload {
  try {
    return pickDownload(har, options);
  } catch (error) {
    throw fromHarPackage(error);
  }
}

/**
 * Parses a "Copy as cURL" command (Chrome or Firefox, bash or cmd quoting).
 * @throws DdmError ERR_USAGE naming the flag for a body (`--data*`, `-F`), a method other than
 *   GET, an unknown option, or text that is not one curl command with an http(s) URL.
 */
export function readCurlCommand(text: string): CurlRequest {
  try {
    return parseCurlCommand(text);
  } catch (error) {
    throw fromHarPackage(error);
  }
}

/**
 * The job request of a download picked from a HAR. When the redirect chain starts with a GET, the
 * job fetches that first URL with its headers, so an expired signed link is re-resolved by
 * re-issuing it; a chain that starts with a POST (a login form) can only replay the final URL.
 * @throws DdmError ERR_USAGE for `rememberCookies` without `allowCookies`.
 */
export function requestFromHar(picked: PickedDownload, options: RequestImportOptions = {}): ImportedRequest {
  const isReissuable = picked.originalMethod === 'GET';
  const hasChain = picked.originalUrl !== picked.url;
  const notes: string[] = [];
  if (hasChain && isReissuable) {
    notes.push(
      `fetches ${redactUrl(picked.originalUrl)} first, as the browser did: an expired link is renewed from there`,
    );
  } else if (hasChain) {
    notes.push(
      `the redirect chain starts with a ${picked.originalMethod} request that ddm cannot replay: the recorded URL is used, and once it expires the job needs ddm refresh`,
    );
  }
  return buildRequest(
    {
      source: 'har',
      url: isReissuable ? picked.originalUrl : picked.url,
      finalUrl: picked.url,
      headers: isReissuable ? picked.originalHeaders : picked.headers,
      cookies: picked.cookies,
      notes,
    },
    options,
  );
}

/**
 * The job request of a "Copy as cURL" command.
 * @throws DdmError ERR_USAGE for `rememberCookies` without `allowCookies`.
 */
export function requestFromCurl(curl: CurlRequest, options: RequestImportOptions = {}): ImportedRequest {
  const notes = [...curl.notes];
  if (curl.insecure) notes.push('-k ignored: ddm always verifies TLS certificates');
  return buildRequest(
    { source: 'curl', url: curl.url, finalUrl: curl.url, headers: curl.headers, cookies: curl.cookies, notes },
    options,
  );
}

/**
 * A job's request pointed at a new URL (`ddm refresh --url`): same headers and stored cookies.
 * Credential headers (Authorization, API keys) were given for the old host; when the new URL is
 * on another host they are dropped, with a note.
 * @throws DdmError ERR_INVALID_URL.
 */
export function requestForNewUrl(job: JobRow, url: string): ImportedRequest {
  const target = parseHttpUrl(url);
  const notes: string[] = [];
  const headers: Record<string, string> = { ...job.settings.headers };
  if (!isSameHost(target.href, job.url)) {
    const dropped = Object.keys(headers).filter(isSecretHeaderName);
    for (const name of dropped) delete headers[name];
    if (dropped.length > 0) {
      notes.push(`${dropped.join(', ')} not sent to ${target.host}: given for ${hostOf(job.url)}`);
    }
  }
  return {
    url: target.href,
    finalUrl: target.href,
    source: 'url',
    headers,
    settings: {
      headers,
      withheldHeaders: job.settings.withheldHeaders,
      originalUrl: target.href,
      source: job.settings.source ?? 'url',
      cookies: job.settings.cookies,
      needsCookies: job.settings.needsCookies,
    },
    secrets: null,
    cookies: { sent: unique((job.settings.cookies ?? []).map((c) => c.name)), dropped: [] },
    notes,
  };
}

interface RequestInput {
  readonly source: 'har' | 'curl';
  readonly url: string;
  readonly finalUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly CookieSpec[];
  readonly notes: readonly string[];
}

function buildRequest(input: RequestInput, options: RequestImportOptions): ImportedRequest {
  const isAllowed = options.allowCookies === true;
  const isRemembered = options.rememberCookies === true;
  if (isRemembered && !isAllowed) throw usage('--remember-cookies needs --allow-cookies');
  const withhold = new Set((options.withholdHeaders ?? []).map((name) => name.toLowerCase()));
  const stored: Record<string, string> = {};
  const withheld: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (withhold.has(name.toLowerCase())) withheld[name] = value;
    else stored[name] = value;
  }
  const withheldNames = Object.keys(withheld);
  const names = unique(input.cookies.map((c) => c.name));
  const isSending = isAllowed && input.cookies.length > 0;
  const isInMemory = isSending && !isRemembered;
  // Notes quote the user's input ("-H 'x' ignored"): redacted in case a secret is in there.
  const notes = input.notes.map(redactText);
  if (input.cookies.length > 0 && !isAllowed) {
    notes.push(`cookies not sent: ${names.join(', ')} (--allow-cookies sends each only to its own domain and path)`);
  } else if (isInMemory) {
    notes.push(
      `cookies sent: ${names.join(', ')}; kept in this process only (--remember-cookies stores them in the job database)`,
    );
  } else if (isSending) {
    notes.push(`cookies sent and stored in the job database: ${names.join(', ')}`);
  }
  const cookies = [...input.cookies];
  let secrets: JobSecrets | null = null;
  if (isInMemory || withheldNames.length > 0) {
    secrets = {};
    if (withheldNames.length > 0) secrets.headers = withheld;
    if (isInMemory) secrets.cookieHeaderFor = (url) => cookieHeaderFor(cookies, url);
  }
  return {
    url: input.url,
    finalUrl: input.finalUrl,
    source: input.source,
    headers: { ...input.headers },
    settings: {
      headers: stored,
      withheldHeaders: withheldNames.length > 0 ? withheldNames : undefined,
      originalUrl: input.url,
      source: input.source,
      cookies: isSending && isRemembered ? cookies : undefined,
      needsCookies: isSending ? true : undefined,
    },
    secrets,
    cookies: { sent: isSending ? names : [], dropped: isSending ? [] : names },
    notes,
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return '';
  }
}

function isSameHost(a: string, b: string): boolean {
  const host = hostOf(a);
  return host !== '' && host === hostOf(b);
}

/**
 * The request context for `request`, built as the engine builds a job's (headers, cookies
 * scoped to their domain, netrc, proxy, User-Agent, timeouts), for a probe outside any job run.
 */
export function requestContextFor(request: ImportedRequest, environment: ProbeEnvironment): RequestContext {
  return buildRequestContext(environment, {
    headers: request.headers,
    cookies: request.settings.cookies,
    cookieHeaderFor: request.secrets?.cookieHeaderFor,
  });
}

/** Bytes of a job's segments already on disk (as of the last checkpoint). */
export function keptBytes(repos: Repos, jobId: number): number {
  return repos.segments.list(jobId).reduce((sum, s) => sum + s.writtenBytes, 0);
}

/**
 * Whether `job` may get a new request now. An engine reads a job's URL and headers when a run
 * starts and keeps them for the run, so a job that an engine may be running must be paused
 * first; without a live engine any unfinished job may be refreshed (an interrupted one too).
 * @throws DdmError ERR_USAGE for a completed job or one a live engine may be running.
 */
export function assertRefreshable(job: JobRow, engine: { pid: number } | null): void {
  if (job.state === 'completed') throw usage(`Job ${job.id} is complete: nothing to refresh`);
  if (engine !== null && !['paused', 'failed', 'canceled'].includes(job.state)) {
    throw usage(
      `Job ${job.id} is ${job.state} in the running engine (pid ${engine.pid}): pause it first (ddm pause ${job.id}), then refresh it`,
    );
  }
}

/**
 * Checks that a probe of a job's new request found the same file: same size, ETag or
 * Last-Modified (RFC 9110 section 8.8) as the job recorded. Returns notes for the user.
 * @throws DdmError ERR_RESOURCE_CHANGED naming what differs; also when the job has bytes on disk
 *   and the new URL gives no size to compare.
 */
export function assertSameResource(job: JobRow, info: ProbeResult, bytesOnDisk: number): string[] {
  const where = redactUrl(info.finalUrl);
  const changed = resourceChange(job, info);
  if (changed !== null) {
    throw new DdmError(`Not the same file (${changed}): ${where}`, { code: 'ERR_RESOURCE_CHANGED' });
  }
  if (bytesOnDisk > 0 && job.sizeBytes !== null && info.sizeBytes === null) {
    throw new DdmError(
      `Cannot tell it is the same file: the new URL sends no size (the job has ${job.sizeBytes}): ${where}`,
      {
        code: 'ERR_RESOURCE_CHANGED',
      },
    );
  }
  const notes: string[] = [];
  const matched = [
    job.sizeBytes !== null && info.sizeBytes !== null ? `size ${info.sizeBytes}` : null,
    job.etag && info.etag ? `ETag ${info.etag}` : null,
    !job.etag && job.lastModified && info.lastModified ? `Last-Modified ${info.lastModified}` : null,
  ].filter((m): m is string => m !== null);
  notes.push(
    matched.length > 0
      ? `same file: ${matched.join(', ')}`
      : 'nothing recorded to compare with (the job never reached the server): taking the new URL as it is',
  );
  if (bytesOnDisk > 0 && (!info.acceptsRanges || info.isCompressed)) {
    notes.push('the new URL cannot resume ranges: the download will start again from byte 0');
  }
  return notes;
}

/**
 * Probes a job's new request and checks it serves the same file (`assertSameResource`).
 * @throws DdmError ERR_RESOURCE_CHANGED; ERR_HTTP_STATUS, ERR_NETWORK ... from the probe, with
 *   secrets in the message redacted.
 */
export async function verifyReplacement(
  repos: Repos,
  job: JobRow,
  request: ImportedRequest,
  environment: ProbeEnvironment,
  signal: AbortSignal,
): Promise<{ info: ProbeResult; keptBytes: number; notes: string[] }> {
  let info: ProbeResult;
  try {
    info = await probe(requestContextFor(request, environment), request.url, signal);
  } catch (error) {
    if (error instanceof DdmError) {
      throw new DdmError(redactText(error.message), { code: error.code, retryable: error.retryable, cause: error });
    }
    throw error;
  }
  const kept = keptBytes(repos, job.id);
  return { info, keptBytes: kept, notes: assertSameResource(job, info, kept) };
}

/**
 * Gives a job its new request: url, final_url and the request part of its settings (the job's
 * own settings, such as a fixed file name, stay). Segments, size and validators are untouched, so
 * the next run resumes from the finished bytes. A failed job's error is cleared.
 */
export function applyRefresh(repos: Repos, job: JobRow, request: ImportedRequest, info: ProbeResult): void {
  new JobsService(repos).update(job.id, {
    url: request.url,
    finalUrl: info.finalUrl,
    settings: { ...job.settings, ...request.settings },
    errorCode: null,
    errorMessage: null,
  });
}

/** The cookies an imported request would send to `url`, as a Cookie header (for tests and listings). */
export function cookieHeaderOf(request: ImportedRequest, url: string): string | null {
  return request.secrets?.cookieHeaderFor?.(url) ?? cookieHeaderFor(request.settings.cookies ?? [], url);
}
