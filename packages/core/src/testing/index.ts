/**
 * `@ddm/core/testing`: local HTTP servers and deterministic bodies for engine, CLI, TUI and
 * benchmark tests. Everything listens on 127.0.0.1 with an ephemeral port and supports
 * `await using`.
 */
export {
  bodySize,
  bodySlice,
  etagFor,
  type GeneratedBody,
  generatedBody,
  makeBody,
  sha256Hex,
  type TestBody,
} from './body.ts';
export { type ForwardProxy, type ProxyRequestRecord, startForwardProxy } from './forward-proxy.ts';
export { decideRange, ifRangeMatches, type RangeDecision, type Validators } from './range.ts';
export {
  garbage,
  headersThenClose,
  type LyingLengthOptions,
  lyingLength,
  type RawConnection,
  type RawFraming,
  type RawHandler,
  type RawRequestRecord,
  type RawResponseOptions,
  type RawServer,
  rawResponse,
  startRawServer,
} from './raw-server.ts';
export { jobSnapshot } from './snapshot.ts';
export {
  type FileSpec,
  type Knobs,
  type RedirectRule,
  type RequestRecord,
  type ResetOptions,
  type ResponseOutcome,
  type SignedStats,
  signedFile,
  startTestServer,
  type TestServer,
  type TestServerOptions,
  type UrlOptions,
} from './test-server.ts';
export { type WaitForOptions, waitFor } from './wait.ts';
