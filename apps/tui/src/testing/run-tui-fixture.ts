/**
 * Runs `runTui` on fake streams, presses q once it listens, and prints what the UI wrote.
 * Spawned by index.test.ts with different NO_COLOR / FORCE_COLOR settings, because the colour
 * level of Ink's chalk is fixed when the process starts.
 */
import { runTui } from '../index.ts';
import { FakeEngine, makeJob, makeSegment, makeSnapshot } from './fake-engine.ts';
import { FakeStdin, FakeStdout, waitFor } from './render-sized.ts';

const engine = new FakeEngine(
  makeSnapshot([
    makeJob({
      id: 1,
      fileName: 'colour.bin',
      state: 'failed',
      errorCode: 'ERR_HTTP_STATUS',
      errorMessage: 'Server answered 503',
      segments: [makeSegment({ index: 0, start: 0, end: 1000, writtenBytes: 400, status: 'retrying' })],
    }),
  ]),
);
const stdout = new FakeStdout(80, 24);
const stdin = new FakeStdin();
const done = runTui(engine, {
  stdout: stdout as unknown as NodeJS.WriteStream,
  stdin: stdin as unknown as NodeJS.ReadStream,
});
await waitFor(
  () => stdin.isListening,
  () => 'Ink to listen to stdin',
);
stdin.write('q');
await done;
process.stdout.write(stdout.output);
