import { describe, expect, test } from 'bun:test';
import { gunzipSync } from 'node:zlib';
import { makeBody, sha256Hex } from './body.ts';
import { signedFile, startTestServer } from './test-server.ts';
import { waitFor } from './wait.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A plain GET as a segmented client sends it: no compression, no redirects unless asked. */
function get(url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { headers: { 'accept-encoding': 'identity', ...headers }, decompress: false, ...init });
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Reads a body until it ends or fails; returns what arrived and the failure, if any. */
async function readAll(response: Response): Promise<{ received: number; error: unknown }> {
  const reader = response.body?.getReader();
  let received = 0;
  if (!reader) return { received, error: null };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { received, error: null };
      received += value.length;
    }
  } catch (error) {
    return { received, error };
  }
}

describe('plain file', () => {
  const body = makeBody(100_000, 3);

  test('answers HEAD with length, validators and Accept-Ranges, and GET with the body', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body, contentDisposition: 'attachment; filename="f.bin"' }],
    });
    const head = await fetch(server.url('/f.bin'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(head.headers.get('last-modified')).toBe('Wed, 01 Jan 2025 00:00:00 GMT');
    expect(head.headers.get('content-disposition')).toBe('attachment; filename="f.bin"');

    const response = await get(server.url('/f.bin'));
    expect(response.status).toBe(200);
    expect(sha256Hex(await bytesOf(response))).toBe(sha256Hex(body));
    expect(server.requests.map((r) => [r.method, r.status, r.bodyBytesSent, r.outcome])).toEqual([
      ['HEAD', 200, 0, 'complete'],
      ['GET', 200, 100_000, 'complete'],
    ]);
  });

  test('answers the three single-range forms with 206 and a matching Content-Range', async () => {
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });
    const cases = [
      ['bytes=10-19', 'bytes 10-19/100000', body.subarray(10, 20)],
      ['bytes=99990-', 'bytes 99990-99999/100000', body.subarray(99_990)],
      ['bytes=-5', 'bytes 99995-99999/100000', body.subarray(99_995)],
    ] as const;
    for (const [range, contentRange, expected] of cases) {
      const response = await get(server.url('/f.bin'), { range });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(contentRange);
      expect(response.headers.get('content-length')).toBe(String(expected.length));
      expect(await bytesOf(response)).toEqual(expected);
    }
  });

  test('answers 416 with bytes */size to an unsatisfiable range and 200 to several ranges', async () => {
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });
    const unsatisfiable = await get(server.url('/f.bin'), { range: 'bytes=100000-' });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe('bytes */100000');
    const several = await get(server.url('/f.bin'), { range: 'bytes=0-1,5-6' });
    expect(several.status).toBe(200);
    expect((await bytesOf(several)).length).toBe(100_000);
  });

  test('answers 404 to an unknown path and 405 to other methods', async () => {
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });
    expect((await get(server.url('/nope'))).status).toBe(404);
    const post = await fetch(server.url('/f.bin'), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  test('serves the same bytes for a memory body and a generated body', async () => {
    const { generatedBody } = await import('./body.ts');
    await using server = await startTestServer({
      files: [
        { path: '/mem', body: makeBody(3 * MiB + 1, 9) },
        { path: '/gen', body: generatedBody(3 * MiB + 1, 9) },
      ],
    });
    const [mem, gen] = await Promise.all([get(server.url('/mem')), get(server.url('/gen'))]);
    expect(sha256Hex(await bytesOf(gen))).toBe(sha256Hex(await bytesOf(mem)));
    expect(gen.headers.get('etag')).toBe('"g9-300001"');
    const range = await get(server.url('/gen'), { range: 'bytes=1000001-2000002' });
    expect(await bytesOf(range)).toEqual(makeBody(3 * MiB + 1, 9).subarray(1_000_001, 2_000_003));
  });
});

describe('knobs', () => {
  const body = makeBody(64 * KiB, 5);

  test('noRanges answers a Range with 200, the whole body and no Accept-Ranges', async () => {
    await using server = await startTestServer({ files: [{ path: '/f', body, knobs: { noRanges: true } }] });
    const response = await get(server.url('/f'), { range: 'bytes=0-9' });
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBeNull();
    expect((await bytesOf(response)).length).toBe(body.length);
    expect((await fetch(server.url('/f'), { method: 'HEAD' })).headers.get('accept-ranges')).toBeNull();
  });

  test('noLength streams chunked with no Content-Length, on GET and HEAD', async () => {
    await using server = await startTestServer({ files: [{ path: '/f', body, knobs: { noLength: true } }] });
    const response = await get(server.url('/f'), { range: 'bytes=0-9' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(await bytesOf(response)).toEqual(body);
    const head = await fetch(server.url('/f'), { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBeNull();
  });

  test('headStatus refuses HEAD while GET works; headNoLength drops the length from HEAD only', async () => {
    await using server = await startTestServer({
      files: [
        { path: '/refused', body, knobs: { headStatus: 403 } },
        { path: '/nolen', body, knobs: { headNoLength: true } },
      ],
    });
    expect((await fetch(server.url('/refused'), { method: 'HEAD' })).status).toBe(403);
    const probe = await get(server.url('/refused'), { range: 'bytes=0-0' });
    expect(probe.status).toBe(206);
    expect(probe.headers.get('content-range')).toBe(`bytes 0-0/${body.length}`);
    const head = await fetch(server.url('/nolen'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBeNull();
    expect((await get(server.url('/nolen'))).headers.get('content-length')).toBe(String(body.length));
  });

  test('range200AfterRequests answers 200 to a Range once n GETs were served', async () => {
    await using server = await startTestServer({ files: [{ path: '/f', body, knobs: { range200AfterRequests: 2 } }] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await get(server.url('/f'), { range: 'bytes=100-199' });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([206, 206, 200]);
  });

  test('wrongContentRange answers a shifted range whose body matches its own Content-Range', async () => {
    await using server = await startTestServer({
      files: [
        { path: '/always', body, knobs: { wrongContentRange: true } },
        { path: '/later', body, knobs: { wrongContentRange: { afterRequests: 1, shiftBytes: 7 } } },
      ],
    });
    const shifted = await get(server.url('/always'), { range: 'bytes=0-99' });
    expect(shifted.status).toBe(206);
    expect(shifted.headers.get('content-range')).toBe(`bytes 50-149/${body.length}`);
    expect(await bytesOf(shifted)).toEqual(body.subarray(50, 150));

    const first = await get(server.url('/later'), { range: 'bytes=0-99' });
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${body.length}`);
    await first.arrayBuffer();
    const second = await get(server.url('/later'), { range: 'bytes=0-99' });
    expect(second.headers.get('content-range')).toBe(`bytes 7-106/${body.length}`);
  });

  test('changeAfterRequests serves a new version, and a stale If-Range gets 200 with it', async () => {
    const newBody = makeBody(80 * KiB, 6);
    await using server = await startTestServer({
      files: [
        {
          path: '/f',
          body,
          etag: '"v1"',
          knobs: { changeAfterRequests: { requests: 1, body: newBody, etag: '"v2"' } },
        },
      ],
    });
    const first = await get(server.url('/f'), { range: 'bytes=0-99' });
    expect(first.status).toBe(206);
    expect(first.headers.get('etag')).toBe('"v1"');
    const oldLastModified = first.headers.get('last-modified') ?? '';
    await first.arrayBuffer();

    const stale = await get(server.url('/f'), { range: 'bytes=100-199', 'if-range': '"v1"' });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('etag')).toBe('"v2"');
    expect(stale.headers.get('last-modified')).not.toBe(oldLastModified);
    expect(await bytesOf(stale)).toEqual(newBody);

    const staleDate = await get(server.url('/f'), { range: 'bytes=100-199', 'if-range': oldLastModified });
    expect(staleDate.status).toBe(200);
    await staleDate.arrayBuffer();

    const fresh = await get(server.url('/f'), { range: 'bytes=100-199', 'if-range': '"v2"' });
    expect(fresh.status).toBe(206);
    expect(await bytesOf(fresh)).toEqual(newBody.subarray(100, 200));
    expect((await fetch(server.url('/f'), { method: 'HEAD' })).headers.get('content-length')).toBe(
      String(newBody.length),
    );
  });

  test('If-Range with the current Last-Modified date lets the range apply', async () => {
    await using server = await startTestServer({ files: [{ path: '/f', body, etag: null }] });
    const response = await get(server.url('/f'), { range: 'bytes=0-9', 'if-range': 'Wed, 01 Jan 2025 00:00:00 GMT' });
    expect(response.status).toBe(206);
    expect(response.headers.get('etag')).toBeNull();
  });

  test('dropAfterBytes cuts the first responses after n bytes, then serves whole ones', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(MiB), knobs: { dropAfterBytes: { bytes: 100_000, times: 2 } } }],
    });
    for (let i = 0; i < 2; i++) {
      const response = await get(server.url('/f'));
      expect(response.headers.get('content-length')).toBe(String(MiB));
      const { received, error } = await readAll(response);
      expect(received).toBe(100_000);
      // Bun's fetch reports a body cut short of Content-Length as ECONNRESET.
      expect((error as { code?: string }).code).toBe('ECONNRESET');
    }
    const whole = await readAll(await get(server.url('/f'), { range: 'bytes=0-' }));
    expect(whole).toEqual({ received: MiB, error: null });
    expect(server.requests.map((r) => [r.outcome, r.bodyBytesSent])).toEqual([
      ['dropped', 100_000],
      ['dropped', 100_000],
      ['complete', MiB],
    ]);
  });

  test('dieAfterBytes cuts the response under way once n bytes went out, then refuses connections', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(4 * MiB) }],
      dieAfterBytes: MiB,
    });
    const { received, error } = await readAll(await get(server.url('/f')));
    // The sockets are destroyed at once, so the client may get less than what was written.
    expect(server.bytesServed('/f')).toBeGreaterThanOrEqual(MiB);
    expect(received).toBeLessThan(4 * MiB);
    expect(error).not.toBeNull();
    const refused = await get(server.url('/f')).catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
  });

  test('stallAfterBytes goes silent with the socket open until the client gives up', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body, knobs: { stallAfterBytes: { bytes: 1000, times: 1 } } }],
    });
    const abort = new AbortController();
    const response = await get(server.url('/f'), {}, { signal: abort.signal });
    const reading = readAll(response);
    const record = await waitFor(() => server.requests.find((r) => r.outcome === 'stalled'));
    expect(record.bodyBytesSent).toBe(1000);
    expect(record.endedAt).toBeNull();
    expect(server.openConnectionsFor('/f')).toBe(1);
    abort.abort();
    const { received, error } = await reading;
    expect(received).toBe(1000);
    expect(error).toBeTruthy();
    await waitFor(() => record.endedAt !== null);
    await waitFor(() => server.openConnections === 0);
    expect(await bytesOf(await get(server.url('/f')))).toEqual(body);
  });

  test('failFirst answers the first GETs with the status and Retry-After, then recovers', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body, knobs: { failFirst: { count: 2, status: 503, retryAfter: '1' } } }],
    });
    for (let i = 0; i < 2; i++) {
      const response = await get(server.url('/f'));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      await response.arrayBuffer();
    }
    expect((await get(server.url('/f'))).status).toBe(200);
  });

  test('compressRanges gzips 206 bodies, always or only when gzip is accepted', async () => {
    await using server = await startTestServer({
      files: [
        { path: '/always', body, knobs: { compressRanges: true } },
        { path: '/accepted', body, knobs: { compressRanges: 'if-accepted' } },
      ],
    });
    const always = await get(server.url('/always'), { range: 'bytes=0-999' });
    expect(always.status).toBe(206);
    expect(always.headers.get('content-encoding')).toBe('gzip');
    expect(always.headers.get('content-range')).toBe(`bytes 0-999/${body.length}`);
    expect(new Uint8Array(gunzipSync(await bytesOf(always)))).toEqual(body.subarray(0, 1000));

    const identity = await get(server.url('/accepted'), { range: 'bytes=0-999' });
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect((await bytesOf(identity)).length).toBe(1000);
    const gzip = await get(server.url('/accepted'), { range: 'bytes=0-999', 'accept-encoding': 'gzip, br' });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
  });

  test('requireHeaders and requireCookie answer 403 until the request carries them', async () => {
    await using server = await startTestServer({
      files: [
        { path: '/h', body, knobs: { requireHeaders: { Authorization: 'Bearer t', 'user-agent': /^Mozilla\// } } },
        { path: '/c', body, knobs: { requireCookie: { name: 'session', value: 'abc' } } },
      ],
    });
    expect((await get(server.url('/h'), { authorization: 'Bearer t' })).status).toBe(403);
    expect((await get(server.url('/h'), { authorization: 'Bearer t', 'user-agent': 'Mozilla/5.0' })).status).toBe(200);
    expect((await get(server.url('/c'), { cookie: 'session=nope' })).status).toBe(403);
    expect((await get(server.url('/c'), { cookie: 'a=1; session=abc' })).status).toBe(200);
    expect((await fetch(server.url('/c'), { method: 'HEAD' })).status).toBe(403);
  });
});

describe('throttling and accounting', () => {
  test('throttleBytesPerSec caps a response near its rate and the timeline records it', async () => {
    const body = makeBody(512 * KiB);
    await using server = await startTestServer({ files: [{ path: '/f', body, knobs: { throttleBytesPerSec: MiB } }] });
    const startedAt = server.now();
    const { received } = await readAll(await get(server.url('/f')));
    const elapsedMs = server.now() - startedAt;
    expect(received).toBe(body.length);
    // 512 KiB at 1 MiB/s is 500 ms; loose bounds for a loaded 2-core machine.
    expect(elapsedMs).toBeGreaterThan(400);
    expect(elapsedMs).toBeLessThan(2500);
    expect(server.bytesServed('/f')).toBe(body.length);
    expect(server.bytesServed('/f', startedAt, startedAt + 200)).toBeLessThan(body.length / 2);
    expect(server.bytesServed('/other')).toBe(0);
    expect(server.bytesServed(undefined, server.now())).toBe(0);
  });

  test('slowRequest caps only the nth ranged GET', async () => {
    const body = makeBody(256 * KiB);
    await using server = await startTestServer({
      files: [{ path: '/f', body, knobs: { slowRequest: { nth: 2, bytesPerSec: 256 * KiB } } }],
    });
    const timings: number[] = [];
    for (const range of ['bytes=0-65535', 'bytes=65536-131071', 'bytes=131072-196607']) {
      const startedAt = server.now();
      await readAll(await get(server.url('/f'), { range }));
      timings.push(server.now() - startedAt);
    }
    // 64 KiB at 256 KiB/s is 250 ms; the others run at loopback speed.
    expect(timings[1]).toBeGreaterThan(200);
    expect(timings[0]).toBeLessThan(timings[1] ?? 0);
    expect(timings[2]).toBeLessThan(timings[1] ?? 0);
  });

  test('counts open and peak connections per path, with connection ids', async () => {
    const body = makeBody(256 * KiB);
    await using server = await startTestServer({
      files: [
        { path: '/slow', body, knobs: { throttleBytesPerSec: 256 * KiB } },
        { path: '/fast', body },
      ],
    });
    const ranges = ['bytes=0-65535', 'bytes=65536-131071', 'bytes=131072-196607', 'bytes=196608-'];
    const downloads = ranges.map(async (range) => readAll(await get(server.url('/slow'), { range })));
    await waitFor(() => server.openConnectionsFor('/slow') === 4, { what: '4 open responses' });
    expect(server.openConnections).toBe(4);
    expect(server.openSockets).toBeGreaterThanOrEqual(4);
    await Promise.all(downloads);
    await waitFor(() => server.openConnections === 0);
    expect(server.maxOpenConnections).toBe(4);
    expect(server.maxOpenConnectionsFor('/slow')).toBe(4);
    expect(server.maxOpenConnectionsFor('/fast')).toBe(0);
    expect(new Set(server.requests.map((r) => r.connectionId)).size).toBe(4);
    expect(server.requests.every((r) => r.endedAt !== null && r.endedAt >= r.startedAt)).toBe(true);
    expect(server.countRequests('/slow', 'GET')).toBe(4);

    server.reset();
    expect(server.requests).toEqual([]);
    expect(server.maxOpenConnections).toBe(0);
    expect(server.bytesServed()).toBe(0);
  });

  test('records the request as sent: lower-case headers, range and body prefix', async () => {
    const body = makeBody(1000);
    await using server = await startTestServer({ files: [{ path: '/f', body }], logBodies: true });
    await (await get(`${server.url('/f')}?x=1`, { Range: 'bytes=10-', 'X-Trace': 'abc' })).arrayBuffer();
    const [record] = server.requests;
    expect(record?.path).toBe('/f');
    expect(record?.url).toBe('/f?x=1');
    expect(record?.range).toBe('bytes=10-');
    expect(record?.headers['x-trace']).toBe('abc');
    expect(record?.status).toBe(206);
    expect(record?.firstBytes).toEqual(body.subarray(10, 74));
  });

  test('reset with knobCounters starts the knob counts again', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(10), knobs: { failFirst: { count: 1, status: 429 } } }],
    });
    expect((await get(server.url('/f'))).status).toBe(429);
    expect((await get(server.url('/f'))).status).toBe(200);
    server.reset({ knobCounters: true });
    expect((await get(server.url('/f'))).status).toBe(429);
  });

  test('stop ends stalled responses and refuses new connections', async () => {
    const server = await startTestServer({
      files: [{ path: '/f', body: makeBody(10_000), knobs: { stallAfterBytes: { bytes: 10, times: 1 } } }],
    });
    const reading = readAll(await get(server.url('/f')));
    await waitFor(() => server.requests[0]?.outcome === 'stalled');
    await server.stop();
    const { received, error } = await reading;
    expect(received).toBe(10);
    expect(error).toBeTruthy();
    expect(get(server.url('/f'))).rejects.toThrow();
  });
});

describe('redirects', () => {
  const body = makeBody(1000);

  test('follows a chain to the file, keeping relative Locations', async () => {
    await using server = await startTestServer({
      files: [{ path: '/file', body }],
      redirects: { '/a': { to: '/b', status: 301 }, '/b': { to: '/file', status: 307 } },
    });
    const manual = await get(server.url('/a'), {}, { redirect: 'manual' });
    expect(manual.status).toBe(301);
    expect(manual.headers.get('location')).toBe('/b');
    const followed = await get(server.url('/a'));
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(server.url('/file'));
    expect(server.requests.map((r) => [r.path, r.status])).toEqual([
      ['/a', 301],
      ['/a', 301],
      ['/b', 307],
      ['/file', 200],
    ]);
  });

  test('a redirect loop makes fetch give up with TooManyRedirects', async () => {
    await using server = await startTestServer({ redirects: { '/x': { to: '/y' }, '/y': { to: '/x' } } });
    const error = await get(server.url('/x')).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('TooManyRedirects');
    expect(server.requests.length).toBeGreaterThan(10);
  });

  test('a cross-host redirect reaches the same server as localhost, without credentials', async () => {
    await using server = await startTestServer({
      files: [{ path: '/file', body }],
      redirects: { '/start': { to: '/file', host: 'localhost' } },
    });
    const response = await get(server.url('/start'), { authorization: 'Bearer t', cookie: 'a=b' });
    expect(response.status).toBe(200);
    expect(response.url).toBe(server.url('/file', { host: 'localhost' }));
    const [first, second] = server.requests;
    expect(first?.headers.host).toBe(`127.0.0.1:${server.port}`);
    expect(second?.headers.host).toBe(`localhost:${server.port}`);
    // Bun's fetch drops Authorization and Cookie when a redirect changes the host name.
    expect(second?.headers.authorization).toBeUndefined();
    expect(second?.headers.cookie).toBeUndefined();
  });

  test('setRedirect and setFile change the catalogue while running', async () => {
    await using server = await startTestServer();
    server.setFile({ path: '/new', body });
    server.setRedirect('/old', { to: server.url('/new') });
    const response = await get(server.url('/old'));
    expect(response.status).toBe(200);
    expect(await bytesOf(response)).toEqual(body);
  });
});

describe('signed URLs', () => {
  test('the original URL hands out signed URLs that expire and must be renewed', async () => {
    const body = makeBody(10_000);
    await using server = await startTestServer({ files: [signedFile('/dl/file.bin', { body }, 300)] });

    const first = await get(server.url('/dl/file.bin'), { range: 'bytes=0-99' });
    expect(first.status).toBe(206);
    expect(first.url).toMatch(/\/dl\/file\.bin\/signed\?sig=[0-9a-f]+&exp=\d+$/);
    expect(await bytesOf(first)).toEqual(body.subarray(0, 100));

    const signedUrl = first.url;
    const expired = await waitFor(
      async () => {
        const response = await get(signedUrl, { range: 'bytes=100-199' });
        await response.arrayBuffer();
        return response.status === 403 ? response : null;
      },
      { intervalMs: 50, what: 'the signed URL to expire' },
    );
    expect(expired.status).toBe(403);

    const renewed = await get(server.url('/dl/file.bin'), { range: 'bytes=100-199' });
    expect(renewed.status).toBe(206);
    expect(renewed.url).not.toBe(signedUrl);
    expect(await bytesOf(renewed)).toEqual(body.subarray(100, 200));

    const stats = server.signedStats('/dl/file.bin');
    expect(stats.originalRequests).toBe(2);
    expect(stats.rejectedRequests).toBe(1);
    expect(stats.signedRequests).toBe(server.countRequests('/dl/file.bin/signed'));
  });

  test('an unknown signature is refused with expiredStatus', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(10), knobs: { expireAfterMs: 60_000, expiredStatus: 410 } }],
    });
    expect((await get(server.url('/f/signed?sig=forged&exp=1'))).status).toBe(410);
    expect((await get(server.url('/f'), {}, { redirect: 'manual' })).status).toBe(302);
  });
});
