/**
 * Degrade, never refuse: servers without Range, without a length, with a refused or lying
 * HEAD, or with compressed ranges still give the right file, on one connection when they must,
 * and the job says why.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { statSync } from 'node:fs';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, waitFor } from './testing/index.ts';

// Every test ends by itself well within this (bun's default is 5 s; a busy 2-core machine is slower).
setDefaultTimeout(20_000);

const MiB = 1024 * 1024;

describe('server without Range support (or without a length)', () => {
  test('downloads on one connection and says why', async () => {
    const body = generatedBody(2 * MiB, 1);
    await using server = await startTestServer({ files: [{ path: '/f.bin', body, knobs: { noRanges: true } }] });
    await using h = harness();
    const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('f.bin')).toBe(body.sha256Hex());
    expect(job.acceptsRanges).toBe(false);
    expect(job.isResumable).toBe(false);
    expect(job.why).toContain('single connection');
    expect(server.maxOpenConnectionsFor('/f.bin')).toBe(1);
    expect(h.files()).toEqual(['f.bin']);
  });

  for (const knob of ['noRanges', 'noLength'] as const) {
    test(`a resume restarts from zero and says so (${knob === 'noRanges' ? 'no Range support' : 'no Content-Length'})`, async () => {
      const body = generatedBody(2 * MiB, 2);
      await using server = await startTestServer({
        files: [{ path: '/f.bin', body, knobs: { [knob]: true, throttleBytesPerSec: 2 * MiB } }],
      });
      await using h = harness({ isFileDb: true });
      const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir });
      const first = h.engine.run();
      await waitFor(() => h.repos.segments.list(id).some((s) => s.writtenBytes > 256 * 1024), {
        what: 'a checkpoint with progress',
      });
      h.engine.stop();
      await first;
      expect(h.job(id).state).toBe('queued');
      server.reset();

      await h.restartEngine().run();
      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(await h.sha256('f.bin')).toBe(body.sha256Hex());
      expect(job.why).toContain('restarted from zero');
      const restarted = h.eventsOf('job-restarted');
      expect(restarted.map((e) => e.code)).toEqual(['ERR_RANGE_UNSUPPORTED']);
      // The second run fetched the whole body again with plain GETs: no Range was trusted.
      const gets = server.requests.filter((r) => r.method === 'GET' && r.status === 200);
      expect(gets.at(-1)?.range).toBeNull();
      expect(gets.at(-1)?.bodyBytesSent).toBe(body.sizeBytes);
    });
  }
});

describe('server without Content-Length', () => {
  test('streams on one connection without preallocation, learns the size at the end, not resumable', async () => {
    const body = generatedBody(2 * MiB, 3);
    await using server = await startTestServer({
      files: [{ path: '/stream.bin', body, knobs: { noLength: true, throttleBytesPerSec: 4 * MiB } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/stream.bin'), { dir: h.dir });
    const run = h.engine.run();
    // Mid-stream the .part holds only what arrived: nothing was reserved ahead.
    const partSize = await waitFor(
      () => {
        if (!h.exists('stream.bin.part') || h.job(id).state !== 'downloading') return null;
        const size = statSync(h.path('stream.bin.part')).size;
        return size > 0 ? size : null;
      },
      { what: 'a growing .part file' },
    );
    expect(partSize).toBeLessThan(body.sizeBytes);
    expect(h.job(id).sizeBytes).toBeNull();
    await run;

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(job.sizeBytes).toBe(body.sizeBytes);
    expect(job.isResumable).toBe(false);
    expect(job.why).toContain('no length');
    expect(await h.sha256('stream.bin')).toBe(body.sha256Hex());
    // One stream: one segment, and apart from the bytes=0-0 probe (which the server answers with
    // the whole body, cancelled at once) exactly one GET, without Range, delivered the body.
    expect(h.repos.segments.list(id)).toHaveLength(1);
    const downloads = server.requests.filter((r) => r.method === 'GET' && r.range === null);
    expect(downloads).toHaveLength(1);
    expect(downloads[0]?.outcome).toBe('complete');
  });
});

describe('HEAD refused or lying', () => {
  for (const status of [403, 405, 501]) {
    test(`probes with GET Range: bytes=0-0 when HEAD answers ${status}, then downloads in segments`, async () => {
      const body = generatedBody(1 * MiB, 4);
      await using server = await startTestServer({
        files: [{ path: '/s.bin', body, knobs: { headStatus: status } }],
      });
      await using h = harness();
      const id = h.engine.addJob(server.url('/s.bin'), { dir: h.dir });
      await h.engine.run();

      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(await h.sha256('s.bin')).toBe(body.sha256Hex());
      expect(job.why).toContain(`HEAD answered ${status}`);
      const probe = server.requests.find((r) => r.method === 'GET');
      expect(probe?.range).toBe('bytes=0-0');
      expect(job.isResumable).toBe(true);
      expect(h.repos.segments.list(id).length).toBeGreaterThan(1);
    });
  }

  test('probes with GET Range: bytes=0-0 when HEAD gives no Content-Length', async () => {
    const body = generatedBody(1 * MiB, 5);
    await using server = await startTestServer({ files: [{ path: '/n.bin', body, knobs: { headNoLength: true } }] });
    await using h = harness();
    const id = h.engine.addJob(server.url('/n.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(job.sizeBytes).toBe(body.sizeBytes);
    expect(job.why).toContain('HEAD gave no Content-Length');
    expect(server.requests.find((r) => r.method === 'GET')?.range).toBe('bytes=0-0');
    expect(await h.sha256('n.bin')).toBe(body.sha256Hex());
  });
});

describe('compressed answers to Range requests', () => {
  test('never writes a gzip-encoded range at offsets: restarts on one plain connection', async () => {
    const body = generatedBody(1 * MiB, 6);
    await using server = await startTestServer({
      files: [{ path: '/z.bin', body, knobs: { compressRanges: true } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/z.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('z.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted').map((e) => e.code)).toContain('ERR_COMPRESSED');
    expect(job.why).toContain('restarted from zero');
    expect(job.isResumable).toBe(false);
    // The restarted download used no Range at all.
    const last = server.requests.filter((r) => r.method === 'GET').at(-1);
    expect(last?.range).toBeNull();
    expect(last?.status).toBe(200);
  });

  test('asks for identity encoding, so a CDN that compresses only on request sends plain ranges', async () => {
    const body = generatedBody(1 * MiB, 7);
    await using server = await startTestServer({
      files: [{ path: '/c.bin', body, knobs: { compressRanges: 'if-accepted' } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/c.bin'), { dir: h.dir });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('c.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted')).toEqual([]);
    for (const r of server.requests) expect(r.headers['accept-encoding']).toBe('identity');
    expect(server.requests.filter((r) => r.status === 206).length).toBeGreaterThan(1);
  });
});
