import type { CookieInput } from './cookies.ts';
import { HarError } from './errors.ts';
import { type HeaderPair, headerValue } from './headers.ts';

/**
 * A HAR as ddm uses it: HAR 1.2 normalised so that every field a picker needs is present and
 * typed. `@types/har-format` describes the spec, where most of these fields are required; real
 * exports (Safari, Firefox, Playwright with `content: 'omit'`) leave some out, so the raw JSON is
 * read defensively and sizes of -1 become null.
 */
export interface Har {
  /** `log.version`, "1.1" when absent (HAR 1.2 spec default). */
  readonly version: string;
  /** "Firefox 128.0", "WebKit Web Inspector", "Playwright 1.49.0"; null when absent. */
  readonly creator: string | null;
  /** Usable entries in file order; `index` keeps each one's position in `log.entries`. */
  readonly entries: readonly HarEntry[];
}

/** One request of the HAR with its response, normalised. */
export interface HarEntry {
  /** Position in the file's `log.entries` (0-based); what `--pick N` refers to. */
  readonly index: number;
  readonly startedDateTime: string | null;
  readonly request: HarRequest;
  readonly response: HarResponse;
  /**
   * Why the browser did not complete the request: Chrome's `_failureText` / `response._error`
   * ("net::ERR_ABORTED" when it handed a download to its download manager), null otherwise.
   */
  readonly failureText: string | null;
  /** Chrome's `_resourceType`, lower-case ("document", "media", "xhr"); null if absent. */
  readonly resourceType: string | null;
}

/** A `request.cookies` / `response.cookies` item; Firefox gives only name and value. */
export interface HarCookie extends CookieInput {
  readonly domain: string | null;
  readonly path: string | null;
  readonly secure: boolean | null;
}

/** `entry.request`, normalised. */
export interface HarRequest {
  /** Upper-case; "GET" when absent. */
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string | null;
  /** As exported: name case is whatever the browser wrote (HTTP/2: lower-case, pseudo-headers). */
  readonly headers: readonly HeaderPair[];
  readonly cookies: readonly HarCookie[];
  /** True when the request carried a body (`postData`). */
  readonly hasBody: boolean;
}

/** `entry.response`, normalised; an entry without one reads as status 0 with no headers. */
export interface HarResponse {
  /** 0 when the browser got no response (blocked, aborted before headers). */
  readonly status: number;
  readonly statusText: string;
  readonly httpVersion: string | null;
  readonly headers: readonly HeaderPair[];
  readonly cookies: readonly HarCookie[];
  /** Lower-case essence (`application/zip`) of Content-Type or `content.mimeType`, else null. */
  readonly mimeType: string | null;
  /** `content.size`: decoded body bytes; null when absent or negative. */
  readonly contentSizeBytes: number | null;
  /** `bodySize`: body bytes on the wire; null when absent or negative. */
  readonly bodySizeBytes: number | null;
  /** Chrome's / Playwright's `_transferSize`; null when absent or negative. */
  readonly transferSizeBytes: number | null;
  /** `redirectURL`, or the Location header when that is empty; as written (may be relative). */
  readonly redirectURL: string | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function size(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function headersOf(value: unknown): HeaderPair[] {
  if (!Array.isArray(value)) return [];
  const headers: HeaderPair[] = [];
  for (const item of value) {
    if (!isObject(item)) continue;
    const name = str(item.name);
    if (name === null || name.trim() === '') continue;
    headers.push({ name, value: typeof item.value === 'string' ? item.value : String(item.value ?? '') });
  }
  return headers;
}

function cookiesOf(value: unknown): HarCookie[] {
  if (!Array.isArray(value)) return [];
  const cookies: HarCookie[] = [];
  for (const item of value) {
    if (!isObject(item)) continue;
    const name = str(item.name);
    if (name === null || name === '') continue;
    cookies.push({
      name,
      value: str(item.value) ?? '',
      domain: str(item.domain),
      path: str(item.path),
      secure: typeof item.secure === 'boolean' ? item.secure : null,
    });
  }
  return cookies;
}

/** `Text/HTML; charset=utf-8` -> `text/html`; Chrome's placeholder `x-unknown` -> null. */
export function mimeEssence(value: string | null): string | null {
  if (value === null) return null;
  const essence = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === '' || essence === 'x-unknown' ? null : essence;
}

function entryOf(raw: unknown, index: number): HarEntry | null {
  if (!isObject(raw) || !isObject(raw.request)) return null;
  const rawRequest = raw.request;
  const url = str(rawRequest.url);
  if (url === null || url === '') return null;
  const rawResponse = isObject(raw.response) ? raw.response : {};
  const content = isObject(rawResponse.content) ? rawResponse.content : {};
  const requestHeaders = headersOf(rawRequest.headers);
  const responseHeaders = headersOf(rawResponse.headers);
  const status = typeof rawResponse.status === 'number' ? rawResponse.status : 0;
  const failure = str(raw._failureText) ?? str(rawResponse._failureText) ?? str(rawResponse._error) ?? '';
  const redirect = str(rawResponse.redirectURL) || headerValue(responseHeaders, 'location') || '';
  const resourceType = str(raw._resourceType) ?? '';
  return {
    index,
    startedDateTime: str(raw.startedDateTime),
    request: {
      method: (str(rawRequest.method) || 'GET').toUpperCase(),
      url,
      httpVersion: str(rawRequest.httpVersion),
      headers: requestHeaders,
      cookies: cookiesOf(rawRequest.cookies),
      hasBody: isObject(rawRequest.postData),
    },
    response: {
      status,
      statusText: str(rawResponse.statusText) ?? '',
      httpVersion: str(rawResponse.httpVersion),
      headers: responseHeaders,
      cookies: cookiesOf(rawResponse.cookies),
      mimeType: mimeEssence(headerValue(responseHeaders, 'content-type')) ?? mimeEssence(str(content.mimeType)),
      contentSizeBytes: size(content.size),
      bodySizeBytes: size(rawResponse.bodySize),
      transferSizeBytes: size(rawResponse._transferSize),
      redirectURL: redirect === '' ? null : redirect,
    },
    failureText: failure === '' ? null : failure,
    resourceType: resourceType === '' ? null : resourceType.toLowerCase(),
  };
}

/** The first line of an error message: JSON parsers can be chatty. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Parses a HAR 1.2 file as exported by Chrome, Firefox, Safari or Playwright (a UTF-8 BOM is
 * allowed). Missing optional fields, any header-name case, sizes of -1 and failed entries
 * (`_failureText`) are all accepted; an entry without a request URL is skipped but keeps the
 * other entries' indexes.
 *
 * @throws {HarError} `ERR_HAR` with reason `not-json` (not JSON), `not-har` (no `log.entries`
 *   array) or `no-entries` (no usable request).
 */
export function parseHar(text: string): Har {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new HarError(`HAR file is not valid JSON: ${firstLine(error)}`, 'not-json', error);
  }
  if (!isObject(json) || !isObject(json.log) || !Array.isArray(json.log.entries)) {
    throw new HarError(
      'Not a HAR file: the JSON has no log.entries array (export it from the browser\'s Network panel with "Save all as HAR")',
      'not-har',
    );
  }
  const log = json.log;
  const rawEntries = json.log.entries as unknown[];
  const entries: HarEntry[] = [];
  rawEntries.forEach((raw, index) => {
    const entry = entryOf(raw, index);
    if (entry !== null) entries.push(entry);
  });
  if (entries.length === 0) {
    throw new HarError(
      rawEntries.length === 0
        ? 'HAR file has no entries: record the download with the Network panel open, then export'
        : `HAR file has no usable entries: none of its ${rawEntries.length} entries has a request URL`,
      'no-entries',
    );
  }
  const creator = isObject(log.creator)
    ? [str(log.creator.name), str(log.creator.version)].filter((s) => s !== null && s !== '').join(' ')
    : '';
  return { version: str(log.version) || '1.1', creator: creator === '' ? null : creator, entries };
}
