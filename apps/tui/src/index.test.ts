import { describe, expect, test } from 'bun:test';
import { ENTER_SCREEN, LEAVE_SCREEN, runTui } from './index.ts';
import { FakeEngine, makeJob, makeSnapshot } from './testing/fake-engine.ts';
import { FakeStdin, FakeStdout, waitFor } from './testing/render-sized.ts';

const HANDLED_EVENTS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'uncaughtException', 'unhandledRejection', 'exit'] as const;
const listenerCounts = (): number[] => HANDLED_EVENTS.map((event) => process.listenerCount(event));

interface Started {
  readonly engine: FakeEngine;
  readonly stdout: FakeStdout;
  readonly stdin: FakeStdin;
  readonly done: Promise<void>;
  readonly quitCalls: string[];
  /** Process listener counts while the TUI runs. */
  readonly listenersWhileRunning: number[];
}

async function startTui(
  engine = new FakeEngine(makeSnapshot([makeJob({ id: 1 })])),
  engineRun?: Promise<unknown>,
): Promise<Started> {
  // A TTY stdout: runTui switches to the alternate screen only on a terminal.
  const stdout = new FakeStdout(80, 24, true);
  const stdin = new FakeStdin();
  const quitCalls: string[] = [];
  const done = runTui(engine, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    isColor: false,
    ...(engineRun === undefined ? {} : { engineRun }),
    onQuit: () => {
      // The terminal is already restored when onQuit runs (it may take a while to checkpoint).
      quitCalls.push(stdout.output.endsWith(LEAVE_SCREEN) ? 'after-restore' : 'before-restore');
    },
  });
  await waitFor(
    () => stdin.isListening,
    () => 'the TUI to listen for keys',
  );
  return { engine, stdout, stdin, done, quitCalls, listenersWhileRunning: listenerCounts() };
}

/** Checks the terminal is back and runTui removed exactly the one handler per event it added. */
function expectRestored({ stdout, stdin, quitCalls, listenersWhileRunning }: Started): void {
  expect(listenerCounts().map((count) => count + 1)).toEqual(listenersWhileRunning);
  expect(stdout.output.startsWith(ENTER_SCREEN)).toBe(true);
  expect(stdout.output.endsWith(LEAVE_SCREEN)).toBe(true);
  expect(stdin.rawModes.at(-1)).toBe(false);
  expect(quitCalls).toEqual(['after-restore']);
}

describe('runTui', () => {
  test('enters the alternate screen, and q leaves it and resolves', async () => {
    const started = await startTui();
    await waitFor(
      () => started.stdout.output.includes('file-1.bin'),
      () => 'the job list',
    );
    started.stdin.write('q');
    await started.done;
    expectRestored(started);
    expect(started.engine.calls).toEqual([]);
    expect(started.engine.listenerCount).toBe(0);
  });

  test('Ctrl+C quits like q', async () => {
    const started = await startTui();
    started.stdin.write('\u0003');
    await started.done;
    expectRestored(started);
  });

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    test(`${signal} restores the terminal and resolves`, async () => {
      const started = await startTui();
      process.emit(signal, signal);
      await started.done;
      expectRestored(started);
    });
  }

  test('an uncaught exception restores the terminal and rejects with it', async () => {
    const started = await startTui();
    const boom = new Error('boom');
    process.emit('uncaughtException', boom, 'uncaughtException');
    await expect(started.done).rejects.toBe(boom);
    expectRestored(started);
  });

  test('an unhandled rejection restores the terminal and rejects with it', async () => {
    const started = await startTui();
    const boom = new Error('async boom');
    process.emit('unhandledRejection', boom, Promise.resolve());
    await expect(started.done).rejects.toBe(boom);
    expectRestored(started);
  });

  test('a crash while rendering restores the terminal and rejects', async () => {
    const engine = new FakeEngine(makeSnapshot([makeJob({ id: 1 })]));
    const started = await startTui(engine);
    // A snapshot that breaks the contract makes a component throw during render.
    engine.setSnapshot(makeSnapshot([{ ...makeJob({ id: 1 }), segments: null as never, doneBytes: 5 }]));
    await expect(started.done).rejects.toBeInstanceOf(Error);
    expectRestored(started);
  });
});

describe('runTui with an in-process engine run', () => {
  test('an engine that fails ends the UI, restores the terminal and rejects with its error', async () => {
    const { promise: engineRun, reject } = Promise.withResolvers<void>();
    const started = await startTui(undefined, engineRun);
    const busy = Object.assign(new Error('Another ddm engine (pid 4242) is running jobs on this database'), {
      code: 'ERR_ENGINE_BUSY',
    });
    reject(busy);
    await expect(started.done).rejects.toBe(busy);
    expectRestored(started);
  });

  test('an engine that could not start at all never leaves the UI waiting', async () => {
    const failed = new Error('no such table: live');
    const engineRun = Promise.reject(failed);
    const started = await startTui(undefined, engineRun);
    await expect(started.done).rejects.toBe(failed);
    expectRestored(started);
  });

  test('an engine that stops ends the UI like q', async () => {
    const { promise: engineRun, resolve } = Promise.withResolvers<void>();
    const started = await startTui(undefined, engineRun);
    resolve();
    await started.done;
    expectRestored(started);
  });
});

describe('NO_COLOR', () => {
  async function runFixture(env: Record<string, string>): Promise<string> {
    const { NO_COLOR: _ignored, ...inherited } = process.env;
    const child = Bun.spawn(['bun', new URL('./testing/run-tui-fixture.ts', import.meta.url).pathname], {
      env: { ...inherited, FORCE_COLOR: '1', ...env },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [output, errors, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    expect({ exitCode, errors }).toEqual({ exitCode: 0, errors: '' });
    return output;
  }

  test('with colour forced on, the frame is styled', async () => {
    const output = await runFixture({});
    expect(output).toContain('colour.bin');
    expect(output).toContain('\u001B[');
  });

  test('NO_COLOR set: the same frame has no escape codes at all', async () => {
    const output = await runFixture({ NO_COLOR: '1' });
    expect(output).toContain('colour.bin');
    expect(output).toContain('ERR_HTTP_STATUS: Server answered 503');
    expect(output).not.toContain('\u001B');
  });
});
