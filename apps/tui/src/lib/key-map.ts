/**
 * Key handling as a pure reducer: (UI state, key press, jobs) -> (UI state, command). The hook
 * in `hooks/use-key-bindings.ts` feeds it Ink's input and runs the command on the controller.
 */
import type { JobSnapshot } from '@ddm/core';
import { parseLimit } from './format.ts';

export type Mode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'help' }
  | { readonly kind: 'confirm-cancel'; readonly jobId: number }
  | { readonly kind: 'confirm-remove'; readonly jobId: number }
  | { readonly kind: 'input-url'; readonly value: string }
  /** `jobId` null: the global limit. */
  | { readonly kind: 'input-limit'; readonly jobId: number | null; readonly value: string };

export interface StatusMessage {
  readonly tone: 'info' | 'error';
  readonly text: string;
}

export interface UiState {
  readonly mode: Mode;
  /**
   * The job the user selected; when it disappears, the row at `selectedIndex` is selected.
   * `null` until the user picks one: the selection then follows the first active job.
   */
  readonly selectedJobId: number | null;
  readonly selectedIndex: number;
  readonly status: StatusMessage | null;
}

export const INITIAL_UI_STATE: UiState = {
  mode: { kind: 'normal' },
  selectedJobId: null,
  selectedIndex: 0,
  status: null,
};

/** What the UI asks of the engine (or of `runTui`, for `quit`). */
export type Command =
  | { readonly type: 'quit' }
  | { readonly type: 'pause'; readonly jobId: number }
  | { readonly type: 'resume'; readonly jobId: number }
  | { readonly type: 'cancel'; readonly jobId: number }
  | { readonly type: 'remove'; readonly jobId: number; readonly deleteFiles: boolean }
  | { readonly type: 'add'; readonly url: string }
  | { readonly type: 'set-connections'; readonly jobId: number; readonly connections: number }
  | { readonly type: 'set-limit'; readonly jobId: number | null; readonly bytesPerSec: number | null };

/** The parts of Ink's `Key` the reducer reads. */
export interface KeyPress {
  readonly input: string;
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly tab?: boolean;
}

export interface KeyResult {
  readonly state: UiState;
  readonly command: Command | null;
}

/** States in which `p` pauses; it resumes paused, failed and canceled jobs; completed ones stay. */
const PAUSABLE: ReadonlySet<JobSnapshot['state']> = new Set(['queued', 'probing', 'downloading', 'verifying']);
const RESUMABLE: ReadonlySet<JobSnapshot['state']> = new Set(['paused', 'failed', 'canceled']);

/** States of a job that is moving: the selection follows the first of them until the user picks one. */
const ACTIVE: ReadonlySet<JobSnapshot['state']> = new Set(['probing', 'downloading', 'verifying']);

/**
 * The selected job: by id while it exists, else the row at the remembered index. Before the user
 * picks a job, the first active one (so a finished job at the top does not hide the one moving).
 */
export function selectedJob(jobs: readonly JobSnapshot[], state: UiState): JobSnapshot | null {
  if (jobs.length === 0) return null;
  if (state.selectedJobId === null) {
    const active = jobs.find((job) => ACTIVE.has(job.state));
    if (active !== undefined) return active;
  }
  const byId = state.selectedJobId === null ? undefined : jobs.find((job) => job.id === state.selectedJobId);
  return byId ?? jobs[Math.min(Math.max(0, state.selectedIndex), jobs.length - 1)] ?? null;
}

function selectedPosition(jobs: readonly JobSnapshot[], state: UiState): number {
  const job = selectedJob(jobs, state);
  return job === null ? 0 : jobs.indexOf(job);
}

const info = (text: string): StatusMessage => ({ tone: 'info', text });
const error = (text: string): StatusMessage => ({ tone: 'error', text });
const NO_JOB = error('no job selected: press a to add a URL');

/** Printable characters of a key press (typed or pasted), without control characters. */
function printable(press: KeyPress): string {
  if (press.ctrl || press.meta) return '';
  return press.input.replace(/[\u0000-\u001f\u007f]/g, '');
}

/** Ctrl+C quits from every mode: raw mode turns it into a key press instead of SIGINT. */
function isCtrlC(press: KeyPress): boolean {
  return press.ctrl === true && press.input === 'c';
}

/**
 * Applies one key press. Never throws; problems become an error `status`.
 *
 * Normal mode: ↑/↓ or k/j select; p pause/resume; c cancel (confirm); d remove (confirm, `D`
 * deletes files); a add URL (input); +/- connections; l job limit, L global limit (input);
 * ? help; q or Ctrl+C quit.
 */
export function reduceKey(state: UiState, press: KeyPress, jobs: readonly JobSnapshot[]): KeyResult {
  if (isCtrlC(press)) return { state, command: { type: 'quit' } };
  const mode = state.mode;
  const toNormal = (status: StatusMessage | null = null): UiState => ({ ...state, mode: { kind: 'normal' }, status });
  switch (mode.kind) {
    case 'help':
      if (press.input === 'q') return { state, command: { type: 'quit' } };
      if (press.input === '?' || press.escape || press.return) return { state: toNormal(), command: null };
      return { state, command: null };
    case 'confirm-cancel':
      if (press.input === 'y' || press.input === 'Y') {
        return { state: toNormal(info(`canceling #${mode.jobId}`)), command: { type: 'cancel', jobId: mode.jobId } };
      }
      if (press.input === 'n' || press.input === 'N' || press.input === 'q' || press.escape) {
        return { state: toNormal(), command: null };
      }
      return { state, command: null };
    case 'confirm-remove':
      if (press.input === 'y' || press.input === 'D') {
        const deleteFiles = press.input === 'D';
        const text = deleteFiles ? `removing #${mode.jobId} and its files` : `removing #${mode.jobId}`;
        return { state: toNormal(info(text)), command: { type: 'remove', jobId: mode.jobId, deleteFiles } };
      }
      if (press.input === 'n' || press.input === 'N' || press.input === 'q' || press.escape) {
        return { state: toNormal(), command: null };
      }
      return { state, command: null };
    case 'input-url':
    case 'input-limit':
      return reduceInput(state, mode, press);
    case 'normal':
      return reduceNormal(state, press, jobs);
    default: {
      const unhandled: never = mode;
      throw new Error(`Unhandled mode: ${JSON.stringify(unhandled)}`);
    }
  }
}

function reduceInput(
  state: UiState,
  mode: Extract<Mode, { kind: 'input-url' | 'input-limit' }>,
  press: KeyPress,
): KeyResult {
  const toNormal = (status: StatusMessage | null, command: Command | null): KeyResult => ({
    state: { ...state, mode: { kind: 'normal' }, status },
    command,
  });
  if (press.escape) return toNormal(null, null);
  if (press.backspace || press.delete) {
    return { state: { ...state, mode: { ...mode, value: mode.value.slice(0, -1) } }, command: null };
  }
  if (press.ctrl && press.input === 'u') {
    return { state: { ...state, mode: { ...mode, value: '' } }, command: null };
  }
  // A paste arrives as one chunk: "URL\r" is the text and then Enter, not text alone.
  const lineEnd = press.return || press.ctrl || press.meta ? -1 : press.input.search(/[\r\n]/);
  if (lineEnd >= 0) {
    const pasted = { ...mode, value: mode.value + printable({ input: press.input.slice(0, lineEnd) }) };
    return reduceInput({ ...state, mode: pasted }, pasted, { input: '\r', return: true });
  }
  if (press.return) {
    const value = mode.value.trim();
    if (mode.kind === 'input-url') {
      return value === '' ? toNormal(null, null) : toNormal(info(`adding ${value}`), { type: 'add', url: value });
    }
    const parsed = parseLimit(value);
    if (!parsed.ok) return { state: { ...state, status: error(parsed.message) }, command: null };
    return toNormal(null, { type: 'set-limit', jobId: mode.jobId, bytesPerSec: parsed.bytesPerSec });
  }
  const typed = printable(press);
  if (typed === '') return { state, command: null };
  return { state: { ...state, mode: { ...mode, value: mode.value + typed }, status: null }, command: null };
}

function reduceNormal(state: UiState, press: KeyPress, jobs: readonly JobSnapshot[]): KeyResult {
  const job = selectedJob(jobs, state);
  const none: KeyResult = { state, command: null };
  const select = (index: number): KeyResult => {
    if (jobs.length === 0) return none;
    const clamped = Math.min(Math.max(0, index), jobs.length - 1);
    return {
      state: { ...state, selectedIndex: clamped, selectedJobId: jobs[clamped]?.id ?? null, status: null },
      command: null,
    };
  };
  const withStatus = (status: StatusMessage, command: Command | null = null): KeyResult => ({
    state: { ...state, status },
    command,
  });
  const position = selectedPosition(jobs, state);

  if (press.upArrow || press.input === 'k') return select(position - 1);
  if (press.downArrow || press.input === 'j') return select(position + 1);
  if (press.pageUp) return select(position - 10);
  if (press.pageDown) return select(position + 10);
  if (press.home || press.input === 'g') return select(0);
  if (press.end || press.input === 'G') return select(jobs.length - 1);

  switch (press.input) {
    case 'q':
      return { state, command: { type: 'quit' } };
    case '?':
      return { state: { ...state, mode: { kind: 'help' }, status: null }, command: null };
    case 'a':
      return { state: { ...state, mode: { kind: 'input-url', value: '' }, status: null }, command: null };
    case 'L':
      return {
        state: { ...state, mode: { kind: 'input-limit', jobId: null, value: '' }, status: null },
        command: null,
      };
    default:
      break;
  }

  if (!['p', ' ', 'c', 'd', '+', '=', '-', '_', 'l'].includes(press.input)) return none;
  if (job === null) return withStatus(NO_JOB);
  const pinned: UiState = { ...state, selectedJobId: job.id, selectedIndex: position, status: null };

  switch (press.input) {
    case 'p':
    case ' ':
      if (PAUSABLE.has(job.state))
        return { state: { ...pinned, status: info(`pausing #${job.id}`) }, command: { type: 'pause', jobId: job.id } };
      if (RESUMABLE.has(job.state))
        return {
          state: { ...pinned, status: info(`resuming #${job.id}`) },
          command: { type: 'resume', jobId: job.id },
        };
      return withStatus(error(`#${job.id} is ${job.state}: nothing to pause or resume`));
    case 'c':
      return { state: { ...pinned, mode: { kind: 'confirm-cancel', jobId: job.id } }, command: null };
    case 'd':
      return { state: { ...pinned, mode: { kind: 'confirm-remove', jobId: job.id } }, command: null };
    case '+':
    case '=':
      return {
        state: { ...pinned, status: info(`#${job.id} connections → ${job.maxConnections + 1}`) },
        command: { type: 'set-connections', jobId: job.id, connections: job.maxConnections + 1 },
      };
    case '-':
    case '_':
      if (job.maxConnections <= 1) return withStatus(error(`#${job.id} already uses a single connection`));
      return {
        state: { ...pinned, status: info(`#${job.id} connections → ${job.maxConnections - 1}`) },
        command: { type: 'set-connections', jobId: job.id, connections: job.maxConnections - 1 },
      };
    case 'l':
      return { state: { ...pinned, mode: { kind: 'input-limit', jobId: job.id, value: '' } }, command: null };
    default:
      return none;
  }
}
