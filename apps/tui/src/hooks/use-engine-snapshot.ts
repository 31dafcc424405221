import type { EngineController, EngineSnapshot } from '@ddm/core';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../lib/commands.ts';
import { EMPTY_RATE_HISTORY, isRateChangeVisible, type RateHistory, recordRates } from '../lib/rate-history.ts';
import { isSameSnapshot } from '../lib/snapshot-equal.ts';

/** The TUI never redraws more often than this. */
export const MAX_FPS = 15;
/**
 * Polls per second while nothing but byte counters moves. Each redraw costs the engine's process
 * ~25-30 ms of CPU on a 2-CPU machine (React, Yoga layout and Ink's output pass, all running cold:
 * a few dozen frames never get JIT-optimised), so the steady rate is what the dashboard costs.
 * `bun run bench --scenario 5` (256 MiB, 8 connections, ~4 s, 3 runs each): engine CPU 1.28-1.31 s
 * at 4 polls/s, 1.01-1.17 at 2, 0.90-1.02 at 1, against 0.61-0.72 headless. Two a second still
 * reads as live; facts (state changes, splits, retries) are shown within a frame anyway.
 */
export const STEADY_FPS = 2;

export interface EngineView {
  readonly snapshot: EngineSnapshot;
  readonly rateHistory: RateHistory;
  /** Why the last `snapshot()` call failed; the previous snapshot stays on screen. */
  readonly error: string | null;
}

export interface UseEngineSnapshotOptions {
  /**
   * Most polls per second, used right after an engine event (a state change, a split, a retry),
   * so facts show within a frame. Capped at {@link MAX_FPS}. @default 15
   */
  readonly fps?: number;
  /** Polls per second otherwise; at most `fps`. @default 2 ({@link STEADY_FPS}) */
  readonly steadyFps?: number;
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

const clampFps = (fps: number, max: number): number => Math.min(max, Math.max(1, fps));

/**
 * Polls `controller.snapshot()` {@link STEADY_FPS} times a second, and sooner (never more than
 * {@link MAX_FPS} times a second) after an engine event. Re-renders only when what it returns
 * changed (ignoring `at`) or a rate sample changed the 60 s sparkline, so an idle UI stays still.
 * The engine's byte counters are never pushed per chunk; the UI pulls them, so a download costs
 * a few redraws a second however fast its chunks arrive.
 */
export function useEngineSnapshot(controller: EngineController, options: UseEngineSnapshotOptions = {}): EngineView {
  const [view, setView] = useState<EngineView>(() => read(controller, null));
  const viewRef = useRef(view);
  const fps = clampFps(options.fps ?? MAX_FPS, MAX_FPS);
  const steadyFps = clampFps(options.steadyFps ?? STEADY_FPS, fps);

  useEffect(() => {
    const minGapMs = 1000 / fps;
    const steadyGapMs = 1000 / steadyFps;
    let lastPollAt = performance.now();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let dueAt = Number.POSITIVE_INFINITY;

    const poll = (): void => {
      const previous = viewRef.current;
      const next = read(controller, previous);
      // Kept even when nothing visible changed, so rate sampling goes on from the latest poll.
      viewRef.current = next;
      const isUnchanged =
        next.error === previous.error &&
        !isRateChangeVisible(previous.rateHistory, next.rateHistory) &&
        isSameSnapshot(next.snapshot, previous.snapshot);
      if (!isUnchanged) setView(next);
    };
    const scheduleAt = (at: number): void => {
      if (timer !== null) clearTimeout(timer);
      dueAt = at;
      timer = setTimeout(tick, Math.max(0, at - performance.now()));
    };
    function tick(): void {
      timer = null;
      lastPollAt = performance.now();
      poll();
      scheduleAt(lastPollAt + steadyGapMs);
    }
    // Something happened that the counters do not tell (state, split, retry): poll as soon as the
    // frame cap allows. A burst of events still costs one poll.
    const unsubscribe = controller.subscribe(() => {
      const soonest = lastPollAt + minGapMs;
      if (soonest < dueAt) scheduleAt(soonest);
    });
    scheduleAt(lastPollAt + steadyGapMs);
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  }, [controller, fps, steadyFps]);

  return view;
}
