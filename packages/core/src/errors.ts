/**
 * Typed errors of the engine. Library code throws only these; `apps/cli/src/main.ts` is the one
 * place that maps them to exit codes and text. Classify at the I/O edge by errno / status, never
 * by message text.
 */

import { classifyError } from './retry.ts';
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
