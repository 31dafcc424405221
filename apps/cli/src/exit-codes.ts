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

export function exitCodeFor(code: ErrorCode | string | null | undefined): ExitCode {
  switch (code) {
    case 'ERR_USAGE':
    case 'ERR_INVALID_URL':
    case 'ERR_CONFIG':
    case 'ERR_NOT_FOUND':
    case 'ERR_HAR':
    case 'ERR_CREDENTIALS_REQUIRED':
    case 'ERR_ILLEGAL_TRANSITION':
      return EXIT.usage;
    case 'ERR_NETWORK':
    case 'ERR_TIMEOUT':
    case 'ERR_STALLED':
    case 'ERR_HTTP_STATUS':
    case 'ERR_TOO_MANY_REDIRECTS':
    case 'ERR_REDIRECT_LOOP':
    case 'ERR_RANGE_UNSUPPORTED':
      return EXIT.network;
    case 'ERR_CHECKSUM_MISMATCH':
    case 'ERR_SIZE_MISMATCH':
    case 'ERR_RESOURCE_CHANGED':
    case 'ERR_RANGE_MISMATCH':
    case 'ERR_COMPRESSED':
      return EXIT.integrity;
    case 'ERR_DISK_FULL':
    case 'ERR_IO':
    case 'ERR_FILE_EXISTS':
    case 'ERR_UNSAFE_PATH':
    case 'ERR_DB':
    case 'ERR_DB_OPEN':
    case 'ERR_DB_TOO_NEW':
    case 'ERR_DB_READONLY':
    case 'ERR_DB_CORRUPT':
      return EXIT.io;
    case 'ERR_ENGINE_BUSY':
    case 'ERR_LOCK_LOST':
    case 'ERR_DB_BUSY':
      return EXIT.engineBusy;
    case 'ERR_TLS':
      return EXIT.tls;
    case 'ERR_CANCELED':
      return EXIT.interrupted;
    default:
      return EXIT.jobFailed;
  }
}
