/**
 * `ddm add --curl`: the "Copy as cURL" text of Chrome (bash and cmd quoting) and Firefox, as the
 * browsers write it, queued with the real CLI and downloaded by `ddm run` from a local server that
 * checks the replayed headers.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import { fileSha256, Sandbox } from './helpers.ts';
import { homeFiles, leaked, localText } from './import-kit.ts';

// Each test spawns the real CLI a few times and downloads a file or two: bounded, not instant.
setDefaultTimeout(30_000);

const KiB = 1024;
const SESSION = 's3ss10n-7f3a9c';
const BEARER = 'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJzY29wZSI6ImV4cG9ydHMifQ.c2lnbmF0dXJl';

interface AddJson {
  ids: number[];
  jobs: {
    id: number;
    url: string;
    headers: string[];
    cookies: { sent: string[]; dropped: string[] };
    notes: string[];
  }[];
}

/**
 * Serves the file of the Chrome recordings. With `viaOtherHost`, the recorded URL answers a 302 to
 * the file on `localhost` (another host name for the same server), as a site redirecting to its
 * storage host does.
 */
async function chromeServer(viaOtherHost = false) {
  const body = generatedBody(512 * KiB, 801);
  const file = {
    body,
    contentDisposition: 'attachment; filename="dataset-2024.tar.gz"',
    knobs: {
      // The value survives both quotings ($'...' escapes in bash, ^ escapes in cmd); Chrome's
      // cmd flavour doubles the backslash and curl.exe would send it doubled, so ddm does too.
      requireHeaders: { 'x-display-name': /^Ada O'Brien & co! 100% \\{1,2}o\/$/, referer: /\/files$/ },
    },
  };
  const server = await startTestServer(
    viaOtherHost
      ? {
          files: [{ path: '/storage/dataset-2024.tar.gz', ...file }],
          redirects: { '/files/7/download': { to: '/storage/dataset-2024.tar.gz', host: 'localhost' } },
        }
      : { files: [{ path: '/files/7/download', ...file }] },
  );
  return { server, body };
}

describe('add --curl: Chrome, bash quoting', () => {
  test('replays the headers, drops the cookies with a note, and ddm run downloads the file', async () => {
    const { server, body } = await chromeServer();
    await using _server = server;
    await using sandbox = new Sandbox();
    const command = localText('curl/chrome-bash.txt', server.origin);

    const added = await sandbox.ok(['add', '--curl', command, '-d', sandbox.dir, '--json']);
    const out = JSON.parse(added.stdout) as AddJson;
    expect(out.ids).toHaveLength(1);
    const job = out.jobs[0];
    expect(job?.url).toBe(`${server.origin}/files/7/download?ref=email&utm_source=100%25`);
    expect(job?.headers.sort()).toEqual(
      ['Accept', 'Accept-Language', 'Referer', 'Upgrade-Insecure-Requests', 'User-Agent', 'X-Display-Name'].sort(),
    );
    expect(job?.cookies).toEqual({ sent: [], dropped: ['theme', 'session'] });
    expect(job?.notes.join('\n')).toContain('cookies not sent: theme, session');
    expect(job?.notes.join('\n')).toContain('--compressed ignored');

    const run = await sandbox.run(['run']);
    expect(run.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'dataset-2024.tar.gz'))).toBe(body.sha256Hex());
    expect(server.requests.length).toBeGreaterThan(0);
    for (const r of server.requests) {
      expect(r.url).toBe('/files/7/download?ref=email&utm_source=100%25');
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['user-agent']).toContain('Chrome/124.0.0.0');
      expect(r.headers['accept-encoding']).toBe('identity');
      expect(r.headers.pragma).toBeUndefined();
      expect(r.headers['sec-fetch-dest']).toBeUndefined();
    }
  });

  test('human output: the job id on stdout, the dropped cookies in a note on stderr', async () => {
    await using sandbox = new Sandbox();
    const command = localText('curl/chrome-bash.txt', 'http://127.0.0.1:9');
    const added = await sandbox.ok(['add', '--curl', command, '-d', sandbox.dir]);
    expect(added.stdout.trim()).toBe('1');
    expect(added.stderr).toContain('note: cookies not sent: theme, session (--allow-cookies sends each only');
  });
});

describe('add --curl: Chrome, cmd quoting', () => {
  test('with --allow-cookies --remember-cookies sends the cookies to their host only, not across a redirect', async () => {
    const { server, body } = await chromeServer(true);
    await using _server = server;
    await using sandbox = new Sandbox();
    const command = localText('curl/chrome-cmd.txt', server.origin);

    const added = await sandbox.ok([
      'add',
      '--curl',
      command,
      '--allow-cookies',
      '--remember-cookies',
      '-d',
      sandbox.dir,
      '--json',
    ]);
    expect((JSON.parse(added.stdout) as AddJson).jobs[0]?.cookies.sent).toEqual(['theme', 'session']);
    // Remembered on purpose: the cookies are in the (private) DB until the job completes.
    expect(leaked(homeFiles(sandbox).db, [SESSION])).toEqual([SESSION]);
    const run = await sandbox.run(['run']);
    expect(run.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'dataset-2024.tar.gz'))).toBe(body.sha256Hex());
    const onCookieHost = server.requests.filter((r) => r.headers.host?.startsWith('127.0.0.1'));
    const onOtherHost = server.requests.filter((r) => r.headers.host?.startsWith('localhost'));
    expect(onCookieHost.length).toBeGreaterThan(0);
    expect(onOtherHost.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
    for (const r of onCookieHost) expect(r.headers.cookie).toBe(`theme=dark; session=${SESSION}`);
    for (const r of onOtherHost) {
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['user-agent']).toContain('Windows NT 10.0');
    }
    // Wiped once the job completed; never in the log.
    const files = homeFiles(sandbox);
    expect(leaked(files.db, [SESSION])).toEqual([]);
    expect(leaked(files.log, [SESSION])).toEqual([]);
  });

  test('--allow-cookies alone is refused: add only queues, so cookies kept in memory would be lost', async () => {
    await using sandbox = new Sandbox();
    const command = localText('curl/chrome-cmd.txt', 'http://127.0.0.1:9');
    const result = await sandbox.run(['add', '--curl', command, '--allow-cookies']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--remember-cookies');
    expect((await sandbox.status()).jobs).toEqual([]);
  });
});

describe('add --curl: Firefox', () => {
  test('replays Authorization and X-Api-Key, never the Cookie header, and keeps them out of status', async () => {
    const body = generatedBody(384 * KiB, 802);
    await using server = await startTestServer({
      files: [
        {
          path: '/api/v1/exports/42/file',
          body,
          knobs: { requireHeaders: { authorization: BEARER, 'x-api-key': 'k_live_8f2b6c1e0a' } },
        },
      ],
    });
    await using sandbox = new Sandbox();
    const command = localText('curl/firefox-bash.txt', server.origin);

    const added = await sandbox.ok(['add', '--curl', command, '-d', sandbox.dir, '--json']);
    const job = (JSON.parse(added.stdout) as AddJson).jobs[0];
    expect(job?.cookies.dropped).toEqual(['session', 'consent']);
    const run = await sandbox.run(['run']);
    expect(run.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'file'))).toBe(body.sha256Hex());
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(BEARER);
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers.priority).toBeUndefined();
    }
    const status = await sandbox.ok(['status', '--json']);
    expect(leaked(status.stdout + added.stdout + run.stderr, [BEARER.slice(7), 'k_live_8f2b6c1e0a'])).toEqual([]);
  });
});

describe('add --curl: requests ddm cannot replay', () => {
  const cases: [string, string, string][] = [
    [
      'a request body (--data-raw)',
      `curl 'http://127.0.0.1:9/api' -H 'Accept: */*' --data-raw '{"a":1}'`,
      '--data-raw',
    ],
    ['a form upload (-F)', `curl 'http://127.0.0.1:9/up' -F 'file=@a.txt'`, '-F'],
    ['another method (-X POST)', `curl -X POST 'http://127.0.0.1:9/api'`, '-X POST'],
    ['no URL', `curl -H 'Accept: */*'`, 'no URL'],
  ];
  for (const [what, command, needle] of cases) {
    test(`${what} exits 2 and names it`, async () => {
      await using sandbox = new Sandbox();
      const result = await sandbox.run(['add', '--curl', command]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(needle);
      expect(result.stderr).not.toContain('this is a bug');
    });
  }
});
