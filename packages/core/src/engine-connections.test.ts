/** Changing a running job's connection count: more opens connections, fewer closes them. */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, waitFor } from './testing/index.ts';

setDefaultTimeout(60_000);
const MiB = 1024 * 1024;

describe('setConnections on a running job', () => {
  test('a lowered count closes surplus connections at once; their bytes are kept and the file is right', async () => {
    const body = generatedBody(8 * MiB, 71);
    // Slow per connection, so no segment ends by itself while the test watches the count.
    await using server = await startTestServer({
      files: [{ path: '/c.bin', body, knobs: { throttleBytesPerSec: 256 * 1024 } }],
    });
    await using h = harness({ settings: { connections: 6, slowConnectionMs: 60_000 } });
    const id = h.engine.addJob(server.url('/c.bin'), { dir: h.dir, connections: 6 });
    const running = h.engine.run();
    await waitFor(() => server.openConnectionsFor('/c.bin') === 6, { timeoutMs: 15_000, what: '6 connections' });
    await waitFor(() => h.engine.snapshot().jobs[0]?.segments.every((s) => s.writtenBytes > 0), {
      what: 'bytes on every connection',
    });
    const segmentsBefore = h.engine.snapshot().jobs[0]?.segments.length ?? 0;

    await h.engine.setConnections(id, 2);
    await waitFor(() => server.openConnectionsFor('/c.bin') === 2, {
      timeoutMs: 5_000,
      what: 'the server to see 2 connections',
    });
    await waitFor(() => h.engine.snapshot().jobs[0]?.connections === 2, {
      timeoutMs: 5_000,
      what: 'the snapshot to show 2 connections',
    });
    const job = h.engine.snapshot().jobs[0];
    expect(job?.maxConnections).toBe(2);
    // The closed connections' ranges went back to the pool, with what they wrote: nothing was
    // split away or lost, and the closed segments wait with their bytes.
    expect(job?.segments.length).toBe(segmentsBefore);
    const waiting = job?.segments.filter((s) => s.status === 'pending') ?? [];
    expect(waiting).toHaveLength(4);
    expect(waiting.every((s) => s.writtenBytes > 0)).toBe(true);
    // The count stays down while the job goes on.
    const closedAt = server.now();
    await waitFor(() => server.bytesServed('/c.bin', closedAt) > 256 * 1024, { timeoutMs: 10_000, what: 'more bytes' });
    expect(server.openConnectionsFor('/c.bin')).toBeLessThanOrEqual(2);

    // Raised again, it opens connections for the waiting ranges, and the file completes right.
    await h.engine.setConnections(id, 8);
    await waitFor(() => server.openConnectionsFor('/c.bin') >= 6, { timeoutMs: 10_000, what: 'connections again' });
    await running;
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('c.bin')).toBe(body.sha256Hex());
  });
});
