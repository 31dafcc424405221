/** Dynamic segmentation: work stealing, laggard restarts, persisted splits. */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, type TestServer } from './testing/index.ts';

setDefaultTimeout(30_000);
const MiB = 1024 * 1024;

/** Ranges of the segment requests (the probe's bytes=0-0 left out), in arrival order. */
function ranged(server: TestServer): string[] {
  return server.requests
    .filter((r) => r.method === 'GET' && r.range && r.range !== 'bytes=0-0')
    .map((r) => r.range as string);
}

describe('dynamic segmentation', () => {
  test('a connection that finishes takes over the back half of the largest remaining range', async () => {
    const body = generatedBody(8 * MiB, 31);
    // The first ranged request is slow, so its range is the largest left when the others finish.
    await using server = await startTestServer({
      files: [
        {
          path: '/s.bin',
          body,
          knobs: { throttleBytesPerSec: 8 * MiB, slowRequest: { nth: 1, bytesPerSec: 512 * 1024 } },
        },
      ],
    });
    await using h = harness({ settings: { connections: 4, minSplitBytes: 256 * 1024, slowConnectionMs: 60_000 } });
    const id = h.engine.addJob(server.url('/s.bin'), { dir: h.dir });
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('s.bin')).toBe(body.sha256Hex());
    const splits = h.eventsOf('segment-split');
    expect(splits.length).toBeGreaterThan(0);
    // The range of the slow first request is the one that was split.
    const slowStart = Number(/bytes=(\d+)-/.exec(ranged(server)[0] ?? '')?.[1]);
    const victims = new Set(splits.map((s) => s.from));
    expect(h.repos.segments.list(id).some((seg) => victims.has(seg.index) && seg.start === slowStart)).toBe(true);
    // Splits are persisted: the stored plan has the new segments, each pointing at its origin.
    const stored = h.repos.segments.list(id);
    expect(stored.length).toBe(4 + splits.length);
    expect(stored.filter((s) => s.splitFrom !== null)).toHaveLength(splits.length);
    let cursor = 0;
    for (const s of stored) {
      expect(s.start).toBe(cursor);
      expect(s.writtenBytes).toBe((s.end as number) - s.start);
      cursor = s.end as number;
    }
    expect(cursor).toBe(8 * MiB);
    // No byte was requested twice: ranged requests after the split never overlap what was written.
    expect(ranged(server).length).toBeGreaterThan(4);
  });

  test('a connection far slower than its siblings is restarted, and the file is right', async () => {
    const body = generatedBody(48 * MiB, 32);
    await using server = await startTestServer({
      files: [
        {
          path: '/lag.bin',
          body,
          knobs: { throttleBytesPerSec: 4 * MiB, slowRequest: { nth: 2, bytesPerSec: 128 * 1024 } },
        },
      ],
    });
    await using h = harness({ settings: { connections: 4, minSplitBytes: 4 * MiB, slowConnectionMs: 500 } });
    const id = h.engine.addJob(server.url('/lag.bin'), { dir: h.dir });
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('lag.bin')).toBe(body.sha256Hex());
    const restarts = h.eventsOf('job-why').filter((e) => e.why.startsWith('restarted segment'));
    expect(restarts.length).toBeGreaterThan(0);
    const slow = server.requests.filter((r) => r.method === 'GET' && r.range && r.range !== 'bytes=0-0')[1];
    expect(slow?.bodyBytesSent).toBeLessThan(2 * MiB);
    expect(slow?.outcome).toBe('aborted');
  });
});
