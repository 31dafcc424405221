/**
 * The queue and the connection limits, checked at the server: how many jobs and connections were
 * ever open at once, in what order jobs started, and that every file is right.
 */

import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { type GeneratedBody, generatedBody, type RequestRecord, startTestServer } from '@ddm/core/testing';
import { fileSha256, KiB, MiB, Sandbox } from './helpers.ts';

/** Most intervals open at the same instant (an interval ends before one starting at its end time). */
function peakOverlap(intervals: readonly { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, delta: 1 },
    { at: i.end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const e of edges) {
    open += e.delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

/** Body-streaming GETs, as intervals. */
function streams(requests: readonly RequestRecord[], filter: (r: RequestRecord) => boolean = () => true) {
  return requests
    .filter((r) => r.method === 'GET' && r.bodyBytesSent > 0 && filter(r))
    .map((r) => ({ start: r.startedAt, end: r.endedAt ?? Number.POSITIVE_INFINITY }));
}

/** Per path, from its first request to its last byte: the server's view of a job's run. */
function jobSpans(requests: readonly RequestRecord[]) {
  const spans = new Map<string, { start: number; end: number }>();
  for (const r of requests) {
    const span = spans.get(r.path) ?? { start: r.startedAt, end: r.startedAt };
    span.start = Math.min(span.start, r.startedAt);
    span.end = Math.max(span.end, r.endedAt ?? Number.POSITIVE_INFINITY);
    spans.set(r.path, span);
  }
  return [...spans.values()];
}

function files(count: number, sizeBytes: number, throttleBytesPerSec: number) {
  return Array.from({ length: count }, (_, i) => ({
    path: `/f${String(i + 1).padStart(2, '0')}.bin`,
    body: generatedBody(sizeBytes, 100 + i),
    knobs: { throttleBytesPerSec },
  }));
}

async function expectFiles(dir: string, specs: readonly { path: string; body: GeneratedBody }[]): Promise<void> {
  for (const spec of specs) expect(await fileSha256(join(dir, spec.path.slice(1)))).toBe(spec.body.sha256Hex());
}

describe('queue', () => {
  test('20 jobs with --jobs 4 and --max-per-host 6 never open more than 6 connections', async () => {
    // 4 segments of 1 MiB per file: 4 jobs want 16 connections, the host allows 6.
    const specs = files(20, 4 * MiB, 4 * MiB);
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const { stdout } = await sb.ok(['add', ...specs.map((s) => server.url(s.path)), '-d', sb.dir, '--json']);
    expect((JSON.parse(stdout) as { ids: number[] }).ids).toHaveLength(20);
    const run = await sb.run(['run', '--jobs', '4', '--max-per-host', '6'], { timeoutMs: 45_000 });
    expect(run.exitCode).toBe(0);
    expect(server.maxOpenConnections).toBeLessThanOrEqual(6);
    expect(server.maxOpenConnections).toBe(6);
    const parallelJobs = peakOverlap(jobSpans(server.requests));
    expect(parallelJobs).toBeLessThanOrEqual(4);
    expect(parallelJobs).toBeGreaterThanOrEqual(2);
    expect((await sb.status()).jobs.every((j) => j.state === 'completed')).toBe(true);
    await expectFiles(sb.dir, specs);
  }, 60_000);

  test('the per-host limit from DDM_MAX_CONNECTIONS_PER_HOST is shared by every job to that host', async () => {
    const specs = files(3, 2 * MiB, 2 * MiB);
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    for (const s of specs) await sb.add(server.url(s.path), '-x', '4');
    const run = await sb.run(['run', '--jobs', '3'], {
      timeoutMs: 30_000,
      env: { DDM_MAX_CONNECTIONS_PER_HOST: '2' },
    });
    expect(run.exitCode).toBe(0);
    expect(server.maxOpenConnections).toBe(2);
    await expectFiles(sb.dir, specs);
  }, 30_000);

  test('the global connection limit spans hosts; each host keeps its own cap', async () => {
    const specs = files(4, 4 * MiB, 4 * MiB);
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    // Two host names for one server: 127.0.0.1 and localhost.
    for (const [i, s] of specs.entries()) {
      await sb.add(server.url(s.path, i % 2 === 0 ? {} : { host: 'localhost' }), '-x', '4');
    }
    const run = await sb.run(['run', '--jobs', '4', '--max-per-host', '3'], {
      timeoutMs: 30_000,
      env: { DDM_MAX_CONNECTIONS_GLOBAL: '5' },
    });
    expect(run.exitCode).toBe(0);
    const isLocalhost = (r: RequestRecord) => (r.headers.host ?? '').startsWith('localhost');
    expect(peakOverlap(streams(server.requests, isLocalhost))).toBeLessThanOrEqual(3);
    expect(peakOverlap(streams(server.requests, (r) => !isLocalhost(r)))).toBeLessThanOrEqual(3);
    expect(server.maxOpenConnections).toBe(5);
    await expectFiles(sb.dir, specs);
  }, 30_000);

  test('jobs start by priority, then age; move --top and --bottom reorder within a priority', async () => {
    const specs = files(5, 64 * KiB, 64 * MiB);
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const ids: number[] = [];
    for (const [i, s] of specs.entries()) ids.push(await sb.add(server.url(s.path), '--priority', i === 2 ? '5' : '0'));
    const [a, , , , e] = ids as [number, number, number, number, number];
    await sb.ok(['move', String(e), '--top']);
    await sb.ok(['move', String(a), '--bottom']);
    expect((await sb.status()).jobs.map((j) => [j.id, j.priority])).toEqual([
      [3, 5],
      [5, 0],
      [2, 0],
      [4, 0],
      [1, 0],
    ]);
    expect((await sb.run(['run', '--jobs', '1'])).exitCode).toBe(0);
    const firstRequest = new Map<string, number>();
    for (const r of server.requests) if (!firstRequest.has(r.path)) firstRequest.set(r.path, r.startedAt);
    const order = [...firstRequest.entries()].sort((x, y) => x[1] - y[1]).map(([path]) => path);
    expect(order).toEqual(['/f03.bin', '/f05.bin', '/f02.bin', '/f04.bin', '/f01.bin']);
    await expectFiles(sb.dir, specs);
  }, 30_000);

  test('run --watch stays up and picks up jobs added later; run without --watch ends when the queue is empty', async () => {
    const specs = files(2, 128 * KiB, 64 * MiB);
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const engine = await sb.startEngine();
    for (const s of specs) {
      const id = await sb.add(server.url(s.path));
      expect((await sb.run(['wait', String(id)])).exitCode).toBe(0);
    }
    expect(engine.proc.exitCode).toBeNull();
    expect((await sb.status()).engineRunning).toBe(true);
    await expectFiles(sb.dir, specs);
    engine.proc.kill('SIGTERM');
    expect((await engine.done()).exitCode).toBe(130);

    const alone = await sb.run(['run']);
    expect(alone.exitCode).toBe(0);
  }, 30_000);
});
