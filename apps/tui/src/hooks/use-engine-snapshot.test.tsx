import { afterEach, describe, expect, test } from 'bun:test';
import type { EngineController } from '@ddm/core';
import { Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { FakeEngine, makeJob, makeSnapshot } from '../testing/fake-engine.ts';
import { waitFor } from '../testing/render-sized.ts';
import { MAX_FPS, STEADY_FPS, type UseEngineSnapshotOptions, useEngineSnapshot } from './use-engine-snapshot.ts';

afterEach(cleanup);

let renders = 0;
function Probe({ controller, options }: { controller: EngineController; options?: UseEngineSnapshotOptions }) {
  const view = useEngineSnapshot(controller, options);
  renders++;
  return <Text>{view.snapshot.jobs.map((job) => `${job.id}:${job.doneBytes}`).join(',') || 'none'}</Text>;
}

/** A snapshot that differs from the last one on every call, like a download in full flow. */
class BusyEngine extends FakeEngine {
  private doneBytes = 0;
  override snapshot() {
    super.snapshot();
    this.doneBytes += 1;
    return makeSnapshot([makeJob({ id: 1, doneBytes: this.doneBytes })], { at: 1_700_000_000_000 + this.doneBytes });
  }
}

const job = makeJob({ id: 1, doneBytes: 10 });

describe('useEngineSnapshot', () => {
  test(`while only counters move it polls ${STEADY_FPS} times a second, not at the frame cap`, async () => {
    const engine = new BusyEngine(makeSnapshot([job]));
    render(<Probe controller={engine} />);
    const startedAt = performance.now();
    const callsAtStart = engine.snapshotCalls;
    await waitFor(
      () => engine.snapshotCalls >= callsAtStart + 4,
      () => 'four polls',
    );
    const elapsedMs = performance.now() - startedAt;
    // Four polls at the steady rate take at least 3 whole intervals (timers never fire early).
    expect(elapsedMs).toBeGreaterThanOrEqual(3 * (1000 / STEADY_FPS) - 5);
  });

  test('an engine event brings the next poll forward to within one frame', async () => {
    const engine = new FakeEngine(makeSnapshot([job]));
    const { lastFrame } = render(<Probe controller={engine} options={{ steadyFps: 1 }} />);
    await waitFor(
      () => engine.listenerCount === 1,
      () => 'a subscription',
    );
    // Past one frame since mount, so the event may poll right away.
    await Bun.sleep(1000 / MAX_FPS);
    engine.setSnapshot(makeSnapshot([{ ...job, doneBytes: 20 }]));
    const emittedAt = performance.now();
    engine.emit({ type: 'job-state', jobId: 1, from: 'queued', to: 'downloading', reason: null, at: Date.now() });
    await waitFor(
      () => lastFrame() === '1:20',
      () => `the new snapshot, frame ${lastFrame()}`,
    );
    // The steady poll would have come a second after mount.
    expect(performance.now() - emittedAt).toBeLessThan(500);
  });

  test('a flood of events and a snapshot that changes on every call still redraw at most 15 times a second', async () => {
    const engine = new BusyEngine(makeSnapshot([job]));
    render(<Probe controller={engine} />);
    await waitFor(
      () => engine.listenerCount === 1,
      () => 'a subscription',
    );
    const rendersBefore = renders;
    const callsBefore = engine.snapshotCalls;
    const windowMs = 1000;
    const endAt = performance.now() + windowMs;
    // Like a chunk-level event storm: many events every few milliseconds for a second.
    while (performance.now() < endAt) {
      for (let index = 0; index < 50; index++) {
        engine.emit({
          type: 'segment-retry',
          jobId: 1,
          index,
          attempt: 1,
          delayMs: 0,
          code: 'ERR_NETWORK',
          message: 'reset',
          at: 0,
        });
      }
      await Bun.sleep(2);
    }
    // One more frame may be due at either edge of the window.
    expect(engine.snapshotCalls - callsBefore).toBeLessThanOrEqual(MAX_FPS + 2);
    expect(renders - rendersBefore).toBeLessThanOrEqual(MAX_FPS + 2);
    expect(engine.snapshotCalls - callsBefore).toBeGreaterThanOrEqual(MAX_FPS / 2);
  });

  test('an unchanged snapshot is not redrawn, and unmount stops polling and unsubscribes', async () => {
    const engine = new FakeEngine(makeSnapshot([job]));
    const { unmount } = render(<Probe controller={engine} options={{ steadyFps: 15 }} />);
    const rendersBefore = renders;
    const callsBefore = engine.snapshotCalls;
    await waitFor(
      () => engine.snapshotCalls >= callsBefore + 3,
      () => 'three polls',
    );
    expect(renders).toBe(rendersBefore);
    unmount();
    expect(engine.listenerCount).toBe(0);
    const callsAtUnmount = engine.snapshotCalls;
    await Bun.sleep(200); // an observation window: no timer left to poll
    expect(engine.snapshotCalls).toBe(callsAtUnmount);
  });

  test('an idle engine is not redrawn when the once-a-second rate sample is taken', async () => {
    const idle = makeJob({ id: 1, state: 'paused', rateBytesPerSec: 0 });
    const engine = new FakeEngine(makeSnapshot([idle]));
    render(<Probe controller={engine} options={{ steadyFps: 15 }} />);
    const rendersBefore = renders;
    // Each snapshot a second later than the one before: a zero sample is due on every poll.
    let seconds = 0;
    const clock = setInterval(
      () => engine.setSnapshot(makeSnapshot([idle], { at: 1_700_000_000_000 + ++seconds * 1000 })),
      20,
    );
    try {
      await waitFor(
        () => seconds >= 10,
        () => 'ten seconds of samples',
      );
    } finally {
      clearInterval(clock);
    }
    expect(renders).toBe(rendersBefore);
  });
});
