import { describe, expect, test } from 'bun:test';
import { makeJob } from '../testing/fake-engine.ts';
import { INITIAL_UI_STATE, type KeyPress, reduceKey, selectedJob, type UiState } from './key-map.ts';

const jobs = [
  makeJob({ id: 10, state: 'downloading', maxConnections: 4 }),
  makeJob({ id: 11, state: 'failed', maxConnections: 1 }),
  makeJob({ id: 12, state: 'completed' }),
];

/** Feeds presses one by one and collects the commands. */
function run(presses: readonly (KeyPress | string)[], state: UiState = INITIAL_UI_STATE, list = jobs) {
  const commands: unknown[] = [];
  let current = state;
  for (const press of presses) {
    const result = reduceKey(current, typeof press === 'string' ? { input: press } : press, list);
    current = result.state;
    if (result.command !== null) commands.push(result.command);
  }
  return { state: current, commands };
}

describe('reduceKey', () => {
  test('p pauses active jobs, resumes paused or failed ones, explains otherwise', () => {
    expect(run(['p']).commands).toEqual([{ type: 'pause', jobId: 10 }]);
    expect(run(['j', 'p']).commands).toEqual([{ type: 'resume', jobId: 11 }]);
    const completed = run(['G', 'p']);
    expect(completed.commands).toEqual([]);
    expect(completed.state.status).toEqual({ tone: 'error', text: '#12 is completed: nothing to pause or resume' });
  });

  test('selection follows the job id when the list reorders, and the index when it goes away', () => {
    const { state } = run(['j']);
    expect(selectedJob(jobs, state)?.id).toBe(11);
    expect(selectedJob([...jobs].reverse(), state)?.id).toBe(11);
    expect(selectedJob([jobs[0]!, jobs[2]!], state)?.id).toBe(12);
    expect(selectedJob([], state)).toBeNull();
  });

  test('until the user picks a job, the selection follows the first active one', () => {
    const list = [
      makeJob({ id: 1, state: 'completed' }),
      makeJob({ id: 2, state: 'queued' }),
      makeJob({ id: 3, state: 'downloading' }),
    ];
    expect(selectedJob(list, INITIAL_UI_STATE)?.id).toBe(3);
    // When it finishes, the next active job is followed.
    const later = [list[0]!, makeJob({ id: 2, state: 'downloading' }), makeJob({ id: 3, state: 'completed' })];
    expect(selectedJob(later, INITIAL_UI_STATE)?.id).toBe(2);
    // Nothing active: the first row. Moving picks a job, which then stays selected.
    expect(selectedJob([list[0]!], INITIAL_UI_STATE)?.id).toBe(1);
    const picked = run(['k'], INITIAL_UI_STATE, list).state;
    expect(selectedJob(list, picked)?.id).toBe(2);
    expect(selectedJob(later, picked)?.id).toBe(2);
    // p acts on the followed job.
    expect(run(['p'], INITIAL_UI_STATE, list).commands).toEqual([{ type: 'pause', jobId: 3 }]);
  });

  test('selection stops at both ends', () => {
    expect(selectedJob(jobs, run(['k', 'k']).state)?.id).toBe(10);
    expect(selectedJob(jobs, run(['j', 'j', 'j', 'j']).state)?.id).toBe(12);
  });

  test('confirm prompts ignore unrelated keys and answer only to y / D / n / esc', () => {
    const asked = run(['c', 'x', 'p']);
    expect(asked.state.mode).toEqual({ kind: 'confirm-cancel', jobId: 10 });
    expect(asked.commands).toEqual([]);
    expect(run(['c', { input: '', escape: true }]).state.mode).toEqual({ kind: 'normal' });
    expect(run(['d', 'D']).commands).toEqual([{ type: 'remove', jobId: 10, deleteFiles: true }]);
    expect(run(['d', 'n']).commands).toEqual([]);
  });

  test('the prompt keeps the job it asked about even if the selection would move', () => {
    const { commands } = run(['c', 'y'], INITIAL_UI_STATE, jobs);
    expect(commands).toEqual([{ type: 'cancel', jobId: 10 }]);
  });

  test('input lines take typed and pasted text, backspace, ctrl+u, and drop control characters', () => {
    const typed = run(['a', 'http://h/a', { input: '', backspace: true }, 'b\u0007c', { input: '', return: true }]);
    expect(typed.commands).toEqual([{ type: 'add', url: 'http://h/bc' }]);
    const cleared = run(['a', 'junk', { input: 'u', ctrl: true }, 'http://h/x', { input: '', return: true }]);
    expect(cleared.commands).toEqual([{ type: 'add', url: 'http://h/x' }]);
    expect(run(['a', '   ', { input: '', return: true }]).commands).toEqual([]);
  });

  test('keys typed into an input line are text, not commands', () => {
    const { commands, state } = run(['a', 'q', 'p', 'c', 'd', '+']);
    expect(commands).toEqual([]);
    expect(state.mode).toEqual({ kind: 'input-url', value: 'qpcd+' });
  });

  test('limits parse K/M/G as powers of 1024; off, 0 and empty remove the limit', () => {
    const limit = (text: string) => run(['l', text, { input: '', return: true }]).commands;
    expect(limit('500k')).toEqual([{ type: 'set-limit', jobId: 10, bytesPerSec: 512_000 }]);
    expect(limit('1.5M/s')).toEqual([{ type: 'set-limit', jobId: 10, bytesPerSec: 1_572_864 }]);
    expect(limit('off')).toEqual([{ type: 'set-limit', jobId: 10, bytesPerSec: null }]);
    expect(limit('0')).toEqual([{ type: 'set-limit', jobId: 10, bytesPerSec: null }]);
    expect(run(['L', '1G', { input: '', return: true }]).commands).toEqual([
      { type: 'set-limit', jobId: null, bytesPerSec: 1024 ** 3 },
    ]);
  });

  test('Ctrl+C quits from every mode, q only where it is not text', () => {
    for (const opener of ['a', 'l', 'c', 'd', '?']) {
      expect(run([opener, { input: 'c', ctrl: true }]).commands).toEqual([{ type: 'quit' }]);
    }
    expect(run(['?', 'q']).commands).toEqual([{ type: 'quit' }]);
    expect(run(['l', 'q']).commands).toEqual([]);
  });

  test('- never goes below one connection', () => {
    const { commands, state } = run(['j', '-']);
    expect(commands).toEqual([]);
    expect(state.status?.tone).toBe('error');
    expect(run(['j', '+']).commands).toEqual([{ type: 'set-connections', jobId: 11, connections: 2 }]);
  });
});
