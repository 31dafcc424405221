/**
 * Typed errors of the engine. Library code throws only these; `apps/cli/src/main.ts` is the one
 * place that maps them to exit codes and text. Classify at the I/O edge by errno / status, never
 * by message text.
 */

import { DbError } from '@ddm/db';
export type ErrorCode =
  | 'ERR_USAGE'
  | 'ERR_INVALID_URL'
  | 'ERR_CONFIG'
  | 'ERR_NOT_FOUND'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_STALLED'
  | 'ERR_HTTP_STATUS'
  | 'ERR_TOO_MANY_REDIRECTS'
  | 'ERR_TLS'
  | 'ERR_REDIRECT_LOOP'
  | 'ERR_RANGE_UNSUPPORTED'
  | 'ERR_RANGE_MISMATCH'
  | 'ERR_COMPRESSED'
  | 'ERR_RESOURCE_CHANGED'
  | 'ERR_SIZE_MISMATCH'
  | 'ERR_CHECKSUM_MISMATCH'
  | 'ERR_CREDENTIALS_REQUIRED'
  | 'ERR_DISK_FULL'
  | 'ERR_IO'
  | 'ERR_FILE_EXISTS'
  /** A job's file is a symlink, has another hard link, or is not the file ddm created: never written through. */
  | 'ERR_UNSAFE_PATH'
  | 'ERR_ENGINE_BUSY'
  /** This engine was frozen past the lock's staleness window and another engine took the jobs over. */
  | 'ERR_LOCK_LOST'
  | 'ERR_ILLEGAL_TRANSITION'
  | 'ERR_DB'
  | 'ERR_HAR'
  | 'ERR_CANCELED';

export interface DdmErrorOptions {
  code: ErrorCode;
  /** True when trying the same request again may succeed (network, 5xx, 408, 429). */
  retryable?: boolean;
  cause?: unknown;
}

export class DdmError extends Error {
  override name = 'DdmError';
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(message: string, options: DdmErrorOptions) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? false;
  }
}

/** A response status the engine cannot use. 5xx, 408 and 429 are retryable; other 4xx are not. */
export class HttpStatusError extends DdmError {
  override name = 'HttpStatusError';
  readonly status: number;
  readonly url: string;
  /** Delay the server asked for with Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | null;

  constructor(status: number, url: string, retryAfterMs: number | null = null, method = 'GET') {
    super(`HTTP ${status}: ${method} ${url}`, {
      code: 'ERR_HTTP_STATUS',
      retryable: status >= 500 || status === 408 || status === 429,
    });
    this.status = status;
    this.url = url;
    this.retryAfterMs = retryAfterMs;
  }
}

export function isDdmError(error: unknown): error is DdmError {
  return error instanceof DdmError;
}

/** Reads the errno-style code (`ENOSPC`, `ECONNREFUSED` ...) of a Node/Bun system error. */
export function errnoOf(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Normalises anything thrown into a DdmError: a DdmError as it is, anything else classified by
 * errno / DOMException name (never by message, see `classifyError`), the original in `cause`.
 */
export function toDdmError(error: unknown): DdmError {
  if (error instanceof DdmError) return error;
  const c = classifyError(error);
  const message = error instanceof Error ? error.message : String(error);
  return new DdmError(message, { code: c.code, retryable: c.retryable, cause: error });
}

// ---- classification at the I/O edge (by errno / name, never by message) ---------------------

export interface ErrorClass {
  code: ErrorCode;
  retryable: boolean;
}

/** Connection-level failures that another attempt may well survive. */
const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EPROTO',
  'EAI_AGAIN',
  'ConnectionRefused',
  'ConnectionClosed',
  'ConnectionTimeout',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Name-resolution failures: the host does not exist (as opposed to EAI_AGAIN, "try again"). */
const HOST_NOT_FOUND_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_FAIL']);

const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

const FILE_SYSTEM_CODES: ReadonlySet<string> = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'ENOENT',
  'EEXIST',
  'EMFILE',
  'ENFILE',
  'EIO',
  'EFBIG',
  'EBADF',
]);

const INVALID_URL_CODES: ReadonlySet<string> = new Set(['ERR_INVALID_URL', 'ERR_INVALID_ARG_VALUE']);

/** TLS failures (bad or expired certificate, name mismatch, handshake) do not fix themselves. */
const TLS_CODE_PATTERN = /CERT|TLS|SSL|HANDSHAKE/i;

export interface ClassifyOptions {
  /**
   * True once a request to this host has been answered. A host that is not found on the first
   * request is a typo or a dead name and fails at once; one that disappears later (Wi-Fi
   * dropped, resolver hiccup) is retried.
   * @default false
   */
  hasReachedHost?: boolean;
}

function nameOf(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'name' in error) {
    const name = (error as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

function classifyOne(error: unknown, options: ClassifyOptions): ErrorClass | undefined {
  if (error instanceof DdmError) return { code: error.code, retryable: error.retryable };
  // The job DB failed (a full disk, read-only, damaged): never a network error.
  if (error instanceof DbError)
    return { code: error.code === 'ERR_DISK_FULL' ? 'ERR_DISK_FULL' : 'ERR_DB', retryable: false };
  const name = nameOf(error);
  // DOMExceptions carry numeric codes (20, 23), so the name is what identifies them.
  if (name === 'TimeoutError') return { code: 'ERR_TIMEOUT', retryable: true };
  if (name === 'AbortError') return { code: 'ERR_CANCELED', retryable: false };
  const code = errnoOf(error);
  if (code === undefined) return undefined;
  if (RETRYABLE_NETWORK_CODES.has(code)) return { code: 'ERR_NETWORK', retryable: true };
  if (HOST_NOT_FOUND_CODES.has(code)) return { code: 'ERR_NETWORK', retryable: options.hasReachedHost === true };
  if (DISK_FULL_CODES.has(code)) return { code: 'ERR_DISK_FULL', retryable: false };
  if (FILE_SYSTEM_CODES.has(code)) return { code: 'ERR_IO', retryable: false };
  if (INVALID_URL_CODES.has(code)) return { code: 'ERR_INVALID_URL', retryable: false };
  if (TLS_CODE_PATTERN.test(code)) return { code: 'ERR_NETWORK', retryable: false };
  return undefined;
}

/**
 * Maps any thrown value to an error code and whether retrying may help.
 *
 * - `DdmError` (and subclasses such as `HttpStatusError`): its own `code` and `retryable`.
 * - DOMException `TimeoutError` (an `AbortSignal.timeout` fired): `ERR_TIMEOUT`, retryable.
 * - DOMException `AbortError` (pause/cancel): `ERR_CANCELED`, not retryable. An abort with a
 *   reason rejects with that reason, so abort with a `DdmError` to choose the code.
 * - Connection failures (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `EPIPE`, `EAI_AGAIN`,
 *   unreachable network, Bun's older `ConnectionRefused` / `ConnectionClosed`): `ERR_NETWORK`,
 *   retryable.
 * - Host not found (`ENOTFOUND`, `EAI_NONAME`, `EAI_FAIL`): `ERR_NETWORK`, retryable only when
 *   `options.hasReachedHost` (see {@link ClassifyOptions}).
 * - TLS certificate / handshake codes: `ERR_NETWORK`, not retryable.
 * - `ENOSPC`, `EDQUOT`: `ERR_DISK_FULL`; other file-system errnos: `ERR_IO`; neither retryable.
 * - Invalid URL / unsupported protocol: `ERR_INVALID_URL`, not retryable.
 * - Anything else: its `cause` chain is classified (up to 8 levels); if nothing is recognised,
 *   `ERR_NETWORK`, not retryable — an unknown failure is more likely a bug than a flaky link,
 *   and retrying it would only hide it.
 */
export function classifyError(error: unknown, options: ClassifyOptions = {}): ErrorClass {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const found = classifyOne(current, options);
    if (found) return found;
    current = typeof current === 'object' && 'cause' in current ? (current as { cause: unknown }).cause : undefined;
  }
  return { code: 'ERR_NETWORK', retryable: false };
}

const REFUSED_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ConnectionRefused']);

/** True when `error` (or its cause chain) is a refused connection: nothing listens there. */
export function isConnectionRefused(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const code = errnoOf(current);
    if (code !== undefined && REFUSED_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
