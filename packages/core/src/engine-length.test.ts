/**
 * A known length is a contract for every body: a response must end exactly where it promised
 * (its Content-Range end, its Content-Length, or the size the probe learned for a 200). More is
 * ERR_SIZE_MISMATCH, less is retried and then fails: never a silent cut, never exit 0 with a
 * wrong file. With no length anywhere the size is learned at the end.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { type RawFraming, type RawHandler, rawResponse, sha256Hex, startRawServer } from './testing/index.ts';

setDefaultTimeout(20_000);

const SIZE = 256 * 1024;
const EXTRA = 1000;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

const BODY = bytes(SIZE + EXTRA, 1);
const FILE = BODY.subarray(0, SIZE);

/**
 * A server that refuses HEAD (405), so the probe is `GET bytes=0-0`, answered 200 with
 * `probeFraming`; every plain GET after that gets 200 with `getBytes` bytes framed by `getFraming`.
 */
function singleConnection(probeFraming: RawFraming, getBytes: number, getFraming: RawFraming): RawHandler {
  return async (connection, head) => {
    if (head.startsWith('HEAD ')) {
      await connection.write('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      await connection.end();
      return;
    }
    const isProbe = /\r\nrange: bytes=0-0/i.test(head);
    await rawResponse(connection, {
      status: 200,
      body: isProbe ? FILE : BODY.subarray(0, getBytes),
      framing: isProbe ? probeFraming : getFraming,
    });
  };
}

/** A ranged server whose 206 answers carry `extraBytes` beyond their Content-Range, framed by `framing`. */
function ranged(extraBytes: number, framing: RawFraming): RawHandler {
  return async (connection, head) => {
    const headers = { 'accept-ranges': 'bytes', etag: '"v1"' };
    if (head.startsWith('HEAD ')) {
      await connection.write(
        `HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\naccept-ranges: bytes\r\netag: "v1"\r\nconnection: close\r\n\r\n`,
      );
      await connection.end();
      return;
    }
    const m = /\r\nrange: bytes=(\d+)-(\d+)/i.exec(head);
    const start = Number(m?.[1] ?? 0);
    const end = Math.min(SIZE - 1, Number(m?.[2] ?? SIZE - 1));
    await rawResponse(connection, {
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${start}-${end}/${SIZE}` },
      body: BODY.subarray(start, end + 1 + extraBytes),
      framing,
    });
  };
}

describe('a 200 on one connection, size known from the probe', () => {
  for (const framing of [{ kind: 'chunked' }, { kind: 'close' }] as const) {
    test(`a body longer than the probed size (${framing.kind}) fails with ERR_SIZE_MISMATCH, no final file`, async () => {
      await using raw = await startRawServer(singleConnection({ kind: 'length' }, SIZE + EXTRA, framing));
      await using h = harness();
      const id = h.engine.addJob(raw.url('/long.bin'), { dir: h.dir });
      await h.engine.run();
      const job = h.job(id);
      expect(job.state).toBe('failed');
      expect(job.errorCode).toBe('ERR_SIZE_MISMATCH');
      expect(job.errorMessage).toContain('longer than promised');
      expect(h.exists('long.bin')).toBe(false);
    });
  }

  test('a body whose Content-Length differs from the probed size is never success', async () => {
    await using raw = await startRawServer(singleConnection({ kind: 'length' }, SIZE + EXTRA, { kind: 'length' }));
    await using h = harness();
    const id = h.engine.addJob(raw.url('/other.bin'), { dir: h.dir });
    await h.engine.run();
    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_RESOURCE_CHANGED');
    expect(h.exists('other.bin')).toBe(false);
  });

  for (const framing of [{ kind: 'chunked' }, { kind: 'close' }] as const) {
    test(`a body shorter than the probed size (${framing.kind}) is retried, then fails, no final file`, async () => {
      await using raw = await startRawServer(singleConnection({ kind: 'length' }, SIZE - EXTRA, framing));
      await using h = harness({ settings: { retryAttempts: 2 } });
      const id = h.engine.addJob(raw.url('/short.bin'), { dir: h.dir });
      await h.engine.run();
      const job = h.job(id);
      expect(job.state).toBe('failed');
      expect(job.errorCode).toBe('ERR_NETWORK');
      expect(h.exists('short.bin')).toBe(false);
      expect(h.eventsOf('segment-retry').length).toBeGreaterThan(0);
    });
  }

  test('a body exactly as long as the probed size (chunked) completes', async () => {
    await using raw = await startRawServer(singleConnection({ kind: 'length' }, SIZE, { kind: 'chunked' }));
    await using h = harness();
    const id = h.engine.addJob(raw.url('/exact.bin'), { dir: h.dir });
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('exact.bin')).toBe(sha256Hex(FILE));
  });

  test('with no length anywhere (chunked), the size is learned at the end', async () => {
    await using raw = await startRawServer(singleConnection({ kind: 'chunked' }, SIZE, { kind: 'chunked' }));
    await using h = harness();
    const id = h.engine.addJob(raw.url('/nolen.bin'), { dir: h.dir });
    await h.engine.run();
    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(job.sizeBytes).toBe(SIZE);
    expect(await h.sha256('nolen.bin')).toBe(sha256Hex(FILE));
  });
});

describe('206 bodies', () => {
  for (const framing of [{ kind: 'chunked' }, { kind: 'close' }] as const) {
    test(`a 206 without Content-Length that streams past its Content-Range end (${framing.kind}) fails with ERR_SIZE_MISMATCH`, async () => {
      await using raw = await startRawServer(ranged(EXTRA, framing));
      await using h = harness();
      const id = h.engine.addJob(raw.url('/past.bin'), { dir: h.dir });
      await h.engine.run();
      const job = h.job(id);
      expect(job.state).toBe('failed');
      expect(job.errorCode).toBe('ERR_SIZE_MISMATCH');
      expect(h.exists('past.bin')).toBe(false);
    });
  }

  test('206 bodies without Content-Length that end at their Content-Range end complete', async () => {
    await using raw = await startRawServer(ranged(0, { kind: 'chunked' }));
    await using h = harness();
    const id = h.engine.addJob(raw.url('/exact.bin'), { dir: h.dir });
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('exact.bin')).toBe(sha256Hex(FILE));
  });
});
