import type { EngineController, EngineSnapshot } from '@ddm/core';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../lib/commands.ts';
import { EMPTY_RATE_HISTORY, type RateHistory, recordRates } from '../lib/rate-history.ts';
import { isSameSnapshot } from '../lib/snapshot-equal.ts';

/** The TUI never redraws more often than this. */
export const MAX_FPS = 15;

export interface EngineView {
  readonly snapshot: EngineSnapshot;
  readonly rateHistory: RateHistory;
  /** Why the last `snapshot()` call failed; the previous snapshot stays on screen. */
  readonly error: string | null;
}

export interface UseEngineSnapshotOptions {
  /** Polls per second, capped at {@link MAX_FPS}. @default 15 */
  readonly fps?: number;
}

const EMPTY_SNAPSHOT: EngineSnapshot = {
  at: 0,
  jobs: [],
  activeJobs: 0,
  rateBytesPerSec: 0,
  connections: 0,
  limitBytesPerSec: null,
  isAttached: false,
};

function read(controller: EngineController, previous: EngineView | null): EngineView {
  try {
    const snapshot = controller.snapshot();
    const rateHistory = recordRates(previous?.rateHistory ?? EMPTY_RATE_HISTORY, snapshot);
    return { snapshot, rateHistory, error: null };
  } catch (error) {
    return {
      snapshot: previous?.snapshot ?? EMPTY_SNAPSHOT,
      rateHistory: previous?.rateHistory ?? EMPTY_RATE_HISTORY,
      error: `snapshot failed: ${errorText(error)}`,
    };
  }
}

/**
 * Polls `controller.snapshot()` at most {@link MAX_FPS} times a second and re-renders only when
 * what it returns changed (ignoring `at`) or a rate sample for the 60 s sparkline was taken.
 * The engine's byte counters are never pushed per chunk; the UI pulls them at frame rate.
 */
export function useEngineSnapshot(controller: EngineController, options: UseEngineSnapshotOptions = {}): EngineView {
  const [view, setView] = useState<EngineView>(() => read(controller, null));
  const viewRef = useRef(view);
  const fps = Math.min(MAX_FPS, Math.max(1, options.fps ?? MAX_FPS));

  useEffect(() => {
    const poll = (): void => {
      const previous = viewRef.current;
      const next = read(controller, previous);
      const isUnchanged =
        next.error === previous.error &&
        next.rateHistory === previous.rateHistory &&
        isSameSnapshot(next.snapshot, previous.snapshot);
      if (isUnchanged) return;
      viewRef.current = next;
      setView(next);
    };
    const timer = setInterval(poll, 1000 / fps);
    return () => clearInterval(timer);
  }, [controller, fps]);

  return view;
}
