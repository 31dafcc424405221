/** One header line as HAR files and curl commands carry it: name case is not reliable. */
export interface HeaderPair {
  readonly name: string;
  readonly value: string;
}

/** Spellings that the simple "capitalise every dash-separated word" rule gets wrong. */
const CANONICAL_EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  ['dnt', 'DNT'],
  ['etag', 'ETag'],
  ['te', 'TE'],
  ['www-authenticate', 'WWW-Authenticate'],
  ['content-md5', 'Content-MD5'],
  ['x-xss-protection', 'X-XSS-Protection'],
  ['x-csrf-token', 'X-CSRF-Token'],
  ['x-xsrf-token', 'X-XSRF-Token'],
]);

/**
 * The canonical spelling of a header name: `user-agent` -> `User-Agent`, `x-api-key` ->
 * `X-Api-Key`, `dnt` -> `DNT`. HTTP/2 exports (Chrome) lower-case every name; HTTP/1.1 exports
 * keep whatever the browser sent, so names are compared lower-cased and printed canonically.
 */
export function canonicalHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  const exception = CANONICAL_EXCEPTIONS.get(lower);
  if (exception !== undefined) return exception;
  return lower
    .split('-')
    .map((word) => (word === '' ? word : word[0]?.toUpperCase() + word.slice(1)))
    .join('-');
}

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(headers: readonly HeaderPair[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const header of headers) {
    if (header.name.trim().toLowerCase() === lower) return header.value;
  }
  return null;
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(headers: readonly HeaderPair[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name.trim().toLowerCase() === lower).map((h) => h.value);
}

/**
 * Request headers never replayed. Hop-by-hop headers (RFC 9110 section 7.6.1) belong to the
 * browser's connection; framing, range and conditional headers belong to the engine, which
 * sends its own Range / If-Range (RFC 9110 section 13.1.5) on every segment and asks for
 * `Accept-Encoding: identity` so segments are written at the right offsets; Cookie is carried
 * as `CookieSpec`s so it can be scoped to its domain.
 *
 * Cache-Control and Pragma are dropped too: they are the browser's cache policy, not the
 * server's requirement (DevTools "Disable cache" adds `no-cache` to every request), and
 * replaying `no-cache` on dozens of segment requests forces a CDN to revalidate each one.
 *
 * Content-Type and Content-Encoding describe a request body, and ddm replays only GET without
 * one. `X-Client-Data` is Chrome's field-trial header, sent to Google hosts only.
 */
const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'accept-encoding',
  'cookie',
  'priority',
  'purpose',
  'cache-control',
  'pragma',
  'x-client-data',
]);

/** Header field-name token (RFC 9110 section 5.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when a request header is worth replaying (see `replayableHeaders`). */
export function isReplayableHeader(name: string): boolean {
  const lower = name.trim().toLowerCase();
  if (!TOKEN.test(lower)) return false; // also drops HTTP/2 pseudo-headers (":authority")
  if (DROPPED_HEADERS.has(lower)) return false;
  if (lower.startsWith('proxy-')) return false;
  if (lower.startsWith('sec-')) return false;
  return true;
}

/**
 * The request headers a download can replay, keyed by canonical name.
 *
 * Keeps what a server may gate a file on (User-Agent, Referer, Authorization, Accept,
 * Accept-Language, Origin, `X-*` and other application headers). Drops hop-by-hop and
 * browser-internal headers (Host, Connection, Keep-Alive, `Proxy-*`, TE, Trailer,
 * Transfer-Encoding, Upgrade, HTTP/2 pseudo-headers, `Sec-*`, Priority), headers the engine
 * owns (Content-Length, Range, If-Range, If-None-Match, If-Modified-Since, Accept-Encoding,
 * Cache-Control, Pragma) and Cookie, which travels as `CookieSpec`s. Values containing CR, LF
 * or NUL are dropped rather than replayed. Repeated names are joined with ", " (RFC 9110
 * section 5.3). Never throws.
 */
export function replayableHeaders(headers: readonly HeaderPair[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const header of headers) {
    if (typeof header.name !== 'string' || typeof header.value !== 'string') continue;
    if (!isReplayableHeader(header.name)) continue;
    if (/[\r\n\0]/.test(header.value)) continue;
    const name = canonicalHeaderName(header.name);
    const value = header.value.trim();
    const existing = result[name];
    result[name] = existing === undefined ? value : `${existing}, ${value}`;
  }
  return result;
}
