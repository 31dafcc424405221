/**
 * The documented exit codes. Only main.ts turns errors into these; commands return them.
 * README "Exit codes" lists the same table.
 */
import type { ErrorCode } from '@ddm/core';

export const EXIT = {
  ok: 0,
  jobFailed: 1,
  usage: 2,
  network: 3,
  integrity: 4,
  io: 5,
  engineBusy: 6,
  tls: 7,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Each error code's exit code (every core code must be listed: the type checks it; the DB's
 * codes too). A code not listed is a failed job (1). README's exit-code table lists the same.
 */
export const EXIT_FOR_CODE: Readonly<Record<ErrorCode, ExitCode> & Record<string, ExitCode>> = {
  ERR_USAGE: EXIT.usage,
  ERR_INVALID_URL: EXIT.usage,
  ERR_CONFIG: EXIT.usage,
  ERR_NOT_FOUND: EXIT.usage,
  ERR_HAR: EXIT.usage,
  ERR_CREDENTIALS_REQUIRED: EXIT.usage,
  ERR_ILLEGAL_TRANSITION: EXIT.usage,
  ERR_NETWORK: EXIT.network,
  ERR_TIMEOUT: EXIT.network,
  ERR_STALLED: EXIT.network,
  ERR_HTTP_STATUS: EXIT.network,
  ERR_TOO_MANY_REDIRECTS: EXIT.network,
  ERR_REDIRECT_LOOP: EXIT.network,
  ERR_RANGE_UNSUPPORTED: EXIT.network,
  ERR_CHECKSUM_MISMATCH: EXIT.integrity,
  ERR_SIZE_MISMATCH: EXIT.integrity,
  ERR_RESOURCE_CHANGED: EXIT.integrity,
  ERR_RANGE_MISMATCH: EXIT.integrity,
  ERR_COMPRESSED: EXIT.integrity,
  ERR_DISK_FULL: EXIT.io,
  ERR_IO: EXIT.io,
  ERR_FILE_EXISTS: EXIT.io,
  ERR_UNSAFE_PATH: EXIT.io,
  ERR_DB: EXIT.io,
  ERR_DB_OPEN: EXIT.io,
  ERR_DB_TOO_NEW: EXIT.io,
  ERR_DB_READONLY: EXIT.io,
  ERR_DB_CORRUPT: EXIT.io,
  ERR_ENGINE_BUSY: EXIT.engineBusy,
  ERR_LOCK_LOST: EXIT.engineBusy,
  ERR_DB_BUSY: EXIT.engineBusy,
  ERR_TLS: EXIT.tls,
  ERR_CANCELED: EXIT.interrupted,
};

export function exitCodeFor(code: ErrorCode | string | null | undefined): ExitCode {
  return (code && EXIT_FOR_CODE[code]) || EXIT.jobFailed;
}
