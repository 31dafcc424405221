import { describe, expect, test } from 'bun:test';
import { DdmError } from './errors.ts';
import { assertTransition, canTransition, TRANSITIONS } from './job.ts';

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
