/** Structural equality for snapshots, so the TUI redraws only when something it shows changed. */
import type { EngineSnapshot, SegmentSnapshot } from '@ddm/core';

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(aRecord);
  if (keys.length !== Object.keys(bRecord).length) return false;
  return keys.every((key) => Object.hasOwn(bRecord, key) && deepEqual(aRecord[key], bRecord[key]));
}

/** True when the snapshots differ at most in `at` (the time they were taken). */
export function isSameSnapshot(a: EngineSnapshot, b: EngineSnapshot): boolean {
  if (a === b) return true;
  return deepEqual({ ...a, at: 0 }, { ...b, at: 0 });
}

/**
 * True when both lists hold equal segments. A snapshot rebuilds its segment objects on every
 * poll, so identity says nothing; fields are compared generically so a new one is never missed.
 */
export function areSegmentsEqual(a: readonly SegmentSnapshot[], b: readonly SegmentSnapshot[]): boolean {
  return deepEqual(a, b);
}
