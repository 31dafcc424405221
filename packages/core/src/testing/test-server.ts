/**
 * A catalogue of misbehaving HTTP/1.1 file servers for engine, CLI, TUI and benchmark tests.
 *
 * Built on `node:http` rather than `Bun.serve`: Bun.serve drops a Content-Length set on a
 * streamed Response (it always answers chunked), and it gives no handle on the socket, so a
 * body cut after N bytes or a connection id would be impossible. `node:http` on Bun streams at
 * about 2 GB/s on loopback with `write()` + `'drain'` backpressure.
 *
 * Every server listens on 127.0.0.1 with an ephemeral port, and is also reachable as
 * `localhost` (a different host name, for cross-host redirects). All times are
 * `performance.now()` milliseconds, the clock `server.now()` returns.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { bodySize, bodySlice, etagFor, type TestBody } from './body.ts';
import { decideRange, ifRangeMatches } from './range.ts';

/**
 * Ways a file can misbehave. All optional and combinable where that makes sense. "GET number"
 * counts every GET that reaches the file (1-based), including ones answered by `failFirst`,
 * but not ones refused by `requireHeaders`/`requireCookie` or by an expired signature;
 * requests to a signed file's original URL are not GETs of the file.
 */
export interface Knobs {
  /** Ignore Range: always 200 with the whole body, no Accept-Ranges. */
  readonly noRanges?: boolean;
  /** No Content-Length anywhere: GET answers chunked, ignores Range, no Accept-Ranges. */
  readonly noLength?: boolean;
  /** HEAD answers this status (e.g. 403, 405, 501) with no body and no representation headers. */
  readonly headStatus?: number;
  /** HEAD omits Content-Length (GET still sends it). */
  readonly headNoLength?: boolean;
  /** From GET number n+1 on, a Range request gets 200 with the whole body. */
  readonly range200AfterRequests?: number;
  /**
   * A 206 whose Content-Range (and body) is shifted from what was asked: the range starts
   * `shiftBytes` later (or earlier when that would pass the end), and the body honestly
   * matches the wrong Content-Range. `true` applies to every 206.
   * `shiftBytes` @default max(1, half the asked length)
   */
  readonly wrongContentRange?: true | { readonly afterRequests?: number; readonly shiftBytes?: number };
  /**
   * The resource changes: from GET number `requests + 1` on (and for HEAD once `requests`
   * GETs were seen) the server has a new body with `etag` and a new Last-Modified
   * (`lastModified`, @default one day after the old one). A ranged GET whose If-Range names the
   * old validator gets 200 with the whole new body (RFC 9110 §13.1.5).
   */
  readonly changeAfterRequests?: {
    readonly requests: number;
    readonly body: TestBody;
    readonly etag: string;
    readonly lastModified?: string;
  };
  /**
   * The first `times` body-carrying responses (200 or 206) are cut after `bytes` body bytes of
   * that response by destroying the socket `graceMs` after the bytes were written: the client
   * sees a short body (Bun's fetch: ECONNRESET from the body reader). With `graceMs: 0` the
   * close races the data and Bun's fetch often delivers fewer bytes than were sent.
   * `graceMs` @default 50
   */
  readonly dropAfterBytes?: { readonly bytes: number; readonly times: number; readonly graceMs?: number };
  /** Cap every response of this file at this rate (token schedule, 1-64 KiB chunks). */
  readonly throttleBytesPerSec?: number;
  /** The nth GET that carries a Range header (1-based) is capped at `bytesPerSec` instead. */
  readonly slowRequest?: { readonly nth: number; readonly bytesPerSec: number };
  /** GETs 1..count answer `status` (with `Retry-After: retryAfter` when given). */
  readonly failFirst?: { readonly count: number; readonly status: number; readonly retryAfter?: string };
  /**
   * 206 responses carry a gzip of the slice with `Content-Encoding: gzip` (Content-Range still
   * names the uncompressed bytes). `true`: whatever Accept-Encoding says (a broken server);
   * `'if-accepted'`: only when Accept-Encoding lists gzip (a CDN that compresses ranges).
   */
  readonly compressRanges?: boolean | 'if-accepted';
  /** Headers (names case-insensitive) the request must carry, exactly or matching; else 403. */
  readonly requireHeaders?: Readonly<Record<string, string | RegExp>>;
  /** A cookie the request must carry; else 403. */
  readonly requireCookie?: { readonly name: string; readonly value: string };
  /** The first `times` body-carrying responses go silent after `bytes`, keeping the socket open. */
  readonly stallAfterBytes?: { readonly bytes: number; readonly times: number };
  /**
   * Signed-URL mode: the file's path is the "original" URL, which 302-redirects to a fresh
   * `<path>/signed?sig=…&exp=…`; a signed URL is refused with `expiredStatus` once
   * `expireAfterMs` passed since it was issued (a response already streaming goes on).
   */
  readonly expireAfterMs?: number;
  /** Status for an expired or unknown signature. @default 403 */
  readonly expiredStatus?: number;
}

/** One file the server offers. */
export interface FileSpec {
  /** Absolute path, e.g. `/file.bin`. */
  readonly path: string;
  readonly body: TestBody;
  /** @default 'application/octet-stream' */
  readonly contentType?: string;
  /** Sent verbatim when given. */
  readonly contentDisposition?: string;
  /** Strong ETag; `null` sends none. @default derived from the body (see `etagFor`) */
  readonly etag?: string | null;
  /** `null` sends none. @default 'Wed, 01 Jan 2025 00:00:00 GMT' */
  readonly lastModified?: string | null;
  readonly knobs?: Knobs;
}

/** A redirect rule: `from` path → `to` (a path, kept relative in Location, or an absolute URL). */
export interface RedirectRule {
  readonly to: string;
  /** @default 302 */
  readonly status?: number;
  /** With a path `to`, send an absolute Location on this host name (e.g. `'localhost'`). */
  readonly host?: string;
}

/** Options for {@link startTestServer}. */
export interface TestServerOptions {
  readonly files?: readonly FileSpec[];
  /** Keyed by request path (query ignored). Chains and loops are allowed. */
  readonly redirects?: Readonly<Record<string, RedirectRule>>;
  /** Keep the first 64 bytes of each response body in `RequestRecord.firstBytes`. @default false */
  readonly logBodies?: boolean;
  /**
   * The whole server dies once it has written this many body bytes (all files): responses under
   * way are cut and the port refuses connections from then on, as `stop()` does.
   */
  readonly dieAfterBytes?: number;
}

/** How a response ended. */
export type ResponseOutcome = 'pending' | 'complete' | 'aborted' | 'dropped' | 'stalled';

/** One request as the server saw and answered it. Mutated while the response is in flight. */
export interface RequestRecord {
  readonly method: string;
  /** Path without query. */
  readonly path: string;
  /** Request target as sent (path and query). */
  readonly url: string;
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  /** The Range header, or null. */
  readonly range: string | null;
  status: number;
  /** Body bytes handed to the socket (compressed bytes when gzipped). */
  bodyBytesSent: number;
  readonly startedAt: number;
  endedAt: number | null;
  /** Sequential id of the TCP connection (1-based, per server). */
  readonly connectionId: number;
  outcome: ResponseOutcome;
  /** First bytes of the body, when `logBodies` is on. */
  firstBytes?: Uint8Array;
}

/** Counts for a signed file. */
export interface SignedStats {
  /** Requests to the original URL (each issued a signature). */
  readonly originalRequests: number;
  /** Requests to a signed URL, accepted or not. */
  readonly signedRequests: number;
  /** Signed requests refused as expired or unknown. */
  readonly rejectedRequests: number;
}

/** Options for {@link TestServer.url}. */
export interface UrlOptions {
  /** Host name to use instead of 127.0.0.1, e.g. `'localhost'` for a cross-host URL. */
  readonly host?: string;
}

/** Options for {@link TestServer.reset}. */
export interface ResetOptions {
  /** Also reset the per-file request counters that knobs count against. @default false */
  readonly knobCounters?: boolean;
}

/** A running test server. Stop it with `stop()` or `await using`. */
export interface TestServer extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Absolute URL of `path` on this server. */
  url(path: string, options?: UrlOptions): string;
  /** Every request since start or the last `reset()`, in arrival order. */
  readonly requests: readonly RequestRecord[];
  /** Requests to `path` (with `method`, when given) since the last reset. */
  countRequests(path: string, method?: string): number;
  /** GET responses streaming a file body right now, over all files. */
  readonly openConnections: number;
  openConnectionsFor(path: string): number;
  /** Peak of `openConnections` since start or the last reset. */
  readonly maxOpenConnections: number;
  maxOpenConnectionsFor(path: string): number;
  /** TCP connections open now (idle keep-alive ones included). */
  readonly openSockets: number;
  /**
   * Body bytes written for `path` (all paths when omitted) with a write time in
   * `[sinceMs, untilMs)`, from the per-chunk timeline.
   */
  bytesServed(path?: string, sinceMs?: number, untilMs?: number): number;
  /** The clock of every timestamp here (`performance.now()`). */
  now(): number;
  signedStats(path: string): SignedStats;
  /** Add or replace a file (its knob counters start again). */
  setFile(spec: FileSpec): void;
  setRedirect(from: string, rule: RedirectRule): void;
  /** Clear requests, the timeline and peaks; in-flight responses keep being counted. */
  reset(options?: ResetOptions): void;
  /** Close the listener and destroy every connection (stalled ones too). */
  stop(): Promise<void>;
}

const DEFAULT_LAST_MODIFIED = 'Wed, 01 Jan 2025 00:00:00 GMT';
const FAST_CHUNK_BYTES = 256 * 1024;
const SIGNED_SUFFIX = '/signed';
const FIRST_BYTES = 64;
const DEFAULT_DROP_GRACE_MS = 50;
const NO_SCRATCH = new Uint32Array(0);

interface Version {
  readonly body: TestBody;
  readonly etag: string | null;
  readonly lastModified: string | null;
}

interface FileState {
  readonly spec: FileSpec;
  readonly knobs: Knobs;
  readonly original: Version;
  readonly changed: Version | null;
  gets: number;
  rangedGets: number;
  bodyResponses: number;
  signatures: Map<string, number>;
  issued: number;
  originalRequests: number;
  signedRequests: number;
  rejectedRequests: number;
}

interface Sample {
  readonly t: number;
  readonly path: string;
  bytes: number;
}

interface SendPlan {
  readonly status: number;
  readonly headers: Record<string, string>;
  /**
   * Produces body bytes `[from, to)` of what is sent, into `scratch` when the body is generated
   * (so a 1 GiB generated body streams through a few reused buffers).
   */
  readonly source: (from: number, to: number, scratch: Uint32Array<ArrayBuffer>) => Uint8Array;
  readonly lengthBytes: number;
  /** Whether `source` writes into its scratch buffer (generated bodies). */
  readonly usesScratch: boolean;
  readonly rateBytesPerSec: number | null;
  readonly dropAfterBytes: number | null;
  readonly dropGraceMs: number;
  readonly stallAfterBytes: number | null;
}

function makeFileState(spec: FileSpec): FileState {
  const knobs = spec.knobs ?? {};
  const lastModified = spec.lastModified === undefined ? DEFAULT_LAST_MODIFIED : spec.lastModified;
  const original: Version = {
    body: spec.body,
    etag: spec.etag === undefined ? etagFor(spec.body) : spec.etag,
    lastModified,
  };
  const change = knobs.changeAfterRequests;
  const changed: Version | null = change
    ? {
        body: change.body,
        etag: change.etag,
        lastModified:
          change.lastModified ?? new Date(Date.parse(lastModified ?? DEFAULT_LAST_MODIFIED) + 86_400_000).toUTCString(),
      }
    : null;
  return {
    spec,
    knobs,
    original,
    changed,
    gets: 0,
    rangedGets: 0,
    bodyResponses: 0,
    signatures: new Map(),
    issued: 0,
    originalRequests: 0,
    signedRequests: 0,
    rejectedRequests: 0,
  };
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function passesRequirements(knobs: Knobs, headers: Record<string, string>): boolean {
  for (const [name, expected] of Object.entries(knobs.requireHeaders ?? {})) {
    const actual = headers[name.toLowerCase()];
    if (actual === undefined) return false;
    if (typeof expected === 'string' ? actual !== expected : !expected.test(actual)) return false;
  }
  const cookie = knobs.requireCookie;
  return !cookie || readCookie(headers.cookie, cookie.name) === cookie.value;
}

function sliceOf(body: TestBody, from: number, to: number, scratch: Uint32Array<ArrayBuffer>): Uint8Array {
  return body instanceof Uint8Array ? body.subarray(from, to) : body.sliceInto(from, to, scratch);
}

function throttleChunkBytes(rateBytesPerSec: number): number {
  return Math.max(1024, Math.min(64 * 1024, Math.floor(rateBytesPerSec / 16)));
}

/**
 * Starts a file server on 127.0.0.1 (ephemeral port) with the given files and redirects.
 * Unknown paths answer 404; methods other than GET and HEAD answer 405.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const files = new Map<string, FileState>();
  for (const spec of options.files ?? []) files.set(spec.path, makeFileState(spec));
  const redirects = new Map<string, RedirectRule>(Object.entries(options.redirects ?? {}));
  const logBodies = options.logBodies ?? false;

  let requests: RequestRecord[] = [];
  let samples: Sample[] = [];
  const openByPath = new Map<string, number>();
  const peakByPath = new Map<string, number>();
  let openTotal = 0;
  let peakTotal = 0;
  const sockets = new Set<Socket>();
  const connectionIds = new WeakMap<object, number>();
  let nextConnectionId = 1;
  let isStopped = false;
  let port = 0;
  let totalBytesSent = 0;

  const now = () => performance.now();
  const urlFor = (path: string, urlOptions: UrlOptions = {}) =>
    `http://${urlOptions.host ?? '127.0.0.1'}:${port}${path.startsWith('/') ? path : `/${path}`}`;

  function recordBytes(record: RequestRecord, chunk: Uint8Array): void {
    if (logBodies && (record.firstBytes?.length ?? 0) < FIRST_BYTES) {
      const have = record.firstBytes ?? new Uint8Array(0);
      const next = new Uint8Array(Math.min(FIRST_BYTES, have.length + chunk.length));
      next.set(have);
      next.set(chunk.subarray(0, next.length - have.length), have.length);
      record.firstBytes = next;
    }
    record.bodyBytesSent += chunk.length;
    totalBytesSent += chunk.length;
    if (options.dieAfterBytes !== undefined && totalBytesSent >= options.dieAfterBytes) void stop();
    const t = now();
    const last = samples[samples.length - 1];
    // Coalesce writes within the same millisecond to keep the timeline small.
    if (last && last.path === record.path && t - last.t < 1) last.bytes += chunk.length;
    else samples.push({ t, path: record.path, bytes: chunk.length });
  }

  function openStream(path: string): () => void {
    openTotal++;
    const open = (openByPath.get(path) ?? 0) + 1;
    openByPath.set(path, open);
    peakTotal = Math.max(peakTotal, openTotal);
    peakByPath.set(path, Math.max(peakByPath.get(path) ?? 0, open));
    let isClosed = false;
    return () => {
      if (isClosed) return;
      isClosed = true;
      openTotal--;
      openByPath.set(path, (openByPath.get(path) ?? 1) - 1);
    };
  }

  function finishSimple(
    res: http.ServerResponse,
    record: RequestRecord,
    status: number,
    headers: Record<string, string>,
    text = '',
  ): void {
    record.status = status;
    const body = Buffer.from(text);
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(record.method === 'HEAD' ? undefined : body);
    record.bodyBytesSent = record.method === 'HEAD' ? 0 : body.length;
    record.endedAt = now();
    record.outcome = 'complete';
  }

  function representationHeaders(state: FileState, version: Version): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': state.spec.contentType ?? 'application/octet-stream',
    };
    if (state.spec.contentDisposition !== undefined) headers['content-disposition'] = state.spec.contentDisposition;
    if (version.etag !== null) headers.etag = version.etag;
    if (version.lastModified !== null) headers['last-modified'] = version.lastModified;
    return headers;
  }

  function planGet(state: FileState, record: RequestRecord, headers: Record<string, string>): SendPlan | null {
    const { knobs } = state;
    const getNumber = ++state.gets;
    const failFirst = knobs.failFirst;
    if (failFirst && getNumber <= failFirst.count) return null;

    const changeAfter = knobs.changeAfterRequests?.requests;
    const version =
      state.changed && changeAfter !== undefined && getNumber > changeAfter ? state.changed : state.original;
    const sizeBytes = bodySize(version.body);
    const isRangeCapable = !knobs.noRanges && !knobs.noLength;
    const out = representationHeaders(state, version);
    if (isRangeCapable) out['accept-ranges'] = 'bytes';

    const rangedNumber = record.range !== null ? ++state.rangedGets : 0;
    const slow = knobs.slowRequest;
    const rateBytesPerSec = slow && rangedNumber === slow.nth ? slow.bytesPerSec : (knobs.throttleBytesPerSec ?? null);

    let decision = isRangeCapable ? decideRange(record.range, sizeBytes) : ({ kind: 'ignore' } as const);
    // RFC 9110 §13.1.5: a failed If-Range means "send the whole current representation".
    const ifRange = headers['if-range'];
    if (decision.kind !== 'ignore' && ifRange !== undefined && !ifRangeMatches(ifRange, version)) {
      decision = { kind: 'ignore' };
    }
    if (
      decision.kind === 'range' &&
      knobs.range200AfterRequests !== undefined &&
      getNumber > knobs.range200AfterRequests
    ) {
      decision = { kind: 'ignore' };
    }
    if (decision.kind === 'unsatisfiable') {
      return {
        status: 416,
        headers: { ...out, 'content-range': `bytes */${sizeBytes}`, 'content-length': '0' },
        source: () => new Uint8Array(0),
        lengthBytes: 0,
        usesScratch: false,
        rateBytesPerSec: null,
        dropAfterBytes: null,
        dropGraceMs: 0,
        stallAfterBytes: null,
      };
    }

    const bodyNumber = ++state.bodyResponses;
    const drop = knobs.dropAfterBytes;
    const stall = knobs.stallAfterBytes;
    const common = {
      rateBytesPerSec,
      dropAfterBytes: drop && bodyNumber <= drop.times ? drop.bytes : null,
      dropGraceMs: drop?.graceMs ?? DEFAULT_DROP_GRACE_MS,
      stallAfterBytes: stall && bodyNumber <= stall.times ? stall.bytes : null,
    };

    if (decision.kind === 'ignore') {
      if (!knobs.noLength) out['content-length'] = String(sizeBytes);
      return {
        status: 200,
        headers: out,
        source: (from, to, scratch) => sliceOf(version.body, from, to, scratch),
        lengthBytes: sizeBytes,
        usesScratch: !(version.body instanceof Uint8Array),
        ...common,
      };
    }

    let { start, end } = decision;
    const wrong = knobs.wrongContentRange;
    if (wrong && (wrong === true || getNumber > (wrong.afterRequests ?? 0))) {
      const askedBytes = end - start + 1;
      const shift = (wrong === true ? undefined : wrong.shiftBytes) ?? Math.max(1, Math.floor(askedBytes / 2));
      start = start + shift <= sizeBytes - 1 ? start + shift : Math.max(0, start - shift);
      end = Math.min(sizeBytes - 1, start + askedBytes - 1);
    }
    out['content-range'] = `bytes ${start}-${end}/${sizeBytes}`;
    const offset = start;
    const sliceBytes = end - start + 1;

    const compress = knobs.compressRanges;
    const acceptsGzip = /\bgzip\b/i.test(headers['accept-encoding'] ?? '');
    if (compress === true || (compress === 'if-accepted' && acceptsGzip)) {
      const gz = gzipSync(bodySlice(version.body, offset, offset + sliceBytes));
      out['content-encoding'] = 'gzip';
      out['content-length'] = String(gz.length);
      return {
        status: 206,
        headers: out,
        source: (from, to) => gz.subarray(from, to),
        lengthBytes: gz.length,
        usesScratch: false,
        ...common,
      };
    }
    out['content-length'] = String(sliceBytes);
    return {
      status: 206,
      headers: out,
      source: (from, to, scratch) => sliceOf(version.body, offset + from, offset + to, scratch),
      lengthBytes: sliceBytes,
      usesScratch: !(version.body instanceof Uint8Array),
      ...common,
    };
  }

  async function send(res: http.ServerResponse, record: RequestRecord, plan: SendPlan): Promise<void> {
    record.status = plan.status;
    res.writeHead(plan.status, plan.headers);
    let isClosed = false;
    let wake: (() => void) | null = null;
    const wakeUp = () => {
      wake?.();
      wake = null;
    };
    const closed = new Promise<void>((resolve) =>
      res.once('close', () => {
        isClosed = true;
        wakeUp();
        resolve();
      }),
    );
    res.on('drain', wakeUp);
    const waitDrain = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      });

    const limit = Math.min(plan.lengthBytes, plan.dropAfterBytes ?? Infinity, plan.stallAfterBytes ?? Infinity);
    const rate = plan.rateBytesPerSec;
    const chunkBytes = rate === null ? FAST_CHUNK_BYTES : throttleChunkBytes(rate);
    const startedAt = now();
    const scratches: Uint32Array<ArrayBuffer>[] = [];
    let sent = 0;
    while (sent < limit && !isClosed && !isStopped) {
      const nextBytes = Math.min(limit - sent, chunkBytes);
      if (rate !== null) {
        // Token schedule: a chunk leaves once the tokens for all of its bytes have accrued, so
        // n bytes take n / rate seconds (no initial burst).
        const dueAt = startedAt + ((sent + nextBytes) / rate) * 1000;
        const waitMs = dueAt - now();
        if (waitMs > 1) await Bun.sleep(waitMs);
        if (isClosed || isStopped) break;
      }
      const scratch = plan.usesScratch
        ? (scratches.pop() ?? new Uint32Array(Math.ceil(chunkBytes / 4) + 2))
        : NO_SCRATCH;
      const chunk = plan.source(sent, sent + nextBytes, scratch);
      sent += chunk.length;
      recordBytes(record, chunk);
      const isLast = sent >= limit;
      if (isLast && plan.dropAfterBytes !== null && limit === plan.dropAfterBytes && limit < plan.lengthBytes) {
        // Destroy only once the bytes reached the socket and a grace period passed: Bun's fetch
        // discards body bytes it buffered but had not handed to the reader when the socket
        // closes, so an immediate close would often deliver fewer than `limit` bytes.
        record.outcome = 'dropped';
        res.write(chunk, () => setTimeout(() => res.destroy(), plan.dropGraceMs));
        await closed;
        return;
      }
      // The scratch buffer is reused only after the socket took its bytes.
      const isWritable = plan.usesScratch ? res.write(chunk, () => scratches.push(scratch)) : res.write(chunk);
      if (!isWritable) await waitDrain();
    }
    if (isClosed || isStopped) {
      if (record.outcome === 'pending') record.outcome = 'aborted';
      res.destroy();
      return;
    }
    if (limit < plan.lengthBytes) {
      // Stall: the socket stays open and silent until the client gives up or the server stops.
      record.outcome = 'stalled';
      await closed;
      return;
    }
    res.end();
    record.outcome = 'complete';
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = req.url ?? '/';
    const parsed = new URL(target, 'http://127.0.0.1');
    const headers = flattenHeaders(req.headers);
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      method,
      path: parsed.pathname,
      url: target,
      headers,
      range: headers.range ?? null,
      status: 0,
      bodyBytesSent: 0,
      startedAt: now(),
      endedAt: null,
      connectionId: connectionIds.get(req.socket) ?? 0,
      outcome: 'pending',
    };
    requests.push(record);
    res.once('close', () => {
      record.endedAt ??= now();
      if (record.outcome === 'pending') record.outcome = res.writableFinished ? 'complete' : 'aborted';
    });

    const redirect = redirects.get(parsed.pathname);
    if (redirect) {
      const isAbsolute = /^[a-z][a-z0-9+.-]*:/i.test(redirect.to);
      const location =
        isAbsolute || redirect.host === undefined ? redirect.to : urlFor(redirect.to, { host: redirect.host });
      finishSimple(res, record, redirect.status ?? 302, { location });
      return;
    }

    let state = files.get(parsed.pathname);
    if (state?.knobs.expireAfterMs !== undefined) {
      // Signed-URL mode: the original URL only hands out fresh signatures.
      state.originalRequests++;
      const sig = Bun.hash(`${parsed.pathname}#${++state.issued}`).toString(16);
      state.signatures.set(sig, now() + state.knobs.expireAfterMs);
      const exp = Date.now() + state.knobs.expireAfterMs;
      finishSimple(res, record, 302, { location: `${parsed.pathname}${SIGNED_SUFFIX}?sig=${sig}&exp=${exp}` });
      return;
    }
    if (!state && parsed.pathname.endsWith(SIGNED_SUFFIX)) {
      const signedOf = files.get(parsed.pathname.slice(0, -SIGNED_SUFFIX.length));
      if (signedOf?.knobs.expireAfterMs !== undefined) {
        signedOf.signedRequests++;
        const expiresAt = signedOf.signatures.get(parsed.searchParams.get('sig') ?? '');
        if (expiresAt === undefined || now() >= expiresAt) {
          signedOf.rejectedRequests++;
          finishSimple(
            res,
            record,
            signedOf.knobs.expiredStatus ?? 403,
            { 'content-type': 'text/plain' },
            'Request has expired',
          );
          return;
        }
        state = signedOf;
      }
    }
    if (!state) {
      finishSimple(res, record, 404, { 'content-type': 'text/plain' }, 'Not Found');
      return;
    }
    if (!passesRequirements(state.knobs, headers)) {
      finishSimple(res, record, 403, { 'content-type': 'text/plain' }, 'Forbidden');
      return;
    }

    if (method === 'HEAD') {
      const { knobs } = state;
      if (knobs.headStatus !== undefined) {
        finishSimple(res, record, knobs.headStatus, {});
        return;
      }
      const isChanged =
        state.changed !== null &&
        knobs.changeAfterRequests !== undefined &&
        state.gets >= knobs.changeAfterRequests.requests;
      const version = isChanged && state.changed ? state.changed : state.original;
      const out = representationHeaders(state, version);
      if (!knobs.noRanges && !knobs.noLength) out['accept-ranges'] = 'bytes';
      if (!knobs.noLength && !knobs.headNoLength) out['content-length'] = String(bodySize(version.body));
      record.status = 200;
      res.writeHead(200, out);
      res.end();
      record.outcome = 'complete';
      return;
    }
    if (method !== 'GET') {
      finishSimple(res, record, 405, { allow: 'GET, HEAD' });
      return;
    }

    const plan = planGet(state, record, headers);
    if (plan === null) {
      const failFirst = state.knobs.failFirst;
      const status = failFirst?.status ?? 503;
      const extra: Record<string, string> = { 'content-type': 'text/plain' };
      if (failFirst?.retryAfter !== undefined) extra['retry-after'] = failFirst.retryAfter;
      finishSimple(res, record, status, extra, http.STATUS_CODES[status] ?? 'Error');
      return;
    }
    const close = plan.status === 416 ? () => {} : openStream(record.path);
    send(res, record, plan)
      .catch(() => {
        record.outcome = 'aborted';
        res.destroy();
      })
      .finally(close);
  }

  const server = http.createServer(handle);
  server.on('connection', (socket: Socket) => {
    connectionIds.set(socket, nextConnectionId++);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      isStopped = true;
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
    return stopping;
  };

  const inWindow = (sample: Sample, path: string | undefined, sinceMs: number, untilMs: number) =>
    (path === undefined || sample.path === path) && sample.t >= sinceMs && sample.t < untilMs;

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    url: urlFor,
    get requests() {
      return requests;
    },
    countRequests: (path, method) =>
      requests.filter((r) => r.path === path && (method === undefined || r.method === method)).length,
    get openConnections() {
      return openTotal;
    },
    openConnectionsFor: (path) => openByPath.get(path) ?? 0,
    get maxOpenConnections() {
      return peakTotal;
    },
    maxOpenConnectionsFor: (path) => peakByPath.get(path) ?? 0,
    get openSockets() {
      return sockets.size;
    },
    bytesServed(path, sinceMs = -Infinity, untilMs = Infinity) {
      let total = 0;
      for (const sample of samples) if (inWindow(sample, path, sinceMs, untilMs)) total += sample.bytes;
      return total;
    },
    now,
    signedStats(path) {
      const state = files.get(path);
      return {
        originalRequests: state?.originalRequests ?? 0,
        signedRequests: state?.signedRequests ?? 0,
        rejectedRequests: state?.rejectedRequests ?? 0,
      };
    },
    setFile(spec) {
      files.set(spec.path, makeFileState(spec));
    },
    setRedirect(from, rule) {
      redirects.set(from, rule);
    },
    reset(resetOptions = {}) {
      requests = [];
      samples = [];
      peakTotal = openTotal;
      peakByPath.clear();
      for (const [path, open] of openByPath) peakByPath.set(path, open);
      if (resetOptions.knobCounters) {
        for (const [path, state] of files) files.set(path, makeFileState(state.spec));
      }
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A signed-URL file: GET `path` 302-redirects to `<path>/signed?sig=…&exp=…`, and each signed
 * URL is refused (403, or `expiredStatus`) `expireAfterMs` after it was issued, so a client
 * has to go back to `path` for a fresh one. See `TestServer.signedStats`.
 */
export function signedFile(path: string, spec: Omit<FileSpec, 'path'>, expireAfterMs: number): FileSpec {
  return { ...spec, path, knobs: { ...spec.knobs, expireAfterMs } };
}
