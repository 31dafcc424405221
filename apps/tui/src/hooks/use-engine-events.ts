import type { EngineController, EngineEvent } from '@ddm/core';
import { useEffect, useState } from 'react';
import { MAX_FPS } from './use-engine-snapshot.ts';

/** Events kept for the log and the why line. */
export const DEFAULT_EVENT_LIMIT = 200;

/**
 * Subscribes to the engine's events and keeps the last `limit`, oldest first. Events arriving
 * within one frame are applied together, so a burst costs one render.
 */
export function useEngineEvents(controller: EngineController, limit = DEFAULT_EVENT_LIMIT): readonly EngineEvent[] {
  const [events, setEvents] = useState<readonly EngineEvent[]>([]);

  useEffect(() => {
    let pending: EngineEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = (): void => {
      timer = null;
      const batch = pending;
      pending = [];
      setEvents((previous) => [...previous, ...batch].slice(-limit));
    };
    const unsubscribe = controller.subscribe((event) => {
      pending.push(event);
      timer ??= setTimeout(flush, 1000 / MAX_FPS);
    });
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  }, [controller, limit]);

  return events;
}
