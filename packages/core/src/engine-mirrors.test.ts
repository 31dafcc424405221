/**
 * One file from several mirrors: each mirror is checked to serve the same resource before a
 * byte comes from it, connections are spread across the usable ones, work moves from a slow or
 * failing mirror to a fast one, and a mirror that fails or disagrees is dropped with a why.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, startTestServer, waitFor } from './testing/index.ts';

setDefaultTimeout(30_000);

const MiB = 1024 * 1024;
const PATH = '/file.bin';

describe('mirrors', () => {
  test('builds one file from 3 mirrors: the slow one serves a small share, the dying one is dropped with a why', async () => {
    const body = generatedBody(24 * MiB, 120);
    await using fast = await startTestServer({ files: [{ path: PATH, body }] });
    await using slow = await startTestServer({
      files: [{ path: PATH, body, knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    // Dies mid-way: cut while streaming, then refuses connections.
    await using dying = await startTestServer({ files: [{ path: PATH, body }], dieAfterBytes: 2 * MiB });
    await using h = harness({ settings: { connections: 6, minSplitBytes: 256 * 1024 } });
    const id = h.engine.addJob(fast.url(PATH), {
      dir: h.dir,
      connections: 6,
      settings: { mirrors: [slow.url(PATH), dying.url(PATH)] },
    });
    await h.engine.run();

    const job = h.job(id);
    expect(job.errorMessage).toBeNull();
    expect(job.state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    // Every mirror took part.
    expect(fast.bytesServed(PATH)).toBeGreaterThan(0);
    expect(slow.bytesServed(PATH)).toBeGreaterThan(0);
    expect(dying.bytesServed(PATH)).toBeGreaterThanOrEqual(2 * MiB);
    // The slow mirror did not hold the file back: its work moved to the fast one.
    expect(slow.bytesServed(PATH)).toBeLessThan(0.25 * 24 * MiB);

    const [snapshot] = h.engine.snapshot().jobs;
    const byUrl = new Map(snapshot?.mirrors.map((m) => [m.url, m]));
    expect(snapshot?.mirrors).toHaveLength(3);
    expect(byUrl.get(fast.url(PATH))?.state).toBe('usable');
    expect(byUrl.get(slow.url(PATH))?.state).toBe('usable');
    const dead = byUrl.get(dying.url(PATH));
    expect(dead?.state).toBe('dropped');
    expect(dead?.why).toContain(dying.url(PATH));
    expect(h.eventsOf('job-why').some((e) => e.why.includes(`mirror ${dying.url(PATH)} dropped`))).toBe(true);
  });

  test('refuses a mirror with another size before any byte from it is written', async () => {
    const body = generatedBody(4 * MiB, 121);
    await using good = await startTestServer({ files: [{ path: PATH, body }] });
    await using other = await startTestServer({ files: [{ path: PATH, body: generatedBody(4 * MiB + 1, 121) }] });
    await using h = harness();
    const id = h.engine.addJob(good.url(PATH), { dir: h.dir, settings: { mirrors: [other.url(PATH)] } });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    // Only its probe reached it: no ranged GET, so no byte of it was written.
    expect(other.requests.filter((r) => r.range !== null && r.range !== 'bytes=0-0')).toHaveLength(0);
    const refused = h.engine.snapshot().jobs[0]?.mirrors.find((m) => m.url === other.url(PATH));
    expect(refused?.state).toBe('dropped');
    expect(refused?.why).toContain(other.url(PATH));
    expect(refused?.why).toContain(`size ${4 * MiB + 1} instead of ${4 * MiB}`);
  });

  test('refuses a mirror on the same host with another ETag, uses one on another host with its own If-Range', async () => {
    const body = generatedBody(4 * MiB, 122);
    await using server = await startTestServer({
      files: [
        { path: PATH, body, etag: '"a"' },
        { path: '/same-host-copy.bin', body, etag: '"b"' },
      ],
    });
    await using cdn = await startTestServer({ files: [{ path: PATH, body, etag: '"cdn"' }] });
    await using h = harness();
    const id = h.engine.addJob(server.url(PATH), {
      dir: h.dir,
      settings: { mirrors: [server.url('/same-host-copy.bin'), cdn.url(PATH)] },
    });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    const mirrors = h.engine.snapshot().jobs[0]?.mirrors ?? [];
    expect(mirrors.find((m) => m.url === server.url('/same-host-copy.bin'))?.why).toContain('ETag "b" instead of "a"');
    expect(mirrors.find((m) => m.url === cdn.url(PATH))?.state).toBe('usable');
    const ranged = (records: typeof cdn.requests) => records.filter((r) => r.method === 'GET' && r.range !== null);
    expect(ranged(cdn.requests).length).toBeGreaterThan(0);
    for (const r of ranged(cdn.requests)) expect(r.headers['if-range']).toBe('"cdn"');
    for (const r of ranged(server.requests).filter((r) => r.path === PATH)) expect(r.headers['if-range']).toBe('"a"');
    expect(server.requests.filter((r) => r.path === '/same-host-copy.bin' && r.method === 'GET')).toHaveLength(0);
  });

  test('drops a mirror that answers 200 to a Range instead of restarting the job', async () => {
    const body = generatedBody(4 * MiB, 126);
    await using good = await startTestServer({ files: [{ path: PATH, body }] });
    await using bad = await startTestServer({ files: [{ path: PATH, body, knobs: { range200AfterRequests: 0 } }] });
    await using h = harness();
    const id = h.engine.addJob(good.url(PATH), { dir: h.dir, settings: { mirrors: [bad.url(PATH)] } });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted')).toHaveLength(0);
    expect(bad.countRequests(PATH, 'GET')).toBeGreaterThan(0);
    const dropped = h.engine.snapshot().jobs[0]?.mirrors.find((m) => m.url === bad.url(PATH));
    expect(dropped?.state).toBe('dropped');
    expect(dropped?.why).toContain('answered 200 instead of 206');
  });

  test('a mirror answering 404 is dropped at once, one answering 503 only after its retries; the job completes from the good one', async () => {
    const body = generatedBody(4 * MiB, 127);
    await using good = await startTestServer({ files: [{ path: PATH, body }] });
    await using gone = await startTestServer({
      files: [{ path: PATH, body, knobs: { failFirst: { count: 1000, status: 404 } } }],
    });
    await using busy = await startTestServer({
      files: [{ path: PATH, body, knobs: { failFirst: { count: 1000, status: 503 } } }],
    });
    await using h = harness();
    const id = h.engine.addJob(good.url(PATH), {
      dir: h.dir,
      connections: 6,
      settings: { mirrors: [gone.url(PATH), busy.url(PATH)] },
    });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    expect(gone.countRequests(PATH, 'GET')).toBeGreaterThan(0);
    expect(busy.countRequests(PATH, 'GET')).toBeGreaterThan(0);
    expect(gone.bytesServed(PATH) + busy.bytesServed(PATH)).toBe(0);
    const mirrors = h.engine.snapshot().jobs[0]?.mirrors ?? [];
    expect(mirrors.find((m) => m.url === gone.url(PATH))?.why).toContain('404');
    // A 503 says "later", not "never": it is dropped only once its failures in a row pass retry_attempts.
    const busyMirror = mirrors.find((m) => m.url === busy.url(PATH));
    if (busyMirror?.state === 'dropped') expect(busyMirror.why).toContain('failed requests in a row');
    else expect(busyMirror?.state).toBe('usable');
  });

  test('fails the job with the last error only when every mirror failed', async () => {
    const body = generatedBody(2 * MiB, 123);
    const knobs = { failFirst: { count: 1000, status: 404 } };
    await using a = await startTestServer({ files: [{ path: PATH, body, knobs }] });
    await using b = await startTestServer({ files: [{ path: PATH, body, knobs }] });
    await using h = harness();
    const id = h.engine.addJob(a.url(PATH), { dir: h.dir, settings: { mirrors: [b.url(PATH)] } });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_HTTP_STATUS');
    expect(job.errorMessage).toContain('404');
    const mirrors = h.engine.snapshot().jobs[0]?.mirrors ?? [];
    expect(mirrors.map((m) => m.state)).toEqual(['dropped', 'dropped']);
    for (const m of mirrors) expect(m.why).toContain(m.url);
    // Both were asked for bytes before the job gave up.
    expect(a.countRequests(PATH, 'GET')).toBeGreaterThan(0);
    expect(b.countRequests(PATH, 'GET')).toBeGreaterThan(0);
  });

  test('takes the next mirror as the reference when the first URL does not answer', async () => {
    const body = generatedBody(2 * MiB, 124);
    await using good = await startTestServer({ files: [{ path: PATH, body }] });
    const gone = await startTestServer({ files: [{ path: PATH, body }] });
    const goneUrl = gone.url(PATH);
    await gone.stop();
    await using h = harness();
    const id = h.engine.addJob(goneUrl, { dir: h.dir, settings: { mirrors: [good.url(PATH)] } });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    const first = h.engine.snapshot().jobs[0]?.mirrors.find((m) => m.url === goneUrl);
    expect(first?.state).toBe('dropped');
    expect(first?.why).toContain(goneUrl);
  });

  test('resumes from a mirror on another host when the first URL is gone, without comparing its validators to the old host', async () => {
    const body = generatedBody(4 * MiB, 128);
    const knobs = { throttleBytesPerSec: 1 * MiB };
    const first = await startTestServer({ files: [{ path: PATH, body, etag: '"first"', knobs }] });
    const firstUrl = first.url(PATH);
    await using second = await startTestServer({ files: [{ path: PATH, body, etag: '"second"', knobs }] });
    await using h = harness({ isFileDb: true });
    const id = h.engine.addJob(firstUrl, { dir: h.dir, settings: { mirrors: [second.url(PATH)] } });
    const run = h.engine.run();
    await waitFor(() => h.repos.segments.list(id).some((s) => s.writtenBytes > 64 * 1024), {
      what: 'a checkpoint with progress',
    });
    h.engine.stop();
    await run;
    await first.stop();
    second.reset();

    await h.restartEngine().run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    expect(h.eventsOf('job-restarted')).toEqual([]);
    // The second run asked the second mirror with its own validator and never from byte 0 again.
    const ranged = second.requests.filter((r) => r.method === 'GET' && r.range !== null && r.range !== 'bytes=0-0');
    for (const r of ranged) expect(r.headers['if-range']).toBe('"second"');
    expect(second.bytesServed(PATH)).toBeLessThan(4 * MiB);
  });

  test('never sends a secret header to a mirror on another host', async () => {
    const body = generatedBody(4 * MiB, 125);
    await using origin = await startTestServer({
      files: [{ path: PATH, body, knobs: { requireHeaders: { authorization: 'Bearer s3cret' } } }],
    });
    await using mirror = await startTestServer({ files: [{ path: PATH, body }] });
    await using h = harness();
    // 127.0.0.1 and localhost are different hosts, as for redirects (http.ts).
    const id = h.engine.addJob(origin.url(PATH), {
      dir: h.dir,
      headers: { Authorization: 'Bearer s3cret', 'X-Api-Key': 'k3y' },
      settings: { mirrors: [mirror.url(PATH, { host: 'localhost' })] },
    });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    expect(mirror.bytesServed(PATH)).toBeGreaterThan(0);
    expect(mirror.requests.length).toBeGreaterThan(0);
    for (const r of mirror.requests) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-api-key']).toBeUndefined();
    }
    for (const r of origin.requests) expect(r.headers.authorization).toBe('Bearer s3cret');
  });
});
