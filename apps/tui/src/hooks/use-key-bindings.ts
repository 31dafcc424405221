import type { EngineController, JobSnapshot } from '@ddm/core';
import { useInput, useStdin } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { executeCommand } from '../lib/commands.ts';
import { INITIAL_UI_STATE, reduceKey, type UiState } from '../lib/key-map.ts';

export interface UseKeyBindingsOptions {
  readonly controller: EngineController;
  readonly jobs: readonly JobSnapshot[];
  /** Called for q and Ctrl+C. */
  readonly onQuit: () => void;
}

/**
 * Feeds key presses to `reduceKey` and runs the resulting command on the controller; the outcome
 * (or error) of a call lands in `status`. Inactive when stdin cannot be put in raw mode (piped).
 */
export function useKeyBindings({ controller, jobs, onQuit }: UseKeyBindingsOptions): UiState {
  const [ui, setUi] = useState<UiState>(INITIAL_UI_STATE);
  // Refs, not state, feed the reducer: several keys can arrive before React re-renders.
  const uiRef = useRef(ui);
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;
  const isMountedRef = useRef(true);
  useEffect(() => {
    isMountedRef.current = true;
    return () => {
      isMountedRef.current = false;
    };
  }, []);
  const { isRawModeSupported } = useStdin();

  const update = (next: UiState): void => {
    uiRef.current = next;
    setUi(next);
  };

  useInput(
    (input, key) => {
      const { state, command } = reduceKey(uiRef.current, { ...key, input }, jobsRef.current);
      if (state !== uiRef.current) update(state);
      if (command === null) return;
      if (command.type === 'quit') {
        onQuit();
        return;
      }
      void executeCommand(controller, command).then((status) => {
        if (isMountedRef.current) update({ ...uiRef.current, status });
      });
    },
    { isActive: isRawModeSupported },
  );

  return ui;
}
