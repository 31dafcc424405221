/**
 * `@ddm/tui`: the full-screen terminal UI. Loaded by the CLI's `tui` command with
 * `await import('@ddm/tui')` only, so other commands never load Ink or React.
 */
import type { EngineController } from '@ddm/core';
import { render } from 'ink';
import { createElement } from 'react';
import { App } from './app.tsx';
import { MAX_FPS } from './hooks/use-engine-snapshot.ts';
import { isColorEnabled } from './lib/theme.ts';

export interface RunTuiOptions {
  /** Shown at the left of the header. @default 'ddm' */
  title?: string;
  /** @default process.stdin */
  stdin?: NodeJS.ReadStream;
  /** @default process.stdout */
  stdout?: NodeJS.WriteStream;
  /**
   * Runs after the UI is gone and the terminal restored, before `runTui` resolves: the place to
   * checkpoint an in-process engine, or to detach from an attached one (and leave it running).
   * If it throws, `runTui` rejects with that error.
   */
  onQuit?: () => Promise<void> | void;
  /** Shown in the header; the snapshot's own `isAttached` also turns it on. */
  isAttached?: boolean;
  /** The attached engine's pid: the header's marker names it (`[attached to engine pid 4242]`). */
  attachedPid?: number;
  /** Colours; @default true unless `NO_COLOR` is set. */
  isColor?: boolean;
  /**
   * The in-process engine's `run()`. If it rejects while the UI is up (the engine could not take
   * its lock, or died), the UI ends and `runTui` rejects with that error once the terminal is
   * restored, instead of showing a snapshot that no longer moves. If it resolves, the engine
   * stopped, and the UI ends as if the user quit.
   */
  engineRun?: Promise<unknown>;
}

/** Enter the alternate screen, hide the cursor. */
export const ENTER_SCREEN = '\u001B[?1049h\u001B[?25l';
/** Show the cursor, leave the alternate screen. */
export const LEAVE_SCREEN = '\u001B[?25h\u001B[?1049l';

/** How long to wait for Ink to flush its last frame on the way out. */
const UNMOUNT_TIMEOUT_MS = 1000;

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** Why the UI ended, other than the user quitting. */
type Ending = { readonly kind: 'quit' } | { readonly kind: 'crash'; readonly error: unknown };

/**
 * Runs the TUI on `controller` until the user quits (q, Ctrl+C) or the process gets SIGTERM,
 * SIGHUP or SIGINT. The terminal is restored (alternate screen left, cursor shown, raw mode off)
 * on every way out, crashes included: an uncaught exception, an unhandled rejection or a render
 * error unmounts the UI, restores the terminal and rejects with the error.
 *
 * The engine is not stopped here; `onQuit` decides (checkpoint an in-process engine, detach
 * from an attached one). With `engineRun`, the UI also ends when the engine does.
 */
export async function runTui(controller: EngineController, options: RunTuiOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const isTerminal = stdout.isTTY === true;
  const isColor = options.isColor ?? isColorEnabled(process.env);

  let isRestored = false;
  const restoreTerminal = (): void => {
    if (isRestored) return;
    isRestored = true;
    try {
      if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') stdin.setRawMode(false);
    } catch {
      // The stream may be gone already; the escape codes below still matter.
    }
    if (isTerminal) {
      try {
        stdout.write(LEAVE_SCREEN);
      } catch {
        // Same: best effort on the way out.
      }
    }
  };

  const { promise: ended, resolve: end } = Promise.withResolvers<Ending>();
  const quit = (): void => end({ kind: 'quit' });
  const crash = (error: unknown): void => end({ kind: 'crash', error });
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  for (const signal of signals) process.on(signal, quit);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // Last resort if something calls process.exit() while the UI is up.
  process.on('exit', restoreTerminal);
  // Handled here, so an engine that fails is this UI's crash, not an unhandled rejection.
  options.engineRun?.then(quit, crash);
  const removeHandlers = (): void => {
    for (const signal of signals) process.off(signal, quit);
    process.off('uncaughtException', crash);
    process.off('unhandledRejection', crash);
    process.off('exit', restoreTerminal);
  };

  if (isTerminal) stdout.write(ENTER_SCREEN);
  let ending: Ending;
  try {
    const app = createElement(App, {
      controller,
      onQuit: quit,
      title: options.title ?? 'ddm',
      isAttached: options.isAttached === true,
      attachedPid: options.attachedPid ?? null,
      isColor,
    });
    const instance = render(app, {
      stdout,
      stdin,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: MAX_FPS,
      // Rewrite only the lines that changed: a progress frame touches a few of them.
      incrementalRendering: true,
      // Ink turns non-interactive when CI is set; a full-screen UI on a terminal must not.
      interactive: isTerminal,
    });
    instance.waitUntilExit().then(quit, crash);
    ending = await ended;
    instance.unmount();
    // Ink settles once its last write is flushed; a stuck stream must not keep us from leaving.
    await Promise.race([instance.waitUntilExit().catch(() => undefined), delay(UNMOUNT_TIMEOUT_MS)]);
  } catch (error) {
    ending = { kind: 'crash', error };
  } finally {
    restoreTerminal();
    removeHandlers();
  }
  try {
    await options.onQuit?.();
  } catch (error) {
    // A crash is the better report than what failed while cleaning up after it.
    if (ending.kind !== 'crash') throw error;
  }
  if (ending.kind === 'crash') throw ending.error;
}
