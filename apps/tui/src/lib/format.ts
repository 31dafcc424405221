/**
 * Formatting for the TUI. Sizes, rates and durations come from `@ddm/core` (units.ts), so the
 * TUI and the CLI print and parse them the same way; this adds what only the TUI shows.
 */
import { formatRate, parseRate } from '@ddm/core';

export { formatBytes, formatDuration, formatRate } from '@ddm/core';

/** Done fraction as `"42%"`, or `"--"` when the size is unknown. Never shows 100% before done. */
export function formatPercent(doneBytes: number, sizeBytes: number | null): string {
  if (sizeBytes === null || sizeBytes <= 0) return '--';
  const percent = Math.floor((doneBytes / sizeBytes) * 100);
  return `${Math.max(0, Math.min(100, percent))}%`;
}

/** `"off"` for no limit, else the rate. */
export function formatLimit(bytesPerSec: number | null): string {
  return bytesPerSec === null ? 'off' : formatRate(bytesPerSec);
}

export type LimitParseResult =
  | { readonly ok: true; readonly bytesPerSec: number | null }
  | { readonly ok: false; readonly message: string };

/**
 * Parses what the user typed at the limit prompt with `@ddm/core`'s `parseRate` (`"2M"`,
 * `"500k"`, `"1.5MiB/s"`, `"off"`; K/M/G/T are powers of 1024; zero means no limit). An empty
 * line also means no limit. Never throws: a bad value comes back with the parser's message.
 */
export function parseLimit(text: string): LimitParseResult {
  if (text.trim() === '') return { ok: true, bytesPerSec: null };
  try {
    return { ok: true, bytesPerSec: parseRate(text) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
