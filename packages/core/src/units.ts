/**
 * Byte sizes, rates and durations: parsing what users type and formatting what they read.
 *
 * Suffixes are 1024-based whatever their spelling (`K`, `KB`, `KiB` and `k` all mean 1024), as
 * in aria2's `--max-download-limit` and `--min-split-size`: a download manager's users type
 * "10M" and mean "ten megabytes of the kind my file manager shows".
 */
import { DdmError } from './errors.ts';

const MULTIPLIER_BY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** number, optional spaces, optional K/M/G/T/P, optional `i`, optional `B`. */
const BYTES_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtp])i?b?|b)?$/i;

/** Values that mean "no limit" to {@link parseRate}. */
const UNLIMITED_WORDS: ReadonlySet<string> = new Set(['off', 'none', 'unlimited', '0']);

function usageError(what: string, text: string): DdmError {
  return new DdmError(
    `Invalid ${what} (expected a non-negative number with an optional K/M/G/T suffix, e.g. 10M, 2MiB, 500k): "${text}"`,
    { code: 'ERR_USAGE' },
  );
}

/**
 * Parses a byte size such as `"10M"`, `"2MiB"`, `"500k"`, `"1.5G"`, `"2mb"` or `"1048576"`.
 *
 * K, M, G, T (and P) are powers of 1024 in every spelling (`K`, `KB`, `KiB`, any case); a bare
 * number is bytes and must be an integer; fractional values with a suffix are rounded to the
 * nearest byte. Surrounding whitespace is ignored.
 *
 * @returns a non-negative safe integer number of bytes.
 * @throws DdmError `ERR_USAGE` naming the text when it is empty, negative, not a number, has an
 *   unknown suffix, is a fractional byte count, or exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function parseBytes(text: string): number {
  const trimmed = text.trim();
  const match = BYTES_PATTERN.exec(trimmed);
  if (!match) throw usageError('byte size', text);
  const [, numberText = '', suffix = ''] = match;
  const unit = suffix.toLowerCase();
  // A fraction of a byte makes no sense: "1.5" is a typo for "1.5M" or similar.
  if (unit === '' && numberText.includes('.')) throw usageError('byte size', text);
  const multiplier = MULTIPLIER_BY_SUFFIX[unit];
  if (multiplier === undefined) throw usageError('byte size', text);
  const bytes = Math.round(Number(numberText) * multiplier);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw usageError('byte size', text);
  return bytes;
}

/**
 * Parses a transfer rate: anything {@link parseBytes} accepts, optionally followed by `/s`
 * (`"2M"`, `"500KiB/s"`), or a word meaning "no limit".
 *
 * @returns bytes per second, or `null` for no limit: `"off"`, `"none"`, `"unlimited"`, and any
 *   value that parses to 0 (`"0"`, `"0K"`), as in aria2 where a limit of 0 means unlimited.
 * @throws DdmError `ERR_USAGE` naming the text when it is not a valid rate.
 */
export function parseRate(text: string): number | null {
  const trimmed = text.trim();
  if (UNLIMITED_WORDS.has(trimmed.toLowerCase())) return null;
  const withoutPerSecond = trimmed.replace(/\s*\/\s*s(?:ec)?$/i, '');
  let bytesPerSec: number;
  try {
    bytesPerSec = parseBytes(withoutPerSecond);
  } catch (error) {
    throw new DdmError(usageError('rate', text).message, { code: 'ERR_USAGE', cause: error });
  }
  return bytesPerSec === 0 ? null : bytesPerSec;
}

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * Formats a byte count for humans: `"0 B"`, `"512 B"`, `"1.5 MiB"`, `"12.0 GiB"`. Values from
 * 1 KiB up carry one decimal. Negative values keep their sign; non-finite values give `"--"`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '--';
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unitIndex = 0;
  value /= 1024;
  // Promote while rounding to one decimal would print "1024.0 KiB".
  while (unitIndex < BINARY_UNITS.length - 1 && Math.round(value * 10) >= 10_240) {
    value /= 1024;
    unitIndex++;
  }
  return `${sign}${value.toFixed(1)} ${BINARY_UNITS[unitIndex] ?? 'EiB'}`;
}

/** Formats a transfer rate: `"12.3 MiB/s"`, `"0 B/s"`; non-finite rates give `"--"`. */
export function formatRate(bytesPerSec: number): string {
  if (!Number.isFinite(bytesPerSec)) return '--';
  return `${formatBytes(bytesPerSec)}/s`;
}

const pad2 = (value: number): string => String(value).padStart(2, '0');

/**
 * Formats a duration in seconds, rounded to the nearest second: `"42s"`, `"3m05s"`, `"1h02m"`,
 * `"2d03h"`. `null`, negative, NaN and infinite values (an unknown ETA) give `"--"`.
 */
export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '--';
  const total = Math.round(sec);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return `${days}d${pad2(hours)}h`;
  if (hours > 0) return `${hours}h${pad2(minutes)}m`;
  if (minutes > 0) return `${minutes}m${pad2(seconds)}s`;
  return `${seconds}s`;
}
