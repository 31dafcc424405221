/** Errors of the job database. `code` is literal so callers switch on it, never on text. */
export type DbErrorCode =
  | 'ERR_DB'
  | 'ERR_DB_TOO_NEW'
  | 'ERR_DB_OPEN'
  /** SQLITE_FULL: the disk (or the DB's page limit) is full. */
  | 'ERR_DISK_FULL'
  /** SQLITE_BUSY / SQLITE_LOCKED still after the busy timeout and the retries. */
  | 'ERR_DB_BUSY'
  /** SQLITE_READONLY, or a write through a connection opened read-only. */
  | 'ERR_DB_READONLY'
  /** SQLITE_CORRUPT / SQLITE_NOTADB: the file is damaged or not a database. */
  | 'ERR_DB_CORRUPT'
  /** A fenced write of an engine whose lock another engine took over. */
  | 'ERR_LOCK_LOST';

export class DbError extends Error {
  override name = 'DbError';
  readonly code: DbErrorCode;
  /** Only a busy DB may succeed when tried again later. */
  readonly retryable: boolean;

  constructor(message: string, code: DbErrorCode = 'ERR_DB', cause?: unknown) {
    super(message, { cause });
    this.code = code;
    this.retryable = code === 'ERR_DB_BUSY';
  }
}

/** SQLite's primary result codes ddm tells apart (sqlite3.h). */
const SQLITE = {
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  NOTADB: 26,
} as const;

/**
 * The primary SQLite result code of a bun:sqlite `SQLiteError` (its `errno` may be an extended
 * code such as SQLITE_BUSY_SNAPSHOT = 517; the low byte is the primary code), else undefined.
 */
export function sqliteCodeOf(error: unknown): number | undefined {
  if (!error || typeof error !== 'object' || (error as { name?: unknown }).name !== 'SQLiteError') return undefined;
  const errno = (error as { errno?: unknown }).errno;
  return typeof errno === 'number' ? errno & 0xff : undefined;
}

/** True for SQLITE_BUSY and SQLITE_LOCKED: another connection holds the lock. */
export function isBusyError(error: unknown): boolean {
  const code = sqliteCodeOf(error);
  return code === SQLITE.BUSY || code === SQLITE.LOCKED;
}

/**
 * Maps a SQLite failure on the DB at `path` to a DbError by its result code (never its text);
 * a DbError or anything that is not a SQLiteError is returned unchanged.
 * `holderPid` names the engine that holds the DB when known, for a busy DB.
 */
export function toDbError(error: unknown, path: string, holderPid?: number | null): unknown {
  if (error instanceof DbError) return error;
  const code = sqliteCodeOf(error);
  if (code === undefined) return error;
  switch (code) {
    case SQLITE.FULL:
      return new DbError(`The disk holding the job DB is full: ${path}`, 'ERR_DISK_FULL', error);
    case SQLITE.BUSY:
    case SQLITE.LOCKED: {
      const held = holderPid ? ` (held by pid ${holderPid})` : ' (held by another ddm process)';
      return new DbError(`The job DB is busy${held}; try again: ${path}`, 'ERR_DB_BUSY', error);
    }
    case SQLITE.READONLY:
      return new DbError(`The job DB is read-only: ${path}`, 'ERR_DB_READONLY', error);
    case SQLITE.CORRUPT:
    case SQLITE.NOTADB:
      return new DbError(
        `The job DB is damaged or not a ddm database; move it aside to start a new one (mv ${path} ${path}.broken): ${path}`,
        'ERR_DB_CORRUPT',
        error,
      );
    case SQLITE.CANTOPEN:
      return new DbError(`Cannot open the job DB: ${path}`, 'ERR_DB_OPEN', error);
    case SQLITE.IOERR:
      return new DbError(`Cannot read or write the job DB (I/O error): ${path}`, 'ERR_DB', error);
    default:
      // SQLite's own text names what failed ("no such table: live"): keep it, it is not a secret.
      return new DbError(
        `Job DB error (SQLite code ${code}${error instanceof Error && error.message ? `: ${error.message}` : ''}): ${path}`,
        'ERR_DB',
        error,
      );
  }
}
