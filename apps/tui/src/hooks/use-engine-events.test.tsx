import { afterEach, describe, expect, test } from 'bun:test';
import type { EngineController } from '@ddm/core';
import { Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { FakeEngine } from '../testing/fake-engine.ts';
import { waitFor } from '../testing/render-sized.ts';
import { useEngineEvents } from './use-engine-events.ts';

afterEach(cleanup);

let renders = 0;
function Probe({ controller }: { controller: EngineController }) {
  const events = useEngineEvents(controller, 3);
  renders++;
  return <Text>{events.map((event) => event.jobId).join(',') || 'none'}</Text>;
}

describe('useEngineEvents', () => {
  test('keeps the last N events, a burst costs one render, unmount unsubscribes', async () => {
    const engine = new FakeEngine();
    const { lastFrame, unmount } = render(<Probe controller={engine} />);
    await waitFor(
      () => engine.listenerCount === 1,
      () => 'a subscription',
    );
    const rendersBefore = renders;
    for (let jobId = 1; jobId <= 5; jobId++) engine.emit({ type: 'job-removed', jobId, at: 0 });
    await waitFor(
      () => lastFrame() === '3,4,5',
      () => `the last three events, frame ${lastFrame()}`,
    );
    expect(renders - rendersBefore).toBe(1);
    unmount();
    expect(engine.listenerCount).toBe(0);
  });
});
