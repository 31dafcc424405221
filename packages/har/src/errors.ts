/**
 * Errors of `@ddm/har`. `code` is a literal so callers switch on it (and on `reason`), never on
 * message text. Neither error is retryable: both describe input the user has to change.
 */

/** Why a HAR could not be used. */
export type HarErrorReason = 'not-json' | 'not-har' | 'no-entries' | 'no-download';

/** A HAR file that cannot be read, or holds no request that looks like a download. */
export class HarError extends Error {
  override name = 'HarError';
  readonly code = 'ERR_HAR' as const;
  readonly retryable = false;
  readonly reason: HarErrorReason;

  constructor(message: string, reason: HarErrorReason, cause?: unknown) {
    super(message, { cause });
    this.reason = reason;
  }
}

/**
 * A "Copy as cURL" command ddm cannot replay: a malformed command line, a flag ddm does not
 * know, or a request that is not a plain GET. `flag` names the offending option when there is
 * one (`--data-raw`, `-X`), so a front end can point at it.
 */
export class CurlParseError extends Error {
  override name = 'CurlParseError';
  readonly code = 'ERR_USAGE' as const;
  readonly retryable = false;
  readonly flag: string | null;

  constructor(message: string, flag: string | null = null, cause?: unknown) {
    super(message, { cause });
    this.flag = flag;
  }
}
