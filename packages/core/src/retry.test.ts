import { describe, expect, test } from 'bun:test';
import net from 'node:net';
import fc from 'fast-check';
import { DdmError, HttpStatusError } from './errors.ts';
import {
  backoffDelayMs,
  classifyError,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelayMs,
} from './retry.ts';

describe('backoffDelayMs', () => {
  const options = { baseDelayMs: 500, maxDelayMs: 30_000 };

  test('doubles the ceiling with each attempt (full jitter: random * ceiling)', () => {
    const almostOne = () => 0.999_999;
    expect(backoffDelayMs(1, options, almostOne)).toBe(499);
    expect(backoffDelayMs(2, options, almostOne)).toBe(999);
    expect(backoffDelayMs(3, options, almostOne)).toBe(1999);
    expect(backoffDelayMs(1, options, () => 0.5)).toBe(250);
    expect(backoffDelayMs(4, options, () => 0)).toBe(0);
  });

  test('never exceeds the maximum, even for huge attempts', () => {
    expect(backoffDelayMs(10_000, options, () => 0.999_999)).toBe(29_999);
    expect(backoffDelayMs(Number.POSITIVE_INFINITY, options, () => 0.5)).toBe(250);
  });

  test('treats attempts below 1 as the first retry', () => {
    expect(backoffDelayMs(0, options, () => 0.5)).toBe(250);
    expect(backoffDelayMs(-3, options, () => 0.5)).toBe(250);
  });

  test('is an integer in [0, maxDelayMs] for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 5000 }),
        fc.nat({ max: 1_000_000 }),
        fc.nat({ max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, random) => {
          const delay = backoffDelayMs(attempt, { baseDelayMs, maxDelayMs }, () => random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(maxDelayMs);
        },
      ),
    );
  });
});

describe('retryDelayMs', () => {
  const settings = { retryBaseDelayMs: 500, retryMaxDelayMs: 30_000 };

  test('is the full-jitter backoff when the server asked for no delay', () => {
    const network = new DdmError('Connection closed', { code: 'ERR_NETWORK', retryable: true });
    expect(retryDelayMs(network, 3, settings, () => 0.5)).toBe(
      backoffDelayMs(3, { baseDelayMs: 500, maxDelayMs: 30_000 }, () => 0.5),
    );
    expect(retryDelayMs(new HttpStatusError(503, 'http://x/'), 1, settings, () => 0.5)).toBe(250);
    expect(retryDelayMs(new Error('plain'), 2, settings, () => 0.5)).toBe(500);
  });

  test('waits at least what Retry-After asked for, even beyond the backoff maximum', () => {
    const asked = new HttpStatusError(429, 'http://x/', 90_000);
    expect(retryDelayMs(asked, 1, settings, () => 0.999_999)).toBe(90_000);
    const short = new HttpStatusError(503, 'http://x/', 100);
    expect(retryDelayMs(short, 3, settings, () => 0.5)).toBe(1000);
  });

  test('is never below Retry-After nor below the backoff, for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.option(fc.nat({ max: MAX_RETRY_AFTER_MS }), { nil: null }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, retryAfterMs, random) => {
          const delay = retryDelayMs(
            new HttpStatusError(503, 'http://x/', retryAfterMs),
            attempt,
            settings,
            () => random,
          );
          const backoff = backoffDelayMs(attempt, { baseDelayMs: 500, maxDelayMs: 30_000 }, () => random);
          expect(delay).toBe(Math.max(retryAfterMs ?? 0, backoff));
        },
      ),
    );
  });
});

describe('parseRetryAfter', () => {
  const nowMs = Date.parse('2024-05-01T12:00:00Z');

  test('reads delta-seconds', () => {
    expect(parseRetryAfter('120', nowMs)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', nowMs)).toBe(0);
  });

  test('reads the three HTTP-date forms as UTC', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', nowMs)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 01-May-24 12:01:00 GMT', nowMs)).toBe(60_000);
    expect(parseRetryAfter('Wed May  1 12:00:05 2024', nowMs)).toBe(5_000);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:10', nowMs)).toBe(10_000);
  });

  test('reads a date in the past as no delay', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', nowMs)).toBe(0);
  });

  test('caps long delays at one hour', () => {
    expect(parseRetryAfter('86400', nowMs)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('99999999999999999999999', nowMs)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Thu, 01 May 2025 12:00:00 GMT', nowMs)).toBe(MAX_RETRY_AFTER_MS);
  });

  test.each([null, '', '  ', 'soon', '-5', '1.5', '5s', 'Foo, 01 May 2024 12:00:00 GMT', 'Wed, 99 Mai 2024'])(
    'returns null for %p',
    (value) => {
      expect(parseRetryAfter(value, nowMs)).toBeNull();
    },
  );
});

describe('isRetryableStatus', () => {
  test.each([500, 502, 503, 504, 599, 408, 429])('retries %p', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  test.each([200, 206, 301, 400, 401, 403, 404, 410, 416, 499, 600])('does not retry %p', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });

  test('agrees with HttpStatusError.retryable for every status from 400 to 599', () => {
    for (let status = 400; status < 600; status++) {
      expect(isRetryableStatus(status)).toBe(new HttpStatusError(status, 'http://x/').retryable);
    }
  });
});

const withCode = (code: string): Error => Object.assign(new TypeError('boom'), { code });

describe('classifyError', () => {
  test('passes a DdmError through with its own code and retryable flag', () => {
    expect(classifyError(new DdmError('stalled', { code: 'ERR_STALLED', retryable: true }))).toEqual({
      code: 'ERR_STALLED',
      retryable: true,
    });
    expect(classifyError(new HttpStatusError(404, 'http://x/'))).toEqual({ code: 'ERR_HTTP_STATUS', retryable: false });
    expect(classifyError(new HttpStatusError(503, 'http://x/'))).toEqual({ code: 'ERR_HTTP_STATUS', retryable: true });
  });

  test.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EAI_AGAIN',
    'ENETUNREACH',
    'ConnectionRefused',
    'ConnectionClosed',
  ])('retries the network failure %p', (code) => {
    expect(classifyError(withCode(code))).toEqual({ code: 'ERR_NETWORK', retryable: true });
  });

  test('fails at once on an unknown host at the first request, retries it later', () => {
    expect(classifyError(withCode('ENOTFOUND'))).toEqual({ code: 'ERR_NETWORK', retryable: false });
    expect(classifyError(withCode('ENOTFOUND'), { hasReachedHost: true })).toEqual({
      code: 'ERR_NETWORK',
      retryable: true,
    });
  });

  test('maps timeouts, aborts, disk, file-system, URL and TLS errors', () => {
    expect(classifyError(new DOMException('timed out', 'TimeoutError'))).toEqual({
      code: 'ERR_TIMEOUT',
      retryable: true,
    });
    expect(classifyError(new DOMException('aborted', 'AbortError'))).toEqual({
      code: 'ERR_CANCELED',
      retryable: false,
    });
    expect(classifyError(withCode('ENOSPC'))).toEqual({ code: 'ERR_DISK_FULL', retryable: false });
    expect(classifyError(withCode('EACCES'))).toEqual({ code: 'ERR_IO', retryable: false });
    expect(classifyError(withCode('ERR_INVALID_ARG_VALUE'))).toEqual({ code: 'ERR_INVALID_URL', retryable: false });
    expect(classifyError(withCode('DEPTH_ZERO_SELF_SIGNED_CERT'))).toEqual({ code: 'ERR_NETWORK', retryable: false });
  });

  test('looks through the cause chain, and does not retry what it cannot recognise', () => {
    expect(classifyError(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toEqual({
      code: 'ERR_NETWORK',
      retryable: true,
    });
    expect(classifyError(new Error('mystery'))).toEqual({ code: 'ERR_NETWORK', retryable: false });
    expect(classifyError('a string')).toEqual({ code: 'ERR_NETWORK', retryable: false });
    expect(classifyError(null)).toEqual({ code: 'ERR_NETWORK', retryable: false });
    expect(classifyError(withCode('E_SOMETHING_NEW'))).toEqual({ code: 'ERR_NETWORK', retryable: false });
  });
});

/** A raw TCP server: Bun.serve is too polite to misbehave like this. */
async function rawServer(onRequest: (socket: net.Socket) => void): Promise<{ url: string } & AsyncDisposable> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => onRequest(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function fetchError(url: string, init?: RequestInit): Promise<unknown> {
  try {
    const response = await fetch(url, init);
    await response.arrayBuffer();
  } catch (error) {
    return error;
  }
  throw new Error(`expected fetch to fail: ${url}`);
}

describe('Bun fetch failures', () => {
  test('a closed port is a retryable network error (ECONNREFUSED)', async () => {
    const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') });
    const url = `http://127.0.0.1:${probe.port}/`;
    await probe.stop(true);
    const error = await fetchError(url);
    expect((error as { code?: unknown }).code).toBe('ECONNREFUSED');
    expect(classifyError(error)).toEqual({ code: 'ERR_NETWORK', retryable: true });
  });

  test('a socket destroyed mid-body is a retryable network error (ECONNRESET)', async () => {
    await using server = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
      setTimeout(() => socket.destroy(), 20);
    });
    const error = await fetchError(server.url);
    expect((error as { code?: unknown }).code).toBe('ECONNRESET');
    expect(classifyError(error)).toEqual({ code: 'ERR_NETWORK', retryable: true });
  });

  test('a connection closed before the response head is a retryable network error', async () => {
    await using server = await rawServer((socket) => socket.destroy());
    expect(classifyError(await fetchError(server.url))).toEqual({ code: 'ERR_NETWORK', retryable: true });
  });

  test('a fired AbortSignal.timeout is a retryable timeout; a plain abort is a cancel', async () => {
    await using server = await rawServer(() => {});
    expect(classifyError(await fetchError(server.url, { signal: AbortSignal.timeout(20) }))).toEqual({
      code: 'ERR_TIMEOUT',
      retryable: true,
    });
    const controller = new AbortController();
    const pending = fetchError(server.url, { signal: controller.signal });
    controller.abort();
    expect(classifyError(await pending)).toEqual({ code: 'ERR_CANCELED', retryable: false });
  });

  test('an abort with a DdmError reason keeps that error', async () => {
    await using server = await rawServer(() => {});
    const controller = new AbortController();
    const pending = fetchError(server.url, { signal: controller.signal });
    controller.abort(new DdmError('No bytes for 30 s: GET url', { code: 'ERR_STALLED', retryable: true }));
    expect(classifyError(await pending)).toEqual({ code: 'ERR_STALLED', retryable: true });
  });
});
