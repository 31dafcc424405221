/**
 * `ddm import-har`: browser recordings (Chrome, Firefox, Safari) replayed against a local server
 * that serves the recorded paths and gates them the way the real sites did (login cookie, API
 * key and bearer token, Referer). The real CLI runs in its own process with a throwaway DDM_HOME.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import { generatedBody, signedFile, startTestServer } from '@ddm/core/testing';
import { fileSha256, Sandbox } from './helpers.ts';
import { fileMode, homeFiles, leaked, localHar } from './import-kit.ts';

// Each test spawns the real CLI a few times and downloads a file or two: bounded, not instant.
setDefaultTimeout(30_000);

const KiB = 1024;
const SESSION = 's3ss10n-7f3a9c';

interface ImportJson {
  id: number;
  entry: number;
  url: string;
  requestUrl: string;
  reasons: string[];
  headers: string[];
  cookies: { sent: string[]; dropped: string[] };
  notes: string[];
  job?: { state: string; path: string; error: { code: string; message: string } | null } | null;
}

describe('import-har: a login cookie and a 302 to a signed URL (Chrome)', () => {
  async function loginServer() {
    const body = generatedBody(768 * KiB, 701);
    const server = await startTestServer({
      files: [
        signedFile(
          '/files/7/download',
          {
            body,
            contentDisposition: 'attachment; filename="dataset-2024.tar.gz"',
            contentType: 'application/gzip',
            knobs: { requireCookie: { name: 'session', value: SESSION } },
          },
          60_000,
        ),
      ],
    });
    return { server, body };
  }

  test('without --allow-cookies sends no Cookie at all, says so, and the gated file is refused', async () => {
    const { server } = await loginServer();
    await using _server = server;
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-login-signed-redirect.har', server.origin);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--start']);

    expect(result.stdout).toContain('Entry 6: GET');
    expect(result.stdout).toContain('why: signed URL (X-Amz-Signature)');
    expect(result.stderr).toContain('cookies not sent: theme, session');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('HTTP 403');
    expect(server.requests.length).toBeGreaterThan(0);
    for (const r of server.requests) expect(r.headers.cookie).toBeUndefined();
  });

  test('with --allow-cookies replays the original request, gets a fresh signed URL and downloads the file', async () => {
    const { server, body } = await loginServer();
    await using _server = server;
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-login-signed-redirect.har', server.origin);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--allow-cookies', '--start', '--json']);

    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.stdout) as ImportJson;
    expect(out.entry).toBe(6);
    expect(out.url).toContain('X-Amz-Signature=REDACTED');
    expect(out.requestUrl).toBe(`${server.origin}/files/7/download`);
    expect(out.reasons).toContain('signed URL (X-Amz-Signature)');
    expect(out.cookies).toEqual({ sent: ['theme', 'session'], dropped: [] });
    expect(out.job?.state).toBe('completed');
    expect(await fileSha256(join(sandbox.dir, 'dataset-2024.tar.gz'))).toBe(body.sha256Hex());

    // The recorded signed URL had expired: ddm went back to the first request of the chain.
    expect(server.signedStats('/files/7/download').originalRequests).toBeGreaterThanOrEqual(1);
    for (const r of server.requests) {
      expect(r.headers.cookie).toBe(`theme=dark; session=${SESSION}`);
      expect(r.headers['user-agent']).toContain('Chrome/124.0.0.0');
      expect(r.headers.referer).toBe(`${server.origin}/files`);
      // Browser-internal and hop-by-hop headers are not replayed.
      expect(r.headers['sec-fetch-mode']).toBeUndefined();
      expect(r.headers['sec-ch-ua']).toBeUndefined();
      expect(r.headers['cache-control']).toBeUndefined();
    }
    // Cookies kept in memory only: not in the DB, which is private anyway.
    const files = homeFiles(sandbox);
    expect(leaked(files.db, [SESSION])).toEqual([]);
    expect(leaked(files.log, [SESSION])).toEqual([]);
    expect(fileMode(join(sandbox.home, 'ddm.db'))).toBe(0o600);
  });
});

describe('import-har: an API download gated by X-Api-Key and Authorization (Firefox)', () => {
  test('replays the auth headers (and no cookie) and the SHA-256 matches', async () => {
    const body = generatedBody(640 * KiB, 702);
    await using server = await startTestServer({
      files: [
        {
          path: '/api/v1/exports/42/file',
          body,
          contentDisposition: 'attachment; filename="export-42.csv.gz"',
          knobs: {
            requireHeaders: { authorization: /^Bearer eyJhbGciOiJIUzI1NiIs/, 'x-api-key': 'k_live_8f2b6c1e0a' },
          },
        },
      ],
    });
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'firefox-api-download.har', server.origin);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--start']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Entry 4: GET');
    expect(result.stdout).toContain('headers replayed: ');
    expect(result.stdout).toContain('Authorization');
    expect(await fileSha256(join(sandbox.dir, 'export-42.csv.gz'))).toBe(body.sha256Hex());
    for (const r of server.requests) {
      expect(r.headers['x-api-key']).toBe('k_live_8f2b6c1e0a');
      expect(r.headers.cookie).toBeUndefined();
    }
  });
});

describe('import-har: a page with dozens of assets and one download (Chrome)', () => {
  test('--list marks the zip among 37 entries; the import downloads it', async () => {
    const body = generatedBody(512 * KiB, 703);
    await using server = await startTestServer({
      files: [{ path: '/releases/ddm-1.2.3-linux-x64.zip', body, contentType: 'application/zip' }],
    });
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-page-assets.har', server.origin);

    const list = await sandbox.ok(['import-har', har, '--list', '--json']);
    const listing = JSON.parse(list.stdout) as { pick: number; entries: { index: number; url: string }[] };
    expect(listing.entries).toHaveLength(37);
    expect(listing.pick).toBe(33);
    expect(server.requests).toHaveLength(0);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--start']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Entry 33: GET');
    expect(await fileSha256(join(sandbox.dir, 'ddm-1.2.3-linux-x64.zip'))).toBe(body.sha256Hex());
    // Only the download was fetched: none of the page's assets.
    expect(new Set(server.requests.map((r) => r.path))).toEqual(new Set(['/releases/ddm-1.2.3-linux-x64.zip']));
  });

  test('--match and --pick choose another entry; without --start the job is only queued', async () => {
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-page-assets.har', 'http://127.0.0.1:9');

    const matched = JSON.parse((await sandbox.ok(['import-har', har, '--match', '.sha256', '--json'])).stdout);
    expect(matched.entry).toBe(32);
    expect(matched.reasons[0]).toBe('URL contains ".sha256"');
    const picked = JSON.parse((await sandbox.ok(['import-har', har, '--pick', '5', '--json'])).stdout);
    expect(picked.entry).toBe(5);
    const status = await sandbox.status();
    expect(status.jobs.map((j) => [j.id, j.state])).toEqual([
      [matched.id, 'queued'],
      [picked.id, 'queued'],
    ]);
  });
});

describe('import-har: a Referer-gated file (Safari)', () => {
  test('replays the Referer the page sent', async () => {
    const body = generatedBody(384 * KiB, 704);
    await using server = await startTestServer({
      files: [{ path: '/protected/wallpaper-pack.7z', body, knobs: { requireHeaders: { referer: /\/gallery$/ } } }],
    });
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'safari-referer-gated.har', server.origin);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--start']);

    expect(result.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'wallpaper-pack.7z'))).toBe(body.sha256Hex());
    for (const r of server.requests) expect(r.headers.referer).toBe(`${server.origin}/gallery`);
  });
});

describe('import-har: a media file the browser fetched as many 206 entries (Chrome)', () => {
  test('takes the 12 partial responses as one file and downloads it with its own ranges', async () => {
    const body = generatedBody(3 * 1024 * KiB, 705);
    await using server = await startTestServer({
      files: [
        {
          path: '/media/lecture-01.mp4',
          body,
          contentType: 'video/mp4',
          knobs: { requireHeaders: { referer: /\/watch\/lecture-01$/ } },
        },
      ],
    });
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-media-ranges.har', server.origin);

    const result = await sandbox.run(['import-har', har, '-d', sandbox.dir, '--start', '-x', '3']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('12 ranged responses for this URL (entries 3 to 14) are one resource');
    expect(await fileSha256(join(sandbox.dir, 'lecture-01.mp4'))).toBe(body.sha256Hex());
    // The player's open-ended ranges were not replayed: every range is one of ddm's segments.
    const ranges = server.requests.filter((r) => r.method === 'GET').map((r) => r.range);
    expect(ranges.some((range) => range === 'bytes=104792064-')).toBe(false);
    expect(ranges.filter((range) => range !== null && range !== 'bytes=0-0').length).toBeGreaterThanOrEqual(2);
  });
});

describe('import-har: files it cannot use exit 2 with a clear message', () => {
  const cases: [string, string | null, string][] = [
    ['a missing file', null, 'HAR file not found'],
    ['a file that is not JSON', 'this is not json {', 'ERR_HAR'],
    ['JSON that is not a HAR', '{"hello": "world"}', 'ERR_HAR'],
    ['a HAR with no entries', '{"log": {"version": "1.2", "creator": {"name": "x"}, "entries": []}}', 'ERR_HAR'],
  ];
  for (const [what, text, needle] of cases) {
    test(what, async () => {
      await using sandbox = new Sandbox();
      const path = join(sandbox.root, 'input.har');
      if (text !== null) await Bun.write(path, text);
      const result = await sandbox.run(['import-har', path, '--json']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toStartWith('ddm: ');
      expect(result.stdout + result.stderr).toContain(needle);
      expect(result.stderr).not.toContain('this is a bug');
    });
  }

  test('a HAR with no download in it', async () => {
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-page-assets.har', 'http://127.0.0.1:9');
    const text = await Bun.file(har).text();
    const parsed = JSON.parse(text);
    parsed.log.entries = parsed.log.entries.slice(0, 20);
    await Bun.write(har, JSON.stringify(parsed));
    const result = await sandbox.run(['import-har', har]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('No entry in the HAR looks like a file download (20 entries)');
  });
});
