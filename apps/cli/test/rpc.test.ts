/**
 * aria2's JSON-RPC as the npm `aria2` client speaks it, against `ddm serve` and, when installed,
 * `aria2c --enable-rpc`: the same assertions for both, so they check aria2's protocol. Where ddm
 * deliberately differs, the test branches on `target.kind` and says why.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { makeBody, sha256Hex, startTestServer, type TestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, KiB, MiB } from './helpers.ts';
import {
  type Aria2Client,
  type RpcTarget,
  recordNotifications,
  type StatusResult,
  startTarget,
  TARGETS,
  waitForStatus,
} from './rpc-kit.ts';

const SECRET = 'rpc-test-secret';
const body = makeBody(3 * MiB + 123, 7);
const slowBody = makeBody(8 * MiB, 8);

describe.each(TARGETS)('aria2 JSON-RPC against %s', (kind) => {
  let target: RpcTarget;
  let files: TestServer;

  beforeAll(async () => {
    files = await startTestServer({
      files: [
        { path: '/file.bin', body },
        { path: '/slow.bin', body: slowBody, knobs: { throttleBytesPerSec: 256 * KiB } },
      ],
    });
    target = await startTarget(kind, SECRET);
  }, 30_000);

  afterAll(async () => {
    await target?.[Symbol.asyncDispose]();
    await files?.stop();
  });

  for (const transport of ['http', 'websocket'] as const) {
    test(`addUri over ${transport} downloads a byte-identical file and notifies start and complete`, async () => {
      const client = target.client();
      if (transport === 'websocket') await client.open();
      const seen = recordNotifications(client);
      try {
        const out = `file-${transport}.bin`;
        const gid = (await client.call('addUri', [files.url('/file.bin')], { dir: target.dir, out })) as string;
        expect(gid).toMatch(/^[0-9a-f]{16}$/);
        const done = await waitForStatus(client, gid, (s) => s.status === 'complete', 'the download to complete');
        expect(done.totalLength).toBe(String(body.length));
        expect(done.completedLength).toBe(String(body.length));
        expect(done.errorCode).toBe('0');
        expect(done.files[0]?.path).toBe(join(target.dir, out));
        expect(await fileSha256(join(target.dir, out))).toBe(sha256Hex(body));
        const picked = (await client.call('tellStatus', gid, ['gid', 'status'])) as Record<string, unknown>;
        expect(picked).toEqual({ gid, status: 'complete' });
        const stopped = (await client.call('tellStopped', 0, 100, ['gid'])) as { gid: string }[];
        expect(stopped.map((s) => s.gid)).toContain(gid);
        if (transport === 'websocket') {
          await waitFor(() => seen.some((n) => n.method === 'onDownloadComplete' && n.gid === gid), {
            what: 'onDownloadComplete',
          });
          expect(seen.some((n) => n.method === 'onDownloadStart' && n.gid === gid)).toBe(true);
        }
      } finally {
        if (transport === 'websocket') await client.close();
      }
    }, 60_000);
  }

  test('pause, unpause, changeOption limit and remove steer a running download, with notifications', async () => {
    const client = target.client();
    await client.open();
    const seen = recordNotifications(client);
    try {
      const gid = (await client.call('addUri', [files.url('/slow.bin')], {
        dir: target.dir,
        out: 'slow.bin',
        'max-download-limit': '100K',
      })) as string;
      await waitForStatus(client, gid, (s) => s.status === 'active', 'the download to start');
      expect(await client.call('pause', gid)).toBe(gid);
      await waitForStatus(client, gid, (s) => s.status === 'paused', 'the download to pause');
      await waitFor(() => seen.some((n) => n.method === 'onDownloadPause' && n.gid === gid), {
        what: 'onDownloadPause',
      });
      const waiting = (await client.call('tellWaiting', 0, 100, ['gid', 'status'])) as StatusResult[];
      expect(waiting).toContainEqual({ gid, status: 'paused' } as never);
      await expectRpcError(client.call('pause', gid), `GID#${gid} cannot be paused now`);
      expect(await client.call('unpause', gid)).toBe(gid);
      await expectRpcError(client.call('unpause', gid), `GID#${gid} cannot be unpaused now`);
      await waitForStatus(client, gid, (s) => s.status === 'active', 'the download to run again');
      expect(await client.call('changeOption', gid, { 'max-download-limit': '200K' })).toBe('OK');
      const option = (await client.call('getOption', gid)) as Record<string, string>;
      expect(option['max-download-limit']).toBe(String(200 * KiB));
      expect(option.dir).toBe(target.dir);
      expect(await client.call('remove', gid)).toBe(gid);
      const removed = await waitForStatus(client, gid, (s) => s.status === 'removed', 'the download to be removed');
      expect(removed.errorCode).toBe('31');
      await waitFor(() => seen.some((n) => n.method === 'onDownloadStop' && n.gid === gid), {
        what: 'onDownloadStop',
      });
      expect(await client.call('removeDownloadResult', gid)).toBe('OK');
      await expectRpcError(client.call('tellStatus', gid), `GID ${gid} is not found`);
    } finally {
      await client.close();
    }
  }, 60_000);

  test('changeGlobalOption sets the overall limit that getGlobalOption reports', async () => {
    const client = target.client();
    expect(await client.call('changeGlobalOption', { 'max-overall-download-limit': '1M' })).toBe('OK');
    const global = (await client.call('getGlobalOption')) as Record<string, string>;
    expect(global['max-overall-download-limit']).toBe(String(MiB));
    expect(await client.call('changeGlobalOption', { 'max-overall-download-limit': '0' })).toBe('OK');
    expect(((await client.call('getGlobalOption')) as Record<string, string>)['max-overall-download-limit']).toBe('0');
    const stat = (await client.call('getGlobalStat')) as Record<string, string>;
    for (const key of ['downloadSpeed', 'numActive', 'numWaiting', 'numStopped']) expect(stat[key]).toMatch(/^\d+$/);
  });

  test('a wrong or missing token is "Unauthorized"; listMethods needs none', async () => {
    await expectRpcError(target.client({ secret: 'wrong' }).call('getGlobalStat'), 'Unauthorized');
    await expectRpcError(target.client({ secret: '' }).call('getGlobalStat'), 'Unauthorized');
    const methods = (await target.client({ secret: '' }).call('system.listMethods')) as string[];
    for (const m of ['aria2.addUri', 'aria2.tellStatus', 'aria2.changeGlobalOption', 'system.multicall']) {
      expect(methods).toContain(m);
    }
    const notifications = (await target.client({ secret: 'x' }).call('system.listNotifications')) as string[];
    expect(notifications).toContain('aria2.onDownloadComplete');
  }, 30_000);

  test('bad params, unknown GIDs and unknown methods are errors with code 1', async () => {
    const client = target.client();
    await expectRpcError(client.call('tellStatus', 5), 'The parameter at 0 has wrong type.');
    await expectRpcError(client.call('addUri', 'http://x/'), 'The parameter at 0 has wrong type.');
    await expectRpcError(client.call('tellWaiting', -1, 'x'), 'The parameter at 1 has wrong type.');
    await expectRpcError(client.call('tellStatus', '00000000000000ff'), 'GID 00000000000000ff is not found');
    await expectRpcError(client.call('nope'), 'No such method: aria2.nope');
    await expectRpcError(
      client.call('addUri', [files.url('/file.bin')], { split: 'abc' }),
      /problem while processing the option '--split'/,
    );
  });

  test('multicall wraps each success in an array and answers failures with a fault', async () => {
    const client = target.client();
    const results = await client.multicall([['getGlobalStat'], ['nope'], ['tellStatus', 'zz']]);
    expect(Array.isArray(results[0]) && typeof (results[0] as unknown[])[0]).toBe('object');
    expect(results[1]).toEqual({ code: 1, message: 'No such method: aria2.nope' });
    expect((results[2] as { code: number }).code).toBe(1);
    const batch = await client.batch([['getGlobalStat'], ['nope']]);
    expect(await batch[0]).toHaveProperty('numActive');
    await expectRpcError(batch[1] as Promise<unknown>, 'No such method: aria2.nope');
  });

  test('raw HTTP: parse errors, invalid requests, GET with base64 params and JSONP', async () => {
    const parse = await fetch(target.url(), { method: 'POST', body: '{nope' });
    expect(parse.status).toBe(500);
    expect(((await parse.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const invalid = await fetch(target.url(), { method: 'POST', body: '{"a":1}' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const ok = await fetch(target.url(), {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 'q', method: 'aria2.getVersion', params: [`token:${SECRET}`] }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { version: string } }).result.version).toMatch(/^1\.\d+\.\d+$/);
    const params = encodeURIComponent(Buffer.from(JSON.stringify([`token:${SECRET}`])).toString('base64'));
    const get = await fetch(target.url(`?method=aria2.getGlobalStat&id=7&params=${params}`));
    expect(get.status).toBe(200);
    const getJson = (await get.json()) as { id: unknown; result: Record<string, string> };
    expect(getJson.id).toBe('7');
    expect(getJson.result).toHaveProperty('numActive');
    const jsonp = await fetch(target.url(`?method=aria2.getGlobalStat&id=8&params=${params}&jsoncallback=cb`));
    expect(jsonp.headers.get('content-type')).toContain('text/javascript');
    const text = await jsonp.text();
    expect(text.startsWith('cb({')).toBe(true);
    expect(text.endsWith('})')).toBe(true);
  });
});

async function expectRpcError(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).not.toBeNull();
  const { code, message: text } = caught as { code: number; message: string };
  expect(code).toBe(1);
  if (typeof message === 'string') expect(text).toBe(message);
  else expect(text).toMatch(message);
}

export type { Aria2Client };
