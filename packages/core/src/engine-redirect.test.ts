/**
 * Redirects: followed up to 10 hops, loops detected, the final URL stored, and credentials
 * (Authorization, Cookie) never sent to another host, neither while probing nor on the
 * segment requests that go straight to the final URL.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, type RedirectRule, startTestServer } from './testing/index.ts';

// Every test ends by itself well within this (bun's default is 5 s; a busy 2-core machine is slower).
setDefaultTimeout(20_000);

const MiB = 1024 * 1024;

function chain(hops: number, target: string): Record<string, RedirectRule> {
  const rules: Record<string, RedirectRule> = {};
  for (let i = 0; i < hops; i++) rules[`/hop${i}`] = { to: i + 1 < hops ? `/hop${i + 1}` : target };
  return rules;
}

describe('redirects', () => {
  test('follows a chain of 10 hops and stores the final URL', async () => {
    const body = generatedBody(1 * MiB, 80);
    await using server = await startTestServer({
      files: [{ path: '/final.bin', body }],
      redirects: chain(10, '/final.bin'),
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/hop0'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(job.finalUrl).toBe(server.url('/final.bin'));
    expect(job.fileName).toBe('final.bin');
    expect(await h.sha256('final.bin')).toBe(body.sha256Hex());
    // Segments went straight to the final URL instead of walking the chain again.
    const segments = server.requests.filter((r) => r.method === 'GET' && r.path === '/final.bin');
    expect(segments.length).toBeGreaterThan(1);
    expect(server.requests.filter((r) => r.path === '/hop0')).toHaveLength(1);
  });

  test('fails with ERR_TOO_MANY_REDIRECTS after 10 hops, leaving no file', async () => {
    const body = generatedBody(1024, 81);
    await using server = await startTestServer({
      files: [{ path: '/final.bin', body }],
      redirects: chain(11, '/final.bin'),
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/hop0'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_TOO_MANY_REDIRECTS');
    expect(server.countRequests('/final.bin')).toBe(0);
    expect(h.files()).toEqual([]);
  });

  test('detects a redirect loop and fails with ERR_REDIRECT_LOOP', async () => {
    await using server = await startTestServer({
      redirects: { '/a': { to: '/b' }, '/b': { to: '/c' }, '/c': { to: '/a' } },
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/a'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_REDIRECT_LOOP');
    expect(job.errorMessage).toContain('/a -> ');
    // Detected on the first pass: each hop was asked once, with no retries.
    expect(server.countRequests('/a')).toBe(1);
    expect(h.files()).toEqual([]);
  });

  test('drops Authorization and Cookie when a redirect leaves the original host, on every request', async () => {
    const body = generatedBody(1 * MiB, 82);
    await using server = await startTestServer({
      files: [{ path: '/file.bin', body }],
      redirects: { '/start': { to: '/file.bin', host: 'localhost' } },
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/start'), {
      dir: h.dir,
      headers: { Authorization: 'Bearer secret-token', Cookie: 'session=abc', 'X-Trace': 'kept' },
    });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(job.finalUrl).toBe(server.url('/file.bin', { host: 'localhost' }));
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
    const original = server.requests.filter((r) => r.headers.host?.startsWith('127.0.0.1'));
    const crossHost = server.requests.filter((r) => r.headers.host?.startsWith('localhost'));
    expect(original.length).toBeGreaterThan(0);
    for (const r of original) expect(r.headers.authorization).toBe('Bearer secret-token');
    // Probe and every segment request on the other host: no credentials, other headers kept.
    expect(crossHost.filter((r) => r.method === 'GET').length).toBeGreaterThan(1);
    for (const r of crossHost) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['x-trace']).toBe('kept');
    }
  });

  test('keeps Authorization on a redirect within the same host', async () => {
    const body = generatedBody(256 * 1024, 83);
    await using server = await startTestServer({
      files: [{ path: '/file.bin', body, knobs: { requireHeaders: { authorization: 'Bearer t' } } }],
      redirects: { '/start': { to: '/file.bin' } },
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/start'), { dir: h.dir, headers: { Authorization: 'Bearer t' } });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('file.bin')).toBe(body.sha256Hex());
  });
});
