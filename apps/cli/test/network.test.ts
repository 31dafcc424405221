import { describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startForwardProxy, startTestServer } from '@ddm/core/testing';
import { cliHome, sha256File } from './cli-harness.ts';

const MiB = 1024 * 1024;

describe('networks users live behind', () => {
  test('HTTP_PROXY carries every request; --proxy "" bypasses it; proxy credentials are redacted', async () => {
    const body = generatedBody(2 * MiB, 21);
    await using server = await startTestServer({ files: [{ path: '/p.bin', body }] });
    await using proxy = await startForwardProxy();
    using cli = cliHome();
    const proxyUrl = proxy.url.replace('http://', 'http://user:s3cretpw@');
    const result = await cli.run(['get', server.url('/p.bin'), '-x', '4', '-d', cli.dir, '--verbose'], {
      env: { HTTP_PROXY: proxyUrl },
    });
    // Only the one summary line: no warning, and never the proxy's password.
    expect(result.stderr).toMatch(/^p\.bin: 2\.0 MiB in .* average, .*\n$/);
    expect(result.stderr).not.toContain('s3cretpw');
    expect(result.exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'p.bin'))).toBe(body.sha256Hex());
    const viaProxy = proxy.requests.filter((r) => r.url.includes('/p.bin'));
    expect(viaProxy.length).toBeGreaterThanOrEqual(2);
    expect(viaProxy.every((r) => r.url.startsWith(server.origin))).toBe(true);
    const log = readFileSync(join(cli.home, 'ddm.log'), 'utf8');
    expect(log).not.toContain('s3cretpw');

    const before = proxy.requests.length;
    const direct = await cli.run(['get', server.url('/p.bin'), '-d', cli.dir, '--proxy', ''], {
      env: { HTTP_PROXY: proxy.url },
    });
    expect(direct.exitCode).toBe(0);
    expect(proxy.requests.length).toBe(before);
  });

  test('NO_PROXY exempts a host', async () => {
    const body = generatedBody(256 * 1024, 22);
    await using server = await startTestServer({ files: [{ path: '/n.bin', body }] });
    await using proxy = await startForwardProxy();
    using cli = cliHome();
    const result = await cli.run(['get', server.url('/n.bin'), '-d', cli.dir], {
      env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
    });
    expect(result.exitCode).toBe(0);
    expect(proxy.requests).toHaveLength(0);
  });

  test('~/.netrc credentials go to the matching host only, never across a redirect', async () => {
    const body = generatedBody(128 * 1024, 23);
    const basic = `Basic ${Buffer.from('alice:pw1').toString('base64')}`;
    await using server = await startTestServer({
      files: [{ path: '/private.bin', body, knobs: { requireHeaders: { authorization: basic } } }],
    });
    using cli = cliHome();
    const netrc = join(cli.home, '..', 'netrc');
    writeFileSync(netrc, 'machine 127.0.0.1 login alice password pw1\n');
    const result = await cli.run(['get', server.url('/private.bin'), '-d', cli.dir, '--netrc-file', netrc]);
    expect(result.exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'private.bin'))).toBe(body.sha256Hex());
    const denied = await cli.run([
      'get',
      server.url('/private.bin', { host: 'localhost' }),
      '-d',
      cli.dir,
      '--netrc-file',
      netrc,
    ]);
    expect(denied.exitCode).toBe(3);
    expect(denied.stderr).toContain('403');
    const localhostRequests = server.requests.filter((r) => r.headers.host?.startsWith('localhost'));
    expect(localhostRequests.length).toBeGreaterThan(0);
    expect(localhostRequests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  test('ddm bench sends the netrc credentials and user agent a job would, and only to the matching host', async () => {
    const body = generatedBody(256 * 1024, 25);
    const basic = `Basic ${Buffer.from('alice:pw1').toString('base64')}`;
    await using server = await startTestServer({
      files: [{ path: '/private.bin', body, knobs: { requireHeaders: { authorization: basic } } }],
      redirects: { '/away': { to: '/private.bin', host: 'localhost' } },
    });
    using cli = cliHome();
    const netrc = join(cli.home, '..', 'netrc-bench');
    writeFileSync(netrc, 'machine 127.0.0.1 login alice password pw1\n');
    const result = await cli.run(['bench', server.url('/private.bin'), '--max', '2', '--netrc-file', netrc]);
    expect(result.exitCode).toBe(0);
    const ranged = server.requests.filter((r) => r.range !== null);
    expect(ranged.length).toBeGreaterThanOrEqual(3);
    expect(ranged.every((r) => r.headers['user-agent']?.startsWith('ddm/'))).toBe(true);

    const away = await cli.run(['bench', server.url('/away'), '--max', '2', '--netrc-file', netrc]);
    expect(away.exitCode).toBe(3);
    const localhostRequests = server.requests.filter((r) => r.headers.host?.startsWith('localhost'));
    expect(localhostRequests.length).toBeGreaterThan(0);
    expect(localhostRequests.every((r) => r.headers.authorization === undefined)).toBe(true);

    const missing = await cli.run(['bench', server.url('/private.bin'), '--netrc-file', join(cli.home, 'none')]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('Cannot read netrc file');
  });
});

describe('hooks', () => {
  test('on_complete gets the job in its environment; a failing on_error is logged, not fatal', async () => {
    const body = generatedBody(64 * 1024, 24);
    await using server = await startTestServer({ files: [{ path: '/h.bin', body }] });
    using cli = cliHome();
    const record = join(cli.home, '..', 'hook.txt');
    const result = await cli.run(['get', server.url('/h.bin'), '-d', cli.dir], {
      env: { DDM_ON_COMPLETE: `echo "$DDM_JOB_ID|$DDM_JOB_STATE|$DDM_JOB_PATH" > ${record}` },
    });
    expect(result.exitCode).toBe(0);
    expect(readFileSync(record, 'utf8').trim()).toBe(`1|completed|${join(cli.dir, 'h.bin')}`);

    const failing = await cli.run(['get', server.url('/missing'), '-d', cli.dir], { env: { DDM_ON_ERROR: 'exit 7' } });
    expect(failing.exitCode).toBe(3);
    const log = readFileSync(join(cli.home, 'ddm.log'), 'utf8');
    expect(log).toContain('on_error');
  });
});
