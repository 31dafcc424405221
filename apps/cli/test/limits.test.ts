/**
 * Speed limits measured where they matter: the bytes the server sent per second. A global limit
 * (`ddm run --limit`) and a per-job limit (`ddm add --limit`), both changed while the engine
 * runs (`ddm limit`). Tolerance is loose (±25 %) for a busy 2-core CI machine.
 *
 * The server sees the client's consumption through the socket buffers, which fill and drain in
 * bursts of ~1.5 MB per connection on loopback; so the rates here are a few MiB/s, the limited
 * job uses one connection, and each window lasts 4 s, keeping that error near 10 %.
 */
import { describe, expect, test } from 'bun:test';
import { generatedBody, startTestServer, type TestServer, waitFor } from '@ddm/core/testing';
import { MiB, Sandbox } from './helpers.ts';

const TOLERANCE = 0.25;
/** Time for socket buffers and the buckets to settle after a change. */
const SETTLE_MS = 1000;
const WINDOW_MS = 4000;

interface Window {
  totalBytesPerSec: number;
  byPath: Record<string, number>;
}

/** Waits out [from + SETTLE_MS, from + SETTLE_MS + WINDOW_MS) and returns the rates served in it. */
async function measure(server: TestServer, paths: readonly string[], from: number): Promise<Window> {
  const start = from + SETTLE_MS;
  const end = start + WINDOW_MS;
  // A measurement window, not synchronisation: the rate is only defined over elapsed time.
  await waitFor(() => server.now() >= end, { timeoutMs: SETTLE_MS + WINDOW_MS + 5000, intervalMs: 50 });
  const rate = (path?: string) => (server.bytesServed(path, start, end) * 1000) / WINDOW_MS;
  return {
    totalBytesPerSec: rate(),
    byPath: Object.fromEntries(paths.map((p) => [p, rate(p)])),
  };
}

function expectNear(actual: number, limit: number): void {
  expect(actual).toBeGreaterThan(limit * (1 - TOLERANCE));
  expect(actual).toBeLessThan(limit * (1 + TOLERANCE));
}

const mib = (bytesPerSec: number) => `${(bytesPerSec / MiB).toFixed(2)} MiB/s`;

describe('speed limits', () => {
  test('global and per-job limits hold at the server and change while running', async () => {
    const a = generatedBody(160 * MiB, 61);
    const b = generatedBody(96 * MiB, 62);
    await using server = await startTestServer({
      files: [
        { path: '/a.bin', body: a },
        { path: '/b.bin', body: b },
      ],
    });
    await using sb = new Sandbox();
    const aId = await sb.add(server.url('/a.bin'), '-x', '2');
    const bId = await sb.add(server.url('/b.bin'), '-x', '1', '--limit', '3M');
    expect((await sb.job(bId)).limitBytesPerSec).toBe(3 * MiB);
    await sb.startEngine(['--watch', '--limit', '12M']);
    // Past the start, when the socket buffers fill at full speed.
    await waitFor(() => server.bytesServed('/a.bin') > 4 * MiB && server.bytesServed('/b.bin') > 3 * MiB, {
      timeoutMs: 15_000,
      what: 'both downloads to be under way',
    });
    const paths = ['/a.bin', '/b.bin'];
    const measured: Record<string, string> = {};

    // Global 12 MiB/s shared by both jobs; job b alone at 3 MiB/s.
    const first = await measure(server, paths, server.now());
    measured['global 12M'] = mib(first.totalBytesPerSec);
    measured['job b 3M'] = mib(first.byPath['/b.bin'] as number);

    // Raise both while running.
    await sb.ok(['limit', '--global', '20M']);
    await sb.ok(['limit', String(bId), '6M']);
    const second = await measure(server, paths, server.now());
    measured['global 20M'] = mib(second.totalBytesPerSec);
    measured['job b 6M'] = mib(second.byPath['/b.bin'] as number);
    expect((await sb.job(bId)).limitBytesPerSec).toBe(6 * MiB);

    // Global off: job a runs free (and finishes), job b keeps its own limit, lowered to 4 MiB/s.
    await sb.ok(['limit', '--global', 'off']);
    await sb.ok(['limit', String(bId), '4M']);
    const third = await measure(server, paths, server.now());
    measured['job b 4M, global off'] = mib(third.byPath['/b.bin'] as number);
    console.log('measured at the server', measured);

    expectNear(first.totalBytesPerSec, 12 * MiB);
    expectNear(first.byPath['/b.bin'] as number, 3 * MiB);
    expectNear(second.totalBytesPerSec, 20 * MiB);
    expectNear(second.byPath['/b.bin'] as number, 6 * MiB);
    expectNear(third.byPath['/b.bin'] as number, 4 * MiB);
    expect((await sb.job(aId)).state).toBe('completed');
  }, 60_000);
});
