/**
 * What only ddm's RPC server does: jobs shared with the CLI, and the security rules aria2 lacks
 * (Host and Origin checks, no listen-all without a secret, no hooks over RPC, path checks,
 * a body limit) plus a fuzz of random bodies that must leave the server answering.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { makeBody, startTestServer, type TestServer, waitFor } from '@ddm/core/testing';
import { KiB, Sandbox } from './helpers.ts';
import { type RpcTarget, recordNotifications, startDdmServe, waitForStatus } from './rpc-kit.ts';

const SECRET = 'ddm-only-secret';

describe('ddm serve: jobs are one set with the CLI', () => {
  let target: RpcTarget;
  let files: TestServer;
  beforeAll(async () => {
    files = await startTestServer({
      files: [{ path: '/slow.bin', body: makeBody(4 * 1024 * KiB, 3), knobs: { throttleBytesPerSec: 128 * KiB } }],
    });
    target = await startDdmServe(SECRET);
  }, 30_000);
  afterAll(async () => {
    await target?.[Symbol.asyncDispose]();
    await files?.stop();
  });

  test('a job added over RPC is in ddm status; ddm pause reaches it and RPC clients hear of it', async () => {
    const sandbox = target.sandbox as Sandbox;
    const client = target.client();
    await client.open();
    const seen = recordNotifications(client);
    try {
      const gid = (await client.call('addUri', [files.url('/slow.bin'), files.url('/slow.bin?m=2')], {
        dir: target.dir,
        out: 'rpc.bin',
      })) as string;
      const id = Number.parseInt(gid, 16);
      const job = await sandbox.job(id);
      expect(job.path).toBe(`${target.dir}/rpc.bin`);
      const uris = (await client.call('getUris', gid)) as { uri: string }[];
      expect(uris.map((u) => u.uri)).toEqual([files.url('/slow.bin'), files.url('/slow.bin?m=2')]);
      await waitForStatus(client, gid, (s) => s.status === 'active', 'the RPC job to start');
      await sandbox.ok(['pause', String(id)]);
      await waitForStatus(client, gid, (s) => s.status === 'paused', 'ddm pause to reach the RPC job');
      await waitFor(() => seen.some((n) => n.method === 'onDownloadPause' && n.gid === gid), {
        what: 'onDownloadPause after ddm pause',
      });
      expect(await client.call('remove', gid)).toBe(gid);
    } finally {
      await client.close();
    }
  }, 60_000);

  test('aria2.addUri([a, b]) builds one file from both URIs; getServers and files[].uris show each', async () => {
    const body = makeBody(4 * 1024 * KiB, 9);
    const knobs = { throttleBytesPerSec: 512 * KiB };
    await using a = await startTestServer({ files: [{ path: '/m.bin', body, knobs }] });
    await using b = await startTestServer({ files: [{ path: '/m.bin', body, knobs }] });
    const client = target.client();
    const gid = (await client.call('addUri', [a.url('/m.bin'), b.url('/m.bin')], {
      dir: target.dir,
      out: 'mirrored.bin',
      split: '4',
    })) as string;
    type Servers = { index: string; servers: { uri: string; downloadSpeed: string }[] }[];
    await waitFor(
      async () => {
        const status = (await client.call('tellStatus', gid, ['status'])) as { status: string };
        // Throttled, the job runs at least 2 s: both mirrors must show a speed while it does.
        if (status.status === 'complete') throw new Error('the job completed before getServers showed both mirrors');
        if (status.status !== 'active') return false;
        const [file] = (await client.call('getServers', gid)) as Servers;
        return file?.servers.filter((s) => Number(s.downloadSpeed) > 0).length === 2;
      },
      { timeoutMs: 30_000, what: 'getServers to list both mirrors with a speed' },
    );
    const done = await waitForStatus(client, gid, (s) => s.status === 'complete', 'the mirrored job to complete');
    expect(done.files[0]?.uris.map((u) => u.uri)).toEqual([a.url('/m.bin'), b.url('/m.bin')]);
    expect(
      new Bun.CryptoHasher('sha256').update(await Bun.file(`${target.dir}/mirrored.bin`).bytes()).digest('hex'),
    ).toBe(new Bun.CryptoHasher('sha256').update(body).digest('hex'));
    expect(a.bytesServed('/m.bin')).toBeGreaterThan(0);
    expect(b.bytesServed('/m.bin')).toBeGreaterThan(0);
  }, 60_000);

  test('a job added by ddm add in another process is visible over RPC', async () => {
    const sandbox = target.sandbox as Sandbox;
    const client = target.client();
    const id = await sandbox.add(files.url('/slow.bin'), '-o', 'cli.bin');
    const gid = id.toString(16).padStart(16, '0');
    await waitFor(
      async () => {
        const listed = [
          ...((await client.call('tellActive', ['gid'])) as { gid: string }[]),
          ...((await client.call('tellWaiting', 0, 100, ['gid'])) as { gid: string }[]),
        ];
        return listed.some((s) => s.gid === gid);
      },
      { timeoutMs: 20_000, what: 'the ddm add job in tellActive/tellWaiting' },
    );
    const status = (await client.call('tellStatus', gid, ['files'])) as { files: { path: string }[] };
    expect(status.files[0]?.path).toBe(`${sandbox.dir}/cli.bin`);
    expect(await client.call('forceRemove', gid)).toBe(gid);
  }, 60_000);

  test('RPC options cannot set hooks or escape the path rules', async () => {
    const client = target.client();
    const url = files.url('/slow.bin');
    await expect(client.call('addUri', [url], { 'on-download-complete': '/bin/sh' })).rejects.toMatchObject({
      code: 1,
      message: expect.stringContaining('cannot be set over RPC'),
    });
    await expect(client.call('changeGlobalOption', { 'on-download-error': 'rm -rf ~' })).rejects.toMatchObject({
      code: 1,
    });
    await expect(client.call('addUri', [url], { out: '../escape.bin' })).rejects.toMatchObject({ code: 1 });
    await expect(client.call('addUri', [url], { dir: 'relative/dir' })).rejects.toMatchObject({ code: 1 });
    await expect(client.call('addUri', ['file:///etc/passwd'])).rejects.toMatchObject({ code: 1 });
    await expect(client.call('addUri', [url], { header: 'Bad\r\nHeader' })).rejects.toMatchObject({ code: 1 });
    await expect(client.call('addTorrent', 'AAAA')).rejects.toMatchObject({
      code: 1,
      message: expect.stringContaining('not supported by ddm'),
    });
  });

  test('Host and Origin guards refuse browser and rebinding requests before any method runs', async () => {
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aria2.pauseAll', params: [`token:${SECRET}`] });
    const rebinding = await fetch(target.url(), { method: 'POST', body: call, headers: { Host: 'evil.example' } });
    expect(rebinding.status).toBe(403);
    const page = await fetch(target.url(), { method: 'POST', body: call, headers: { Origin: 'https://evil.example' } });
    expect(page.status).toBe(403);
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const script = await fetch(target.url('?method=aria2.tellActive&jsoncallback=steal'), {
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(script.status).toBe(403);
    const local = await fetch(target.url(), {
      method: 'POST',
      body: call,
      headers: { Host: `localhost:${target.port}` },
    });
    expect(local.status).toBe(200);
  });

  test('a body over 2 MiB is refused and the server keeps answering', async () => {
    const huge = `{"jsonrpc":"2.0","id":1,"method":"aria2.getVersion","params":["${'x'.repeat(3 * 1024 * KiB)}"]}`;
    const refused = await fetch(target.url(), { method: 'POST', body: huge }).then(
      (r) => r.status,
      () => 'closed',
    );
    expect([413, 'closed']).toContain(refused);
    expect(await target.client().call('getVersion')).toHaveProperty('version');
  });
});

describe('ddm serve: start-up rules', () => {
  test('--rpc-listen-all without a secret is refused', async () => {
    await using sandbox = new Sandbox();
    const result = await sandbox.run(['serve', '--rpc-listen-port', '0', '--rpc-listen-all']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('without a secret');
  });

  test('--rpc-allow-origin-all sends CORS headers and answers preflights', async () => {
    await using target = await startDdmServe(SECRET, ['--rpc-allow-origin-all']);
    const preflight = await fetch(target.url(), { method: 'OPTIONS', headers: { Origin: 'http://ariang.example' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aria2.getVersion', params: [`token:${SECRET}`] });
    const answer = await fetch(target.url(), {
      method: 'POST',
      body: call,
      headers: { Origin: 'http://ariang.example' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  }, 30_000);

  test('a fuzz of random bodies gets JSON-RPC answers and never stops the server', async () => {
    await using target = await startDdmServe('');
    const methods = ((await target.client().call('system.listMethods')) as string[]).filter(
      (m) => !/shutdown/i.test(m),
    );
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const values = (): unknown =>
      pick([null, true, 0, -1, 1e308, 'x', '', '0000000000000001', [], {}, ['http://127.0.0.1:1/a'], { dir: 5 }, [[]]]);
    for (let i = 0; i < 300; i++) {
      const kind = i % 4;
      let bodyText: string;
      if (kind === 0)
        bodyText = Array.from({ length: Math.floor(random() * 64) }, () =>
          String.fromCharCode(Math.floor(random() * 256)),
        ).join('');
      else if (kind === 1) bodyText = JSON.stringify(values());
      else {
        const request = {
          jsonrpc: '2.0',
          id: pick([1, 'a', null, {}]),
          method: pick([...methods, 'system.multicall', 42, undefined]),
          params: random() < 0.2 ? values() : Array.from({ length: Math.floor(random() * 4) }, values),
        };
        bodyText = JSON.stringify(kind === 3 ? [request, request] : request);
      }
      const response = await fetch(target.url(), { method: 'POST', body: bodyText });
      expect([200, 400, 500]).toContain(response.status);
      JSON.parse(await response.text());
    }
    expect(target.process?.proc.exitCode).toBeNull();
    expect(await target.client({ secret: '' }).call('getVersion')).toHaveProperty('version');
  }, 60_000);
});
