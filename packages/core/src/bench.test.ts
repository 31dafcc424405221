import { describe, expect, test } from 'bun:test';
import { type BenchRow, connectionCounts, measureConnections, pickBestConnections, splitEvenly } from './bench.ts';
import { DdmError } from './errors.ts';
import type { RequestContext } from './http.ts';
import { makeBody, startTestServer } from './testing/index.ts';

const MiB = 1024 * 1024;
const context: RequestContext = { headers: {}, userAgent: 'ddm-test', connectTimeoutMs: 5000 };

function row(connections: number, mibPerSec: number): BenchRow {
  return { connections, bytes: MiB, seconds: 1 / mibPerSec, bytesPerSec: mibPerSec * MiB };
}

describe('connectionCounts', () => {
  test('doubles from 1 and ends at the maximum', () => {
    expect(connectionCounts(16)).toEqual([1, 2, 4, 8, 16]);
    expect(connectionCounts(12)).toEqual([1, 2, 4, 8, 12]);
    expect(connectionCounts(1)).toEqual([1]);
    expect(() => connectionCounts(0)).toThrow(RangeError);
  });
});

describe('pickBestConnections', () => {
  test('picks the smallest count within 5% of the top rate', () => {
    expect(pickBestConnections([row(1, 10), row(2, 19), row(4, 39.5), row(8, 40), row(16, 41)])).toBe(4);
    expect(pickBestConnections([row(1, 100), row(2, 99), row(4, 80)])).toBe(1);
    expect(pickBestConnections([row(1, 10), row(2, 20), row(4, 40), row(8, 80), row(16, 160)])).toBe(16);
  });

  test('refuses an empty table', () => {
    expect(() => pickBestConnections([])).toThrow(RangeError);
  });
});

describe('splitEvenly', () => {
  test('covers every byte once', () => {
    const ranges = splitEvenly(10, 3);
    expect(ranges).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 6 },
      { start: 6, end: 10 },
    ]);
  });
});

describe('measureConnections', () => {
  test('picks more connections when each connection is capped, with one row per count', async () => {
    // 1 MiB at 1 MiB/s per connection: 1 s with one connection, 0.25 s with four. The gap
    // between counts is 2x, far beyond any scheduling noise.
    const body = makeBody(4 * MiB, 3);
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body, knobs: { throttleBytesPerSec: MiB } }],
    });
    const seen: number[] = [];
    const report = await measureConnections({
      url: server.url('/f.bin'),
      context,
      maxConnections: 4,
      sampleBytes: MiB,
      onRow: (r) => seen.push(r.connections),
    });

    expect(report.results.map((r) => r.connections)).toEqual([1, 2, 4]);
    expect(seen).toEqual([1, 2, 4]);
    for (const r of report.results) {
      expect(r.bytes).toBe(MiB);
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.bytesPerSec).toBeCloseTo(r.bytes / r.seconds, 6);
    }
    expect(report.bestConnections).toBe(4);
    expect(report.host).toBe(new URL(server.origin).host);
    expect(report.sizeBytes).toBe(body.length);
    expect(report.sampleBytes).toBe(MiB);

    const ranged = server.requests.filter((r) => r.method === 'GET' && r.range !== null);
    expect(ranged.map((r) => r.range).sort()).toEqual(
      [
        'bytes=0-1048575',
        'bytes=0-524287',
        'bytes=524288-1048575',
        'bytes=0-262143',
        'bytes=262144-524287',
        'bytes=524288-786431',
        'bytes=786432-1048575',
      ].sort(),
    );
    for (const r of ranged) {
      expect(r.headers['accept-encoding']).toBe('identity');
      expect(r.headers['if-range']).toBeDefined();
    }
    // Each range went over its own fresh connection.
    expect(new Set(ranged.map((r) => r.connectionId)).size).toBe(ranged.length);
  });

  test('measures only the first part of a large file', async () => {
    const body = makeBody(3 * MiB, 5);
    await using server = await startTestServer({ files: [{ path: '/big', body }] });
    const report = await measureConnections({
      url: server.url('/big'),
      context,
      maxConnections: 2,
      sampleBytes: MiB,
    });
    expect(report.results.map((r) => [r.connections, r.bytes])).toEqual([
      [1, MiB],
      [2, MiB],
    ]);
    const sent = server.requests.filter((r) => r.method === 'GET').reduce((s, r) => s + r.bodyBytesSent, 0);
    expect(sent).toBeLessThanOrEqual(2 * MiB + 1);
  });

  test('follows a redirect and stores the host the user asked for', async () => {
    const body = makeBody(64 * 1024, 9);
    await using server = await startTestServer({
      files: [{ path: '/real.bin', body }],
      redirects: { '/go': { to: '/real.bin', host: 'localhost' } },
    });
    const report = await measureConnections({ url: server.url('/go'), context, maxConnections: 2, sampleBytes: MiB });
    expect(report.host).toBe(`127.0.0.1:${server.port}`);
    expect(report.finalUrl).toBe(server.url('/real.bin', { host: 'localhost' }));
    expect(report.sampleBytes).toBe(body.length);
  });

  test('refuses a server without Range support', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(MiB), knobs: { noRanges: true } }],
    });
    const error = await measureConnections({ url: server.url('/f'), context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DdmError);
    expect((error as DdmError).code).toBe('ERR_RANGE_UNSUPPORTED');
  });

  test('rejects a Content-Range that does not match the request', async () => {
    await using server = await startTestServer({
      files: [{ path: '/f', body: makeBody(MiB), knobs: { wrongContentRange: true } }],
    });
    const error = await measureConnections({ url: server.url('/f'), context, maxConnections: 2 }).catch(
      (e: unknown) => e,
    );
    expect((error as DdmError).code).toBe('ERR_RANGE_MISMATCH');
  });
});

describe('measureConnections keeps secrets with the host the user asked for', () => {
  const secrets = { 'X-Api-Key': 'secret-key', 'X-Auth-Token': 'secret-token', Authorization: 'Bearer secret' };
  const secretContext: RequestContext = { ...context, headers: { ...secrets, 'X-Trace': 'plain' } };

  /** Every request a redirected host saw lacks the secret headers; some of them were ranges. */
  function expectNoSecrets(requests: readonly { headers: Readonly<Record<string, string>>; range: string | null }[]) {
    const ranged = requests.filter((r) => r.range !== null);
    expect(ranged.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.headers['x-api-key']).toBeUndefined();
      expect(r.headers['x-auth-token']).toBeUndefined();
      expect(r.headers.authorization).toBeUndefined();
      // Headers that are not secret still go along, as for a job.
      expect(r.headers['x-trace']).toBe('plain');
    }
  }

  test('a redirect to a server on another port never receives X-Api-Key, X-Auth-Token or Authorization', async () => {
    const body = makeBody(256 * 1024, 11);
    await using target = await startTestServer({ files: [{ path: '/real.bin', body }] });
    await using origin = await startTestServer({ redirects: { '/go': { to: target.url('/real.bin') } } });
    const report = await measureConnections({
      url: origin.url('/go'),
      context: secretContext,
      maxConnections: 2,
      sampleBytes: MiB,
    });
    expect(report.finalUrl).toBe(target.url('/real.bin'));
    expect(origin.requests.length).toBeGreaterThan(0);
    for (const r of origin.requests) expect(r.headers['x-api-key']).toBe('secret-key');
    expectNoSecrets(target.requests);
  });

  test('a redirect to another host name on the same server never receives them either', async () => {
    const body = makeBody(256 * 1024, 12);
    await using server = await startTestServer({
      files: [{ path: '/real.bin', body }],
      redirects: { '/go': { to: '/real.bin', host: 'localhost' } },
    });
    await measureConnections({ url: server.url('/go'), context: secretContext, maxConnections: 2, sampleBytes: MiB });
    const redirected = server.requests.filter((r) => r.headers.host?.startsWith('localhost'));
    expectNoSecrets(redirected);
  });
});
