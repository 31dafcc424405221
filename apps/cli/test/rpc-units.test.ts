/** Pure parts of the RPC server: paging, GIDs, the guards, notifications, envelopes. */
import { describe, expect, test } from 'bun:test';
import { gidOf, jobIdOf } from '../src/rpc/gid.ts';
import { notificationFor } from '../src/rpc/notifications.ts';
import { addOptionsFrom } from '../src/rpc/options.ts';
import { handleText, RpcError } from '../src/rpc/protocol.ts';
import { decideOrigin, failureDelayMs, isHostAllowed, parseOrigins, tokenMatches } from '../src/rpc/security.ts';
import { page } from '../src/rpc/shapes.ts';

describe('rpc units', () => {
  test('page follows aria2: positive offsets forward, negative ones backwards from the end', () => {
    const items = [0, 1, 2, 3, 4];
    expect(page(items, 1, 2)).toEqual([1, 2]);
    expect(page(items, -1, 2)).toEqual([4, 3]);
    expect(page(items, -2, 10)).toEqual([3, 2, 1, 0]);
    expect(page(items, 10, 2)).toEqual([]);
    expect(page(items, -10, 2)).toEqual([]);
    expect(page(items, 0, 0)).toEqual([]);
  });

  test('GIDs are 16 hex digits of the job id and nothing else maps to a job', () => {
    expect(gidOf(255)).toBe('00000000000000ff');
    expect(jobIdOf('00000000000000ff')).toBe(255);
    expect(jobIdOf('ff')).toBeNull();
    expect(jobIdOf('zzzzzzzzzzzzzzzz')).toBeNull();
    expect(jobIdOf('0000000000000000')).toBeNull();
    expect(jobIdOf('ffffffffffffffff')).toBeNull();
  });

  test('tokens compare equal only when identical, whatever their length', () => {
    expect(tokenMatches('secret', 'secret')).toBe(true);
    expect(tokenMatches('secreT', 'secret')).toBe(false);
    expect(tokenMatches('', 'secret')).toBe(false);
    expect(tokenMatches('secret-and-more', 'secret')).toBe(false);
  });

  test('failed tokens wait longer each time, up to a cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 100].map(failureDelayMs);
    for (let i = 1; i < delays.length; i++) expect(delays[i] as number).toBeGreaterThanOrEqual(delays[i - 1] as number);
    expect(delays[0]).toBeGreaterThan(0);
    expect(delays.at(-1)).toBe(4000);
  });

  test('Host must be a loopback name unless listening on all interfaces', () => {
    expect(isHostAllowed('127.0.0.1:6800', false)).toBe(true);
    expect(isHostAllowed('localhost:6800', false)).toBe(true);
    expect(isHostAllowed('[::1]:6800', false)).toBe(true);
    expect(isHostAllowed('evil.example:6800', false)).toBe(false);
    expect(isHostAllowed('127.0.0.1.evil.example', false)).toBe(false);
    expect(isHostAllowed(null, false)).toBe(false);
    expect(isHostAllowed('nas.local:6800', true)).toBe(true);
  });

  test('browser requests pass only from allowed origins; programs pass', () => {
    const none = { isAnyOriginAllowed: false, allowedOrigins: parseOrigins('http://localhost:8080/, ') };
    expect(decideOrigin(null, null, none).isAllowed).toBe(true);
    expect(decideOrigin('https://evil.example', null, none).isAllowed).toBe(false);
    expect(decideOrigin('null', null, none).isAllowed).toBe(false);
    expect(decideOrigin(null, 'cross-site', none).isAllowed).toBe(false);
    expect(decideOrigin(null, 'none', none).isAllowed).toBe(true);
    const listed = decideOrigin('http://localhost:8080', null, none);
    expect(listed.isAllowed && listed.corsHeaders['Access-Control-Allow-Origin']).toBe('http://localhost:8080');
    const all = decideOrigin('https://any.example', 'cross-site', { isAnyOriginAllowed: true, allowedOrigins: [] });
    expect(all.isAllowed && all.corsHeaders['Access-Control-Allow-Origin']).toBe('*');
  });

  test('engine state changes become aria2 notifications; a restart is not a new start', () => {
    const at = 0;
    const note = (from: string, to: string) =>
      notificationFor({ type: 'job-state', jobId: 2, from, to, reason: null, at } as never)?.method ?? null;
    expect(note('queued', 'probing')).toBe('aria2.onDownloadStart');
    expect(note('downloading', 'probing')).toBeNull();
    expect(note('downloading', 'paused')).toBe('aria2.onDownloadPause');
    expect(note('paused', 'canceled')).toBe('aria2.onDownloadStop');
    expect(note('verifying', 'completed')).toBe('aria2.onDownloadComplete');
    expect(note('downloading', 'failed')).toBe('aria2.onDownloadError');
    expect(notificationFor({ type: 'job-removed', jobId: 2, at })).toBeNull();
  });

  test('addUri options map onto the CLI rules', () => {
    const defaults = { dir: '/tmp', connections: 8, maxConnectionsPerJob: 16 };
    const { options, isPaused } = addOptionsFrom(
      {
        split: '4',
        'max-connection-per-server': '1',
        header: ['X-A: 1'],
        referer: '*',
        'max-download-limit': '1M',
        checksum: `sha-256=${'a'.repeat(64)}`,
        pause: 'true',
      },
      defaults,
      ['http://a/x', 'http://b/x'],
    );
    expect(options.connections).toBe(2);
    expect(options.headers).toEqual({ 'X-A': '1', Referer: 'http://a/x' });
    expect(options.limitBytesPerSec).toBe(1024 * 1024);
    expect(isPaused).toBe(true);
    for (const bad of [
      { split: '0' },
      { split: 3 },
      { out: 'a/b' },
      { dir: 'rel' },
      { 'on-bt-download-complete': 'x' },
    ]) {
      expect(() => addOptionsFrom(bad, defaults, ['http://a/x'])).toThrow(RpcError);
    }
  });

  test('envelopes: a thrown non-RPC error is a code-1 answer, never a crash', async () => {
    const reply = await handleText('{"jsonrpc":"2.0","id":3,"method":"m"}', async () => {
      throw new TypeError('boom');
    });
    expect(reply).toEqual({ body: { id: 3, jsonrpc: '2.0', error: { code: 1, message: 'boom' } }, httpStatus: 400 });
    const nested = await handleText(
      JSON.stringify({
        id: 1,
        method: 'system.multicall',
        params: [[{ methodName: 'system.multicall', params: [] }, 5]],
      }),
      async () => 'ok',
    );
    const result = (nested.body as { result: { code: number }[] }).result;
    expect(result.map((r) => r.code)).toEqual([1, 1]);
  });
});
