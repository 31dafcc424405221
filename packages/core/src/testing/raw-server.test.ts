import { describe, expect, test } from 'bun:test';
import { makeBody } from './body.ts';
import { garbage, headersThenClose, lyingLength, startRawServer } from './raw-server.ts';

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

describe('raw server', () => {
  test('a Content-Length that promises more than is sent ends in a body error', async () => {
    await using server = await startRawServer(lyingLength({ body: makeBody(1000), declaredBytes: 5000 }));
    const response = await fetch(server.url('/f'), { headers: { 'accept-encoding': 'identity' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5000');
    const { received, error } = await readAll(response);
    expect(received).toBeLessThanOrEqual(1000);
    expect(error).toBeTruthy();
    expect(server.requests[0]?.requestLine).toBe('GET /f HTTP/1.1');
  });

  test('a body longer than Content-Length is cut at the declared length', async () => {
    await using server = await startRawServer(lyingLength({ body: makeBody(1000), declaredBytes: 10 }));
    const response = await fetch(server.url('/f'));
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(makeBody(1000).subarray(0, 10));
  });

  test('a non-HTTP reply and headers-then-close make fetch fail', async () => {
    await using banner = await startRawServer(garbage());
    expect(fetch(banner.url('/'))).rejects.toThrow();
    await using empty = await startRawServer(headersThenClose(100));
    const response = await fetch(empty.url('/'));
    expect((await readAll(response)).error).toBeTruthy();
  });

  test('a custom handler writes large replies with backpressure and sees every request head', async () => {
    const body = makeBody(8 * 1024 * 1024);
    await using server = await startRawServer(async (connection, head) => {
      // Bun's fetch title-cases the headers it knows ("Range") and keeps others as given.
      expect(head).toContain('\r\nRange: bytes=0-');
      await connection.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
      await connection.write(body);
    });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(server.url('/big'), { headers: { range: 'bytes=0-' } });
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(body);
    }
    // Bun's fetch reuses the keep-alive connection for the second request.
    expect(server.requests.map((r) => r.connectionId)).toEqual([1, 1]);
    expect(server.connectionCount).toBe(1);
  });
});
