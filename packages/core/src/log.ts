/**
 * JSON-lines logger with size-capped rotation. Every record is redacted before it is written,
 * appends are synchronous (one `appendFileSync` per record, so a crash loses nothing already
 * logged), and the logger never throws: logging must not be able to fail a download.
 */
import { appendFileSync, chmodSync, renameSync, rmSync, statSync } from 'node:fs';
import { redactDeep, redactText } from './redact.ts';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Levels from most to least severe; a logger at level L writes L and everything before it. */
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Mode of the log file and its rotated copies: the log may hold URLs and paths. */
export const LOG_FILE_MODE = 0o600;

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** True when a record at `level` would be written; use it to skip building costly fields. */
  isEnabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every record (a call's own fields win on a clash). */
  child(fields: LogFields): Logger;
  /** The first write failure (the logger swallowed it), shared with its children; null if none. */
  readonly writeError: unknown;
}

export interface LoggerOptions {
  /** Log file; null writes no file (records still reach `onLine`). */
  file: string | null;
  level: LogLevel;
  /** Rotate once the file would grow beyond this size. */
  maxBytes: number;
  /**
   * Rotated files kept: `ddm.log.1` (newest) to `ddm.log.<maxFiles>`.
   * @default 3
   */
  maxFiles?: number;
  /** Receives every written line (without the newline), e.g. to echo `--verbose` output. */
  onLine?: (line: string) => void;
  /**
   * Clock for the `time` field, in ms since epoch.
   * @default Date.now
   */
  now?: () => number;
}

/** State shared by a logger and its children. */
interface Sink {
  readonly file: string | null;
  readonly maxBytes: number;
  readonly maxFiles: number;
  readonly onLine: ((line: string) => void) | undefined;
  readonly now: () => number;
  /** Our idea of the file's size; re-read from disk before rotating (another process may write). */
  sizeBytes: number;
  writeError: unknown;
  hasFailed: boolean;
}

const RESERVED_FIELDS: ReadonlySet<string> = new Set(['time', 'level', 'msg']);

/**
 * Creates a logger writing one JSON object per line: `{"time": ISO-8601, "level", "msg",
 * ...fields}`. `msg` goes through `redactText` and fields through `redactDeep`, so
 * Authorization, cookies, signed-URL parameters and URL credentials never reach the file.
 * Fields named `time`, `level` or `msg` are written as `_time`, `_level`, `_msg`.
 *
 * Rotation: when appending a line would take the file past `maxBytes`, `ddm.log` becomes
 * `ddm.log.1`, `.1` becomes `.2` and so on, dropping the oldest beyond `maxFiles`. The file is
 * created with mode 0600. Never throws: the first write failure is kept in `writeError` and
 * later records are still attempted (a full disk may recover).
 */
export function createLogger(options: LoggerOptions): Logger {
  const sink: Sink = {
    file: options.file,
    maxBytes: Math.max(1, options.maxBytes),
    maxFiles: Math.max(0, Math.floor(options.maxFiles ?? 3)),
    onLine: options.onLine,
    now: options.now ?? Date.now,
    sizeBytes: 0,
    writeError: null,
    hasFailed: false,
  };
  if (sink.file !== null) {
    try {
      const stat = statSync(sink.file);
      sink.sizeBytes = stat.size;
      // A log written by an older version or by hand may be world-readable.
      if ((stat.mode & 0o777) !== LOG_FILE_MODE) chmodSync(sink.file, LOG_FILE_MODE);
    } catch {
      // Missing file (created on first write) or not ours to chmod: nothing to do.
    }
  }
  return makeLogger(sink, options.level, {});
}

function makeLogger(sink: Sink, level: LogLevel, baseFields: LogFields): Logger {
  const threshold = SEVERITY[level];
  const write = (recordLevel: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (SEVERITY[recordLevel] > threshold) return;
    writeRecord(sink, recordLevel, msg, fields === undefined ? baseFields : { ...baseFields, ...fields });
  };
  return {
    level,
    error: (msg, fields) => write('error', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    debug: (msg, fields) => write('debug', msg, fields),
    isEnabled: (candidate) => SEVERITY[candidate] <= threshold,
    child: (fields) => makeLogger(sink, level, { ...baseFields, ...fields }),
    get writeError() {
      return sink.writeError;
    },
  };
}

function writeRecord(sink: Sink, level: LogLevel, msg: string, fields: LogFields): void {
  let line: string;
  try {
    const record: Record<string, unknown> = {
      time: new Date(sink.now()).toISOString(),
      level,
      msg: redactText(String(msg)),
    };
    const redacted = redactDeep(fields);
    if (redacted !== null && typeof redacted === 'object') {
      for (const [name, value] of Object.entries(redacted)) {
        record[RESERVED_FIELDS.has(name) ? `_${name}` : name] = value;
      }
    }
    line = JSON.stringify(record);
  } catch (error) {
    recordFailure(sink, error);
    return;
  }
  try {
    sink.onLine?.(line);
  } catch (error) {
    recordFailure(sink, error);
  }
  if (sink.file === null) return;
  const data = `${line}\n`;
  const lineBytes = Buffer.byteLength(data);
  try {
    if (sink.sizeBytes > 0 && sink.sizeBytes + lineBytes > sink.maxBytes) rotateIfStillFull(sink, lineBytes);
    appendFileSync(sink.file, data, { mode: LOG_FILE_MODE });
    sink.sizeBytes += lineBytes;
  } catch (error) {
    recordFailure(sink, error);
  }
}

/** Rotates unless the file on disk turns out smaller than we thought (another process rotated). */
function rotateIfStillFull(sink: Sink, lineBytes: number): void {
  const file = sink.file;
  if (file === null) return;
  let actualBytes = 0;
  try {
    actualBytes = statSync(file).size;
  } catch {
    sink.sizeBytes = 0;
    return;
  }
  sink.sizeBytes = actualBytes;
  if (actualBytes === 0 || actualBytes + lineBytes <= sink.maxBytes) return;
  if (sink.maxFiles === 0) {
    rmSync(file, { force: true });
  } else {
    rmSync(`${file}.${sink.maxFiles}`, { force: true });
    for (let index = sink.maxFiles - 1; index >= 1; index--) {
      try {
        renameSync(`${file}.${index}`, `${file}.${index + 1}`);
      } catch {
        // A gap in the sequence (ENOENT) is normal after a crash or a manual clean-up.
      }
    }
    renameSync(file, `${file}.1`);
  }
  sink.sizeBytes = 0;
}

function recordFailure(sink: Sink, error: unknown): void {
  if (sink.hasFailed) return;
  sink.hasFailed = true;
  sink.writeError = error;
}

/** A logger that drops everything; for tests and library callers that do not log. */
export const nullLogger: Logger = {
  level: 'error',
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  isEnabled: () => false,
  child: () => nullLogger,
  writeError: null,
};

/** True when `value` names a log level (for `--log-level` and the `log_level` config key). */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}
