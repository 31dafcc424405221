import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JobRow, openDb, reposFor } from '@ddm/db';
import { DdmError } from './errors.ts';
import type { ProbeResult } from './probe.ts';
import {
  applyRefresh,
  assertRefreshable,
  assertSameResource,
  cookieHeaderOf,
  pickHarDownload,
  readCurlCommand,
  readHar,
  requestContextFor,
  requestForNewUrl,
  requestFromCurl,
  requestFromHar,
  verifyReplacement,
} from './request-import.ts';
import { DEFAULT_SETTINGS } from './settings.ts';
import { etagFor, generatedBody, startTestServer } from './testing/index.ts';

const FIXTURES = join(import.meta.dir, '..', '..', 'har', 'test', 'fixtures');
const O = 'http://127.0.0.1:8080';
const SESSION = 's3ss10n-7f3a9c';

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

function errorOf(fn: () => unknown): DdmError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DdmError) return error;
    throw error;
  }
  throw new Error('expected a DdmError');
}

function job(overrides: Partial<JobRow> = {}): JobRow {
  return {
    id: 1,
    url: `${O}/old/file.bin`,
    finalUrl: null,
    dir: '/tmp',
    fileName: 'file.bin',
    sizeBytes: 1000,
    etag: '"v1"',
    lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT',
    acceptsRanges: true,
    state: 'paused',
    errorCode: null,
    errorMessage: null,
    why: null,
    connections: 4,
    settings: { headers: { Referer: `${O}/page`, Authorization: 'Bearer t0ken' }, isFileNameFixed: true },
    checksum: null,
    priority: 0,
    queuePos: 1,
    limitBytesPerSec: null,
    isResumable: true,
    hasCreatedFile: true,
    createdAt: 0,
    updatedAt: 0,
    completedAt: null,
    ...overrides,
  };
}

function probed(overrides: Partial<ProbeResult> = {}): ProbeResult {
  return {
    finalUrl: `${O}/new/file.bin?sig=abc`,
    chain: [],
    sizeBytes: 1000,
    acceptsRanges: true,
    etag: '"v1"',
    lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT',
    contentDisposition: null,
    contentType: null,
    isCompressed: false,
    notes: [],
    ...overrides,
  };
}

describe('requestFromHar', () => {
  const picked = pickHarDownload(readHar(fixture('chrome-login-signed-redirect.har')));

  test('fetches the first request of the redirect chain with its headers, so an expired link can be renewed', () => {
    const request = requestFromHar(picked);
    expect(request.url).toBe(`${O}/files/7/download`);
    expect(request.finalUrl).toBe(picked.url);
    expect(request.settings.originalUrl).toBe(`${O}/files/7/download`);
    expect(request.settings.source).toBe('har');
    expect(request.settings.headers?.Referer).toBe(`${O}/files`);
    expect(Object.keys(request.headers)).not.toContain('Cookie');
  });

  test('drops cookies unless allowed, and says which', () => {
    const request = requestFromHar(picked);
    expect(request.cookies).toEqual({ sent: [], dropped: ['theme', 'session'] });
    expect(request.secrets).toBeNull();
    expect(request.settings.needsCookies).toBeUndefined();
    expect(request.settings.cookies).toBeUndefined();
    expect(request.notes.some((n) => n.startsWith('cookies not sent: theme, session'))).toBe(true);
    expect(cookieHeaderOf(request, `${O}/files/7/download`)).toBeNull();
  });

  test('allowed cookies live in this process only: scoped to their host, marked as needed, not in settings', () => {
    const request = requestFromHar(picked, { allowCookies: true });
    expect(request.secrets?.cookieHeaderFor?.(`${O}/storage/x`)).toBe(`theme=dark; session=${SESSION}`);
    expect(request.secrets?.cookieHeaderFor?.('http://localhost:8080/storage/x')).toBeNull();
    expect(request.settings.needsCookies).toBe(true);
    expect(JSON.stringify(request.settings)).not.toContain(SESSION);
  });

  test('remembered cookies go to the settings (the DB) and nothing stays in memory', () => {
    const request = requestFromHar(picked, { allowCookies: true, rememberCookies: true });
    expect(request.secrets).toBeNull();
    expect(request.settings.needsCookies).toBe(true);
    expect(request.settings.cookies?.map((c) => [c.name, c.domain, c.path, c.hostOnly])).toEqual([
      ['theme', '127.0.0.1', '/', true],
      ['session', '127.0.0.1', '/', true],
    ]);
  });

  test('--remember-cookies without --allow-cookies is a usage error', () => {
    expect(errorOf(() => requestFromHar(picked, { rememberCookies: true })).code).toBe('ERR_USAGE');
  });

  test('stores Authorization and X-Api-Key by default; withheld headers stay in memory and are listed', () => {
    const api = pickHarDownload(readHar(fixture('firefox-api-download.har')));
    const stored = requestFromHar(api);
    expect(stored.settings.headers?.Authorization).toStartWith('Bearer ');
    expect(stored.settings.withheldHeaders).toBeUndefined();

    const withheld = requestFromHar(api, { withholdHeaders: ['authorization'] });
    expect(withheld.settings.headers?.Authorization).toBeUndefined();
    expect(withheld.settings.headers?.['X-Api-Key']).toBe('k_live_8f2b6c1e0a');
    expect(withheld.settings.withheldHeaders).toEqual(['Authorization']);
    expect(withheld.secrets?.headers?.Authorization).toStartWith('Bearer ');
  });

  test('a chain that starts with a POST cannot be re-issued: the recorded URL is fetched instead', () => {
    const har = JSON.stringify({
      log: {
        version: '1.2',
        creator: { name: 'test', version: '1' },
        entries: [
          {
            startedDateTime: '2024-05-14T09:31:02.340Z',
            request: { method: 'POST', url: `${O}/export`, headers: [], cookies: [] },
            response: {
              status: 303,
              headers: [{ name: 'Location', value: '/out/report.zip' }],
              content: { size: 0, mimeType: 'text/plain' },
              redirectURL: '/out/report.zip',
            },
          },
          {
            startedDateTime: '2024-05-14T09:31:02.400Z',
            request: { method: 'GET', url: `${O}/out/report.zip`, headers: [], cookies: [] },
            response: {
              status: 200,
              headers: [{ name: 'Content-Length', value: '5242880' }],
              content: { size: 5242880, mimeType: 'application/zip' },
              redirectURL: '',
            },
          },
        ],
      },
    });
    const request = requestFromHar(pickHarDownload(readHar(har)));
    expect(request.url).toBe(`${O}/out/report.zip`);
    expect(request.notes[0]).toContain('starts with a POST request that ddm cannot replay');
  });
});

describe('HAR and curl errors become DdmErrors with the documented codes', () => {
  test('not JSON, not a HAR, no download: ERR_HAR', () => {
    expect(errorOf(() => readHar('{ nope')).code).toBe('ERR_HAR');
    expect(errorOf(() => readHar('{"log": 1}')).code).toBe('ERR_HAR');
    const har = readHar(fixture('chrome-page-assets.har'));
    expect(errorOf(() => pickHarDownload(har, { match: 'no-such-thing' })).code).toBe('ERR_HAR');
  });

  test('a request body is ERR_USAGE naming the flag', () => {
    const error = errorOf(() => readCurlCommand(`curl 'http://127.0.0.1/x' --data-raw 'a=1'`));
    expect(error.code).toBe('ERR_USAGE');
    expect(error.message).toContain('--data-raw');
  });
});

describe('requestFromCurl', () => {
  test("Firefox's Cookie header travels like -b: dropped unless allowed, scoped when allowed", () => {
    const curl = readCurlCommand(fixture('curl/firefox-bash.txt'));
    const dropped = requestFromCurl(curl);
    expect(dropped.cookies.dropped).toEqual(['session', 'consent']);
    expect(dropped.settings.headers?.['X-Api-Key']).toBe('k_live_8f2b6c1e0a');
    expect(dropped.notes).toContain(
      '--compressed ignored: ddm asks for uncompressed bytes so each segment lands at its offset',
    );
    const allowed = requestFromCurl(curl, { allowCookies: true });
    expect(cookieHeaderOf(allowed, `${O}/api/v1/exports/42/file`)).toBe('session=ff-6b21d0; consent=1');
    expect(cookieHeaderOf(allowed, 'http://localhost:8080/api/v1/exports/42/file')).toBeNull();
  });

  test('-k is noted as ignored', () => {
    const request = requestFromCurl(readCurlCommand(`curl -k 'https://example.com/a.iso'`));
    expect(request.notes).toContain('-k ignored: ddm always verifies TLS certificates');
  });
});

describe('requestForNewUrl', () => {
  test('keeps the headers on the same host', () => {
    const request = requestForNewUrl(job(), `${O}/new/file.bin?sig=abc`);
    expect(request.url).toBe(`${O}/new/file.bin?sig=abc`);
    expect(request.settings.headers).toEqual({ Referer: `${O}/page`, Authorization: 'Bearer t0ken' });
    expect(request.notes).toEqual([]);
  });

  test('drops credential headers for another host, with a note', () => {
    const request = requestForNewUrl(job(), 'https://mirror.example.com/file.bin');
    expect(request.settings.headers).toEqual({ Referer: `${O}/page` });
    expect(request.notes).toEqual(['Authorization not sent to mirror.example.com: given for 127.0.0.1:8080']);
  });

  test('an invalid URL is ERR_INVALID_URL', () => {
    expect(errorOf(() => requestForNewUrl(job(), 'ftp://x/y')).code).toBe('ERR_INVALID_URL');
  });
});

describe('assertRefreshable', () => {
  test('a completed job, or one a live engine may be running, cannot be refreshed', () => {
    expect(errorOf(() => assertRefreshable(job({ state: 'completed' }), null)).message).toContain('complete');
    const running = errorOf(() => assertRefreshable(job({ state: 'downloading' }), { pid: 42 }));
    expect(running.code).toBe('ERR_USAGE');
    expect(running.message).toContain('pause it first (ddm pause 1)');
    expect(() => assertRefreshable(job({ state: 'queued' }), { pid: 42 })).toThrow();
  });

  test('paused, failed and canceled jobs can, and any unfinished job when no engine runs', () => {
    for (const state of ['paused', 'failed', 'canceled'] as const) assertRefreshable(job({ state }), { pid: 42 });
    for (const state of ['queued', 'downloading', 'probing'] as const) assertRefreshable(job({ state }), null);
  });
});

describe('assertSameResource', () => {
  test('same size and ETag: notes what matched', () => {
    expect(assertSameResource(job(), probed(), 500)).toEqual(['same file: size 1000, ETag "v1"']);
  });

  test('another size or ETag: ERR_RESOURCE_CHANGED naming it, signature redacted', () => {
    const size = errorOf(() => assertSameResource(job(), probed({ sizeBytes: 1001 }), 0));
    expect(size.code).toBe('ERR_RESOURCE_CHANGED');
    expect(size.message).toBe(
      `Not the same file (resource changed: size 1001 instead of 1000): ${O}/new/file.bin?sig=REDACTED`,
    );
    expect(errorOf(() => assertSameResource(job(), probed({ etag: '"v2"' }), 0)).message).toContain('ETag "v2"');
  });

  test('without an ETag, Last-Modified decides', () => {
    const noEtag = job({ etag: null });
    const changed = probed({ etag: null, lastModified: 'Thu, 02 Jan 2025 00:00:00 GMT' });
    expect(errorOf(() => assertSameResource(noEtag, changed, 0)).code).toBe('ERR_RESOURCE_CHANGED');
  });

  test('bytes on disk and a new URL with no size: refused, nothing to compare', () => {
    expect(errorOf(() => assertSameResource(job(), probed({ sizeBytes: null }), 10)).code).toBe('ERR_RESOURCE_CHANGED');
  });

  test('a job that never reached the server takes the new URL as it is', () => {
    const fresh = job({ sizeBytes: null, etag: null, lastModified: null });
    expect(assertSameResource(fresh, probed({ sizeBytes: 5 }), 0)[0]).toContain('nothing recorded to compare');
  });

  test('warns when the new URL cannot resume the bytes on disk', () => {
    expect(assertSameResource(job(), probed({ acceptsRanges: false }), 10)).toContain(
      'the new URL cannot resume ranges: the download will start again from byte 0',
    );
  });
});

describe('verifyReplacement and applyRefresh', () => {
  const environment = { settings: DEFAULT_SETTINGS, env: {} };

  async function setUp() {
    const body = generatedBody(300_000, 41);
    const other = generatedBody(300_001, 42);
    const server = await startTestServer({
      files: [
        { path: '/mirror/file.bin', body, knobs: { requireHeaders: { referer: 'http://example.test/page' } } },
        { path: '/other/file.bin', body: other },
      ],
    });
    const repos = reposFor(openDb(':memory:'));
    const row = repos.jobs.insert({
      url: server.url('/old/file.bin'),
      dir: '/tmp',
      fileName: 'file.bin',
      connections: 2,
      state: 'paused',
      settings: { headers: { Referer: 'http://example.test/page' }, isFileNameFixed: true },
    });
    // What the engine recorded from the old URL: the same file (the ETag derives from the body).
    repos.jobs.update(row.id, { sizeBytes: 300_000, etag: etagFor(body), isResumable: true });
    const segments = [
      { index: 0, start: 0, end: 150_000, writtenBytes: 150_000, splitFrom: null },
      { index: 1, start: 150_000, end: 300_000, writtenBytes: 20_000, splitFrom: null },
    ];
    repos.segments.replace(row.id, segments);
    const stored = repos.jobs.get(row.id) as JobRow;
    return { server, repos, job: stored, segments };
  }

  test('a mirror of the same file: probed with the job headers, URL replaced, segments untouched', async () => {
    const { server, repos, job: stored, segments } = await setUp();
    await using _server = server;
    const request = requestForNewUrl(stored, server.url('/mirror/file.bin'));
    const check = await verifyReplacement(repos, stored, request, environment, AbortSignal.timeout(5000));
    expect(check.keptBytes).toBe(170_000);
    expect(check.notes[0]).toStartWith('same file: size 300000, ETag');
    applyRefresh(repos, stored, request, check.info);

    const after = repos.jobs.get(stored.id) as JobRow;
    expect(after.url).toBe(server.url('/mirror/file.bin'));
    expect(after.finalUrl).toBe(server.url('/mirror/file.bin'));
    expect(after.settings.isFileNameFixed).toBe(true);
    expect(after.settings.originalUrl).toBe(server.url('/mirror/file.bin'));
    expect(after.sizeBytes).toBe(300_000);
    expect(repos.segments.list(stored.id).map(({ jobId: _id, ...s }) => s)).toEqual(segments);
  });

  test('another file is refused with ERR_RESOURCE_CHANGED before anything changes', async () => {
    const { server, repos, job: stored } = await setUp();
    await using _server = server;
    const request = requestForNewUrl(stored, server.url('/other/file.bin'));
    const error = await verifyReplacement(repos, stored, request, environment, AbortSignal.timeout(5000)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DdmError);
    expect((error as DdmError).code).toBe('ERR_RESOURCE_CHANGED');
    expect((repos.jobs.get(stored.id) as JobRow).url).toBe(server.url('/old/file.bin'));
  });

  test('a refused probe reports the HTTP status with the signature redacted', async () => {
    const { server, repos, job: stored } = await setUp();
    await using _server = server;
    const request = requestForNewUrl(stored, server.url('/missing.bin?sig=s3cr3t'));
    const error = (await verifyReplacement(repos, stored, request, environment, AbortSignal.timeout(5000)).catch(
      (e: unknown) => e,
    )) as DdmError;
    expect(error.code).toBe('ERR_HTTP_STATUS');
    expect(error.message).toContain('HTTP 404');
    expect(error.message).not.toContain('s3cr3t');
  });

  test('requestContextFor sends in-memory cookies only to their host', async () => {
    const picked = pickHarDownload(readHar(fixture('chrome-login-signed-redirect.har')));
    const ctx = requestContextFor(requestFromHar(picked, { allowCookies: true }), environment);
    expect(ctx.cookieHeaderFor?.(`${O}/a`)).toBe(`theme=dark; session=${SESSION}`);
    expect(ctx.cookieHeaderFor?.('http://evil.example/a')).toBeNull();
    expect(ctx.headers.Referer).toBe(`${O}/files`);
  });
});
