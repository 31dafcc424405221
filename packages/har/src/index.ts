/**
 * `@ddm/har`: the browser's request context. Reads a HAR export or a "Copy as cURL" command,
 * picks the file download in it and returns what is needed to fetch it again: final and original
 * URL, replayable headers and domain-scoped cookies. Pure code: no file system, no network.
 */
export { type ContentDisposition, parseContentDisposition } from './content-disposition.ts';
export {
  type CookieInput,
  type CookieSource,
  type CookieSpec,
  collectCookies,
  cookieHeaderFor,
  domainMatches,
  parseCookieHeader,
  pathMatches,
  scopeCookie,
} from './cookies.ts';
export {
  type CurlRequest,
  detectDialect,
  type ParseCurlOptions,
  parseCurlCommand,
  type ShellDialect,
  splitShellWords,
} from './curl.ts';
export { CurlParseError, HarError, type HarErrorReason } from './errors.ts';
export {
  canonicalHeaderName,
  type HeaderPair,
  headerValue,
  isReplayableHeader,
  replayableHeaders,
} from './headers.ts';
export {
  type Har,
  type HarCookie,
  type HarEntry,
  type HarRequest,
  type HarResponse,
  parseHar,
} from './parse-har.ts';
export {
  contentRangeTotal,
  DOWNLOAD_SCORE_THRESHOLD,
  type HarEntrySummary,
  listEntries,
  type PickedDownload,
  type PickOptions,
  pickDownload,
  UNUSABLE_SCORE,
} from './pick.ts';
