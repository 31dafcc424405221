/** Errors of the job database. `code` is literal so callers switch on it, never on text. */
/** `ERR_LOCK_LOST`: a fenced write of an engine whose lock another engine took over. */
export type DbErrorCode = 'ERR_DB' | 'ERR_DB_TOO_NEW' | 'ERR_DB_OPEN' | 'ERR_LOCK_LOST';

export class DbError extends Error {
  override name = 'DbError';
  readonly code: DbErrorCode;
  readonly retryable = false;

  constructor(message: string, code: DbErrorCode = 'ERR_DB', cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}
