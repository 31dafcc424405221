import { describe, expect, test } from 'bun:test';
import { makeBody, sha256Hex } from './body.ts';
import { startForwardProxy } from './forward-proxy.ts';
import { startTestServer } from './test-server.ts';

describe('forward proxy', () => {
  test('relays an absolute-form GET, streaming a ranged body, and records it', async () => {
    const body = makeBody(4 * 1024 * 1024, 11);
    await using origin = await startTestServer({ files: [{ path: '/f.bin', body }] });
    await using proxy = await startForwardProxy();

    const whole = await fetch(origin.url('/f.bin'), { proxy: proxy.url, headers: { 'accept-encoding': 'identity' } });
    expect(whole.status).toBe(200);
    expect(sha256Hex(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256Hex(body));

    const ranged = await fetch(`${origin.url('/f.bin')}?q=1`, {
      proxy: proxy.url,
      headers: { 'accept-encoding': 'identity', range: 'bytes=10-19' },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 10-19/${body.length}`);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(body.subarray(10, 20));

    // Bun sends http:// requests to a proxy in absolute form, not through CONNECT.
    expect(proxy.requests.map((r) => [r.method, r.url])).toEqual([
      ['GET', origin.url('/f.bin')],
      ['GET', `${origin.url('/f.bin')}?q=1`],
    ]);
    expect(proxy.requests[0]?.headers['proxy-connection']).toBe('Keep-Alive');
    // The origin sees the relayed request without the proxy's hop-by-hop fields.
    expect(origin.requests[1]?.range).toBe('bytes=10-19');
    expect(origin.requests[1]?.headers['proxy-connection']).toBeUndefined();
  });

  test('relays a cut body as a cut body', async () => {
    const body = makeBody(1024 * 1024);
    await using origin = await startTestServer({
      files: [{ path: '/f', body, knobs: { dropAfterBytes: { bytes: 1000, times: 1 } } }],
    });
    await using proxy = await startForwardProxy();
    const response = await fetch(origin.url('/f'), { proxy: proxy.url, headers: { 'accept-encoding': 'identity' } });
    expect(response.headers.get('content-length')).toBe(String(body.length));
    expect(response.arrayBuffer()).rejects.toThrow();
  });

  test('refuses targets off loopback and requests not in absolute form', async () => {
    await using proxy = await startForwardProxy();
    const offLoopback = await fetch('http://192.0.2.1/x', { proxy: proxy.url });
    expect(offLoopback.status).toBe(403);
    const originForm = await fetch(`${proxy.url}/x`);
    expect(originForm.status).toBe(400);
  });
});
