/**
 * Never corrupt: bytes from a 200, from a mismatched 206 or from a second version of the file
 * never land at an offset. ddm restarts cleanly and records why, or fails clearly with no final
 * file.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { harness } from './testing/engine-test-kit.ts';
import {
  garbage,
  generatedBody,
  headersThenClose,
  makeBody,
  type RequestRecord,
  startRawServer,
  startTestServer,
  waitFor,
} from './testing/index.ts';

// Every test ends by itself well within this (bun's default is 5 s; a busy 2-core machine is slower).
setDefaultTimeout(20_000);

const MiB = 1024 * 1024;

/** Ranged GETs after the probe (the probe asks for bytes=0-0). */
function segmentRequests(server: { requests: readonly RequestRecord[] }): RequestRecord[] {
  return server.requests.filter((r) => r.method === 'GET' && r.range !== null && r.range !== 'bytes=0-0');
}

describe('200 to a ranged request mid-download', () => {
  test('treats it as "ranges unsupported": restarts clean on one connection and records why', async () => {
    const body = generatedBody(2 * MiB, 10);
    await using server = await startTestServer({
      files: [{ path: '/r.bin', body, knobs: { range200AfterRequests: 2 } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/r.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('r.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted').map((e) => e.code)).toEqual(['ERR_RANGE_UNSUPPORTED']);
    expect(job.why).toContain('restarted from zero: Range request answered 200 instead of 206');
    expect(job.why).toContain('single connection');
    expect(job.isResumable).toBe(false);
    // After the restart only plain GETs were sent.
    const restartProbe = server.requests.findLastIndex((r) => r.method === 'HEAD');
    const after = server.requests.slice(restartProbe + 1).filter((r) => r.method === 'GET');
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(r.range).toBeNull();
  });

  test('treats a 200 with a new ETag as "resource changed": restarts from zero on the new version', async () => {
    const oldBody = generatedBody(2 * MiB, 11);
    const newBody = generatedBody(2 * MiB, 12);
    await using server = await startTestServer({
      files: [
        {
          path: '/v.bin',
          body: oldBody,
          etag: '"v1"',
          knobs: { changeAfterRequests: { requests: 2, body: newBody, etag: '"v2"' }, throttleBytesPerSec: 8 * MiB },
        },
      ],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/v.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('v.bin')).toBe(newBody.sha256Hex());
    expect(h.eventsOf('job-restarted').map((e) => e.code)).toEqual(['ERR_RESOURCE_CHANGED']);
    expect(job.why).toContain('restarted from zero: Resource changed');
    expect(job.etag).toBe('"v2"');
    // Every ranged request carried If-Range with the validator of the version it continued.
    const ranged = segmentRequests(server);
    expect(ranged.length).toBeGreaterThan(2);
    for (const r of ranged) expect(['"v1"', '"v2"']).toContain(r.headers['if-range'] as string);
    // The new version was fetched with several connections again (the server still has ranges).
    expect(ranged.filter((r) => r.headers['if-range'] === '"v2"').length).toBeGreaterThan(1);
  });

  test('uses Last-Modified in If-Range when there is no ETag, and detects the change by it', async () => {
    const oldBody = generatedBody(1 * MiB, 13);
    const newBody = generatedBody(1 * MiB, 14);
    await using server = await startTestServer({
      files: [
        {
          path: '/lm.bin',
          body: oldBody,
          etag: null,
          knobs: { changeAfterRequests: { requests: 2, body: newBody, etag: '"new"' }, throttleBytesPerSec: 8 * MiB },
        },
      ],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/lm.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('lm.bin')).toBe(newBody.sha256Hex());
    expect(h.eventsOf('job-restarted').map((e) => e.code)).toEqual(['ERR_RESOURCE_CHANGED']);
    const first = segmentRequests(server)[0];
    expect(first?.headers['if-range']).toBe('Wed, 01 Jan 2025 00:00:00 GMT');
  });

  for (const [label, newSize] of [
    ['larger', 1 * MiB + 12_345],
    ['smaller', 1 * MiB - 12_345],
  ] as const) {
    test(`treats a 200 with a new (${label}) size as "resource changed" and ends with the new file`, async () => {
      const oldBody = generatedBody(1 * MiB, 15);
      const newBody = generatedBody(newSize, 16);
      await using server = await startTestServer({
        files: [
          {
            path: '/sz.bin',
            body: oldBody,
            knobs: { changeAfterRequests: { requests: 1, body: newBody, etag: '"sz2"' }, throttleBytesPerSec: 8 * MiB },
          },
        ],
      });
      await using h = harness();
      const id = h.engine.addJob(server.url('/sz.bin'), { dir: h.dir });
      await h.engine.run();

      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(job.sizeBytes).toBe(newBody.sizeBytes);
      expect(await h.sha256('sz.bin')).toBe(newBody.sha256Hex());
      expect(h.eventsOf('job-restarted')[0]?.code).toBe('ERR_RESOURCE_CHANGED');
    });
  }
});

describe('a server that ignores If-Range', () => {
  test('a 206 from a new version is caught by its ETag before it is written, and the job restarts', async () => {
    const oldBody = makeBody(512 * 1024, 21);
    const newBody = makeBody(512 * 1024, 22);
    let rangedGets = 0;
    await using raw = await startRawServer(async (connection, head) => {
      const range = /\r\nrange: bytes=(\d+)-(\d+)/i.exec(head);
      const isHead = head.startsWith('HEAD');
      // The new version appears from the third ranged GET on; If-Range is ignored throughout.
      if (range && !isHead) rangedGets++;
      const isNew = rangedGets > 2;
      const body = isNew ? newBody : oldBody;
      const etag = isNew ? '"b"' : '"a"';
      const common = `etag: ${etag}\r\naccept-ranges: bytes\r\nconnection: close\r\n`;
      if (range && !isHead) {
        const start = Number(range[1]);
        const end = Math.min(Number(range[2]), body.length - 1);
        await connection.write(
          `HTTP/1.1 206 Partial Content\r\n${common}content-range: bytes ${start}-${end}/${body.length}\r\ncontent-length: ${end - start + 1}\r\n\r\n`,
        );
        await connection.write(body.subarray(start, end + 1));
      } else {
        await connection.write(`HTTP/1.1 200 OK\r\n${common}content-length: ${body.length}\r\n\r\n`);
        if (!isHead) await connection.write(body);
      }
      await connection.end();
    });
    await using h = harness({ settings: { minSplitBytes: 64 * 1024 } });
    const id = h.engine.addJob(raw.url('/ir.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(await h.sha256('ir.bin')).toBe(new Bun.CryptoHasher('sha256').update(newBody).digest('hex'));
    expect(h.eventsOf('job-restarted').map((e) => e.code)).toEqual(['ERR_RESOURCE_CHANGED']);
    expect(job.why).toContain('ETag "b" instead of "a"');
    const sentIfRange = raw.requests.filter((r) => /\r\nif-range: "a"/i.test(r.head));
    expect(sentIfRange.length).toBeGreaterThan(0);
  });
});

describe('206 with a Content-Range that does not match the request', () => {
  test('is rejected before any byte is written, retried, then fails clearly with no final file', async () => {
    const body = generatedBody(1 * MiB, 20);
    await using server = await startTestServer({
      files: [{ path: '/w.bin', body, knobs: { wrongContentRange: true } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/w.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_RANGE_MISMATCH');
    expect(job.errorMessage).toContain('does not match the request');
    expect(h.exists('w.bin')).toBe(false);
    const retries = h.eventsOf('segment-retry');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((e) => e.code === 'ERR_RANGE_MISMATCH')).toBe(true);
    // Nothing was written: no segment claims a byte, and the sparse .part holds only zeros.
    for (const s of h.repos.segments.list(id)) expect(s.writtenBytes).toBe(0);
    const part = readFileSync(h.path('w.bin.part'));
    expect(part.some((b) => b !== 0)).toBe(false);
  });
});

describe('resource changed between runs', () => {
  for (const how of ['stop', 'crash'] as const) {
    test(`a new engine restarts from zero when the ETag changed after a ${how}, and records why`, async () => {
      const oldBody = generatedBody(2 * MiB, 30);
      const newBody = generatedBody(2 * MiB, 31);
      await using server = await startTestServer({
        files: [{ path: '/e.bin', body: oldBody, etag: '"a"', knobs: { throttleBytesPerSec: 1 * MiB } }],
      });
      await using h = harness({ isFileDb: true });
      const id = h.engine.addJob(server.url('/e.bin'), { dir: h.dir });
      const first = h.engine.run();
      await waitFor(() => h.repos.segments.list(id).some((s) => s.writtenBytes > 64 * 1024), {
        what: 'a checkpoint with progress',
      });
      h.engine.stop();
      await first;
      expect(h.job(id).state).toBe('queued');
      if (how === 'crash') {
        // A killed process leaves the job in an active state; the next engine must recover it.
        h.repos.jobs.update(id, { state: 'downloading' });
      }
      server.setFile({ path: '/e.bin', body: newBody, etag: '"b"' });
      server.reset();

      await h.restartEngine().run();
      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(await h.sha256('e.bin')).toBe(newBody.sha256Hex());
      expect(job.why).toContain('restarted from zero: resource changed: ETag "b" instead of "a"');
      expect(h.eventsOf('job-restarted').map((e) => e.code)).toEqual(['ERR_RESOURCE_CHANGED']);
      // The second engine asked for the new version from byte 0, never for the old one.
      for (const r of segmentRequests(server)) expect(r.headers['if-range']).toBe('"b"');
      expect(segmentRequests(server).some((r) => r.range?.startsWith('bytes=0-'))).toBe(true);
    });
  }

  test('a new engine continues from the persisted offsets when the resource is the same', async () => {
    const body = generatedBody(2 * MiB, 32);
    await using server = await startTestServer({
      files: [{ path: '/same.bin', body, knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    await using h = harness({ isFileDb: true });
    const id = h.engine.addJob(server.url('/same.bin'), { dir: h.dir });
    const first = h.engine.run();
    await waitFor(() => h.repos.segments.list(id).some((s) => s.writtenBytes > 64 * 1024), {
      what: 'a checkpoint with progress',
    });
    h.engine.stop();
    await first;
    expect(h.job(id).state).toBe('queued');
    const saved = h.repos.segments.list(id);
    server.reset();

    await h.restartEngine().run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('same.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted')).toEqual([]);
    // Each unfinished segment resumed where its checkpoint said, not at its start. (Its end may
    // have moved: an idle connection can split it before its request goes out.)
    const starts = new Set(segmentRequests(server).map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1])));
    for (const s of saved) {
      if (s.end !== null && s.writtenBytes > 0 && s.start + s.writtenBytes < s.end) {
        expect(starts.has(s.start + s.writtenBytes)).toBe(true);
        expect(starts.has(s.start)).toBe(false);
      }
    }
  });
});

describe('servers that break HTTP', () => {
  test('a body shorter than its Content-Length is retried and then fails with no final file', async () => {
    const declared = 256 * 1024;
    await using raw = await startRawServer(async (connection, head) => {
      const isHead = head.startsWith('HEAD');
      await connection.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${declared}\r\nconnection: close\r\n\r\n`,
      );
      if (!isHead) await connection.write(makeBody(declared / 2, 40));
      await connection.end();
    });
    await using h = harness();
    const id = h.engine.addJob(raw.url('/short.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_NETWORK');
    expect(h.exists('short.bin')).toBe(false);
    expect(h.eventsOf('segment-retry').length).toBeGreaterThan(0);
  });

  for (const [name, handler] of [
    ['a non-HTTP reply', garbage()],
    ['headers then a close', headersThenClose(4096)],
  ] as const) {
    test(`${name} is retried, then fails with ERR_NETWORK and no final file`, async () => {
      await using raw = await startRawServer(handler);
      await using h = harness();
      const id = h.engine.addJob(raw.url('/x.bin'), { dir: h.dir });
      await h.engine.run();

      const job = h.job(id);
      expect(job.state).toBe('failed');
      expect(job.errorCode).toBe('ERR_NETWORK');
      expect(h.exists('x.bin')).toBe(false);
      expect(raw.connectionCount).toBeGreaterThan(1);
    });
  }
});
