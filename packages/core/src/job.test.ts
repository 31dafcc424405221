import { describe, expect, test } from 'bun:test';
import { DdmError } from './errors.ts';
import {
  ACTIVE_STATES,
  assertControlApplies,
  assertTransition,
  canCancel,
  canPause,
  canResume,
  canTransition,
  controlVerdict,
  TRANSITIONS,
} from './job.ts';
import type { JobState } from './types.ts';

describe('job state machine', () => {
  test('completed is final', () => {
    expect(TRANSITIONS.completed).toEqual([]);
  });
  test('a paused job resumes through the queue, never straight to downloading', () => {
    expect(canTransition('paused', 'queued')).toBe(true);
    expect(canTransition('paused', 'downloading')).toBe(false);
  });
  test('an illegal move throws ERR_ILLEGAL_TRANSITION', () => {
    try {
      assertTransition(7, 'completed', 'downloading');
      throw new Error('expected a throw');
    } catch (error) {
      expect(error).toBeInstanceOf(DdmError);
      expect((error as DdmError).code).toBe('ERR_ILLEGAL_TRANSITION');
      expect((error as DdmError).message).toBe('Job 7 cannot go from completed to downloading');
    }
  });
});

describe('job rules derive from the transition table', () => {
  const states = Object.keys(TRANSITIONS) as JobState[];

  test('pause, resume and cancel apply exactly where the table allows the move', () => {
    for (const state of states) {
      expect(canPause(state)).toBe(TRANSITIONS[state].includes('paused'));
      expect(canCancel(state)).toBe(TRANSITIONS[state].includes('canceled'));
      expect(canResume(state)).toBe(!ACTIVE_STATES.includes(state) && TRANSITIONS[state].includes('queued'));
    }
    expect(states.filter(canPause)).toEqual(['queued', 'probing', 'downloading', 'verifying']);
    expect(states.filter(canResume)).toEqual(['paused', 'failed', 'canceled']);
    expect(states.filter(canCancel)).toEqual(['queued', 'probing', 'downloading', 'verifying', 'paused', 'failed']);
  });

  test('controlVerdict: apply where the rule allows it, else already or refused with the state named', () => {
    const table = Object.fromEntries(
      states.map((state) => [
        state,
        (['pause', 'resume', 'cancel'] as const).map((kind) => {
          const verdict = controlVerdict(kind, 4, state);
          return verdict.kind === 'apply' ? 'apply' : `${verdict.kind}: ${verdict.message}`;
        }),
      ]),
    );
    expect(table).toEqual({
      queued: ['apply', 'already: Job 4 is already queued (ddm run downloads it)', 'apply'],
      probing: ['apply', 'already: Job 4 is already probing', 'apply'],
      downloading: ['apply', 'already: Job 4 is already downloading', 'apply'],
      verifying: ['apply', 'already: Job 4 is already verifying', 'apply'],
      paused: ['already: Job 4 is already paused', 'apply', 'apply'],
      failed: ['refused: Job 4 has failed: nothing to pause', 'apply', 'apply'],
      canceled: ['refused: Job 4 is canceled: nothing to pause', 'apply', 'already: Job 4 is already canceled'],
      completed: [
        'refused: Job 4 is already complete: nothing to pause',
        'refused: Job 4 is already complete: nothing to resume',
        'refused: Job 4 is already complete: nothing to cancel (ddm remove 4 forgets it)',
      ],
    });
  });

  test('assertControlApplies throws ERR_ILLEGAL_TRANSITION for a refused verb only', () => {
    expect(() => assertControlApplies('pause', 2, 'completed')).toThrow(
      expect.objectContaining({
        code: 'ERR_ILLEGAL_TRANSITION',
        message: 'Job 2 is already complete: nothing to pause',
      }),
    );
    expect(() => assertControlApplies('pause', 2, 'paused')).not.toThrow();
    expect(() => assertControlApplies('move', 2, 'completed')).not.toThrow();
  });
});
