/**
 * Renders an Ink tree into fake streams of a given terminal size, like ink-testing-library's
 * `render` (whose stdout is fixed at 100 columns and has no rows) but resizable. Frames are
 * returned without ANSI codes unless asked for.
 */
import { EventEmitter } from 'node:events';
import { render } from 'ink';
import type { ReactElement } from 'react';

/** A terminal-sized output stream that keeps every write. Not a TTY unless `isTTY` is set. */
export class FakeStdout extends EventEmitter {
  readonly frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
    public isTTY = false,
  ) {
    super();
  }
  /** Everything written so far. */
  get output(): string {
    return this.frames.join('');
  }
  write = (frame: string, callback?: (error?: Error | null) => void): boolean => {
    this.frames.push(frame);
    // Ink waits for a write callback before it calls the app unmounted.
    if (typeof callback === 'function') queueMicrotask(() => callback());
    return true;
  };
}

/** Raw-mode capable to Ink (isTTY + setRawMode), which `useInput` needs; records raw mode. */
export class FakeStdin extends EventEmitter {
  isTTY = true;
  readonly rawModes: boolean[] = [];
  private pending: string | null = null;
  write(data: string): void {
    this.pending = data;
    this.emit('readable');
  }
  read = (): string | null => {
    const data = this.pending;
    this.pending = null;
    return data;
  };
  setEncoding(): void {}
  setRawMode(isEnabled: boolean): void {
    this.rawModes.push(isEnabled);
  }
  /** True once Ink listens for keys. */
  get isListening(): boolean {
    return this.listenerCount('readable') > 0;
  }
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface SizedRender {
  /** The latest frame without ANSI codes. */
  lastFrame(): string;
  /** The latest frame as written. */
  lastRawFrame(): string;
  frames: readonly string[];
  /** Types keys once Ink listens to stdin. */
  press(...keys: string[]): Promise<void>;
  resize(columns: number, rows: number): void;
  /** Resolves when `predicate(lastFrame())` holds; rejects after `timeoutMs` with the frame. */
  waitForFrame(predicate: (frame: string) => boolean, timeoutMs?: number): Promise<string>;
  unmount(): void;
}

/** Polls `condition` every few ms until it holds; a condition, never a fixed sleep. */
export async function waitFor(condition: () => boolean, describe: () => string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function renderSized(
  tree: ReactElement,
  size: { columns: number; rows: number } = { columns: 80, rows: 24 },
): SizedRender {
  const stdout = new FakeStdout(size.columns, size.rows);
  const stdin = new FakeStdin();
  const instance = render(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: new FakeStdout(size.columns, size.rows) as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const lastRawFrame = (): string => stdout.frames.at(-1) ?? '';
  const lastFrame = (): string => Bun.stripANSI(lastRawFrame());
  return {
    lastFrame,
    lastRawFrame,
    frames: stdout.frames,
    async press(...keys) {
      await waitFor(
        () => stdin.isListening,
        () => 'Ink to listen to stdin',
      );
      for (const key of keys) stdin.write(key);
    },
    resize(columns, rows) {
      stdout.columns = columns;
      stdout.rows = rows;
      stdout.emit('resize');
    },
    async waitForFrame(predicate, timeoutMs = 2000) {
      await waitFor(
        () => predicate(lastFrame()),
        () => `a frame; last frame:\n${lastFrame()}`,
        timeoutMs,
      );
      return lastFrame();
    },
    unmount() {
      instance.unmount();
    },
  };
}

/** Key sequences as a terminal sends them. */
export const KEYS = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  backspace: '\u007F',
  ctrlC: '\u0003',
} as const;
