import { describe, expect, test } from 'bun:test';
import { fixture } from '../test/fixtures.ts';
import { cookieHeaderFor } from './cookies.ts';
import { HarError } from './errors.ts';
import { parseHar } from './parse-har.ts';
import { DOWNLOAD_SCORE_THRESHOLD, listEntries, type PickOptions, pickDownload } from './pick.ts';

const O = 'http://127.0.0.1:8080';

function pickError(text: string, options?: PickOptions): HarError {
  try {
    pickDownload(parseHar(text), options);
  } catch (error) {
    if (error instanceof HarError) return error;
    throw error;
  }
  throw new Error('expected a HarError');
}

/** A HAR with the given entries, each `[method, url, status, responseHeaders, extra]`. */
function har(
  entries: { url: string; status: number; method?: string; res?: [string, string][]; extra?: object }[],
): string {
  return JSON.stringify({
    log: {
      version: '1.2',
      creator: { name: 'test', version: '1' },
      entries: entries.map((e) => ({
        request: { method: e.method ?? 'GET', url: e.url, headers: [{ name: 'User-Agent', value: 'UA' }], cookies: [] },
        response: {
          status: e.status,
          headers: (e.res ?? []).map(([name, value]) => ({ name, value })),
          content: { size: -1, mimeType: 'x-unknown' },
          redirectURL: '',
        },
        ...e.extra,
      })),
    },
  });
}

describe('pickDownload: login cookie and a 302 to a signed URL (Chrome)', () => {
  const text = fixture('chrome-login-signed-redirect.har');

  test('picks the ERR_ABORTED end of the redirect chain, not the redirect or the page', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.entryIndex).toBe(6);
    expect(picked.url).toStartWith(`${O}/storage/dataset-2024.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256`);
    expect(picked.url).toContain('X-Amz-Signature=5d672d79');
    expect(picked.originalUrl).toBe(`${O}/files/7/download`);
    expect(picked.chain).toEqual([`${O}/files/7/download`, picked.url]);
    expect(picked.sizeBytes).toBeNull(); // sizes of -1, no headers
    expect(picked.fileNameHint).toBeNull();
    expect(picked.reasons).toContain('signed URL (X-Amz-Signature)');
    expect(picked.reasons).toContain('the browser took over the end of the redirect chain (net::ERR_ABORTED)');
    expect(picked.reasons).toContain('file extension .tar.gz');
  });

  test('collects the login cookie once from request.cookies and the Cookie header', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.cookies).toEqual([
      { name: 'theme', value: 'dark', domain: '127.0.0.1', path: '/', secure: false, hostOnly: true },
      { name: 'session', value: 's3ss10n-7f3a9c', domain: '127.0.0.1', path: '/', secure: false, hostOnly: true },
    ]);
    expect(cookieHeaderFor(picked.cookies, picked.originalUrl)).toBe('theme=dark; session=s3ss10n-7f3a9c');
  });

  test('replays navigation headers without Cookie, Host, Connection, Sec-* or cache directives', () => {
    const { headers, originalHeaders } = pickDownload(parseHar(text));
    expect(headers).toEqual({
      Accept:
        'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
      'Accept-Language': 'en-GB,en;q=0.9',
      Referer: `${O}/files`,
      'Upgrade-Insecure-Requests': '1',
      'User-Agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    });
    expect(originalHeaders).toEqual(headers);
  });

  test('keeps the login cookie on its host when the signed URL is on a storage host', () => {
    const crossHost = JSON.parse(text.replaceAll(`${O}/storage/`, 'https://bucket.s3.example.net/storage/'));
    // As a browser does: no app cookies on the request to the storage host.
    const final = crossHost.log.entries[6].request;
    final.cookies = [];
    final.headers = final.headers.filter((h: { name: string }) => h.name !== 'Cookie');
    const picked = pickDownload(parseHar(JSON.stringify(crossHost)));
    expect(picked.url).toStartWith('https://bucket.s3.example.net/storage/dataset-2024.tar.gz?');
    expect(cookieHeaderFor(picked.cookies, picked.url)).toBeNull();
    expect(cookieHeaderFor(picked.cookies, picked.originalUrl)).toContain('session=s3ss10n-7f3a9c');
  });

  test('treats an aborted end with status 0 as a candidate too', () => {
    const status0 = JSON.parse(text);
    status0.log.entries[6].response.status = 0;
    expect(pickDownload(parseHar(JSON.stringify(status0))).entryIndex).toBe(6);
  });

  test('lists redirect hops with their resolved target and their chain-end score', () => {
    const summaries = listEntries(parseHar(text));
    const login = summaries[2];
    expect(login?.isRedirect).toBe(true);
    expect(login?.redirectURL).toBe(`${O}/files`); // relative Location resolved
    const hop = summaries[5];
    expect(hop?.isRedirect).toBe(true);
    expect(hop?.score).toBe(summaries[6]?.score ?? Number.NaN);
    expect(hop?.reasons[0]).toBe('redirect (302) to entry 6; scored as the end of its chain (entry 6)');
    expect(summaries[4]?.reasons).toEqual(['answered HTTP 404']);
    const banner = summaries[7]; // an image the page gave up on is aborted too: noise
    expect(banner?.failureText).toBe('net::ERR_ABORTED');
    expect(banner?.score).toBeLessThan(DOWNLOAD_SCORE_THRESHOLD);
  });

  test('pick N on a redirect hop follows the chain to its end', () => {
    const picked = pickDownload(parseHar(text), { pick: 5 });
    expect(picked.entryIndex).toBe(6);
    expect(picked.reasons[0]).toBe('picked entry 5, followed its redirects to entry 6');
  });

  test('match finds the chain by its original URL', () => {
    expect(pickDownload(parseHar(text), { match: 'files/7' }).entryIndex).toBe(6);
  });
});

describe('pickDownload: API download gated by X-Api-Key and Authorization (Firefox)', () => {
  const text = fixture('firefox-api-download.har');

  test('picks the attachment and replays its auth headers in canonical case', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.entryIndex).toBe(4);
    expect(picked.url).toBe(`${O}/api/v1/exports/42/file`);
    expect(picked.originalUrl).toBe(picked.url);
    expect(picked.chain).toEqual([picked.url]);
    expect(picked.headers.Authorization).toStartWith('Bearer eyJhbGciOi');
    expect(picked.headers['X-Api-Key']).toBe('k_live_8f2b6c1e0a');
    expect(Object.keys(picked.headers).sort()).toEqual(
      ['Accept', 'Accept-Language', 'Authorization', 'Referer', 'User-Agent', 'X-Api-Key'].sort(),
    );
  });

  test('reads size, RFC 8187 file name and validators from the response', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.sizeBytes).toBe(52428800);
    expect(picked.fileNameHint).toBe('résumé export.csv');
    expect(picked.etag).toBe('"exp-42-v3"');
    expect(picked.lastModified).toBe('Tue, 14 May 2024 08:55:00 GMT');
    expect(picked.reasons[0]).toBe('Content-Disposition: attachment (filename "résumé export.csv")');
  });

  test('scopes name-only Firefox cookies to the request host', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.cookies.map((c) => [c.name, c.domain, c.path, c.hostOnly])).toEqual([
      ['session', '127.0.0.1', '/', true],
      ['consent', '127.0.0.1', '/', true],
    ]);
  });

  test('refuses to pick an entry that answered 403, naming the status', () => {
    const error = pickError(text, { pick: 5 });
    expect(error.reason).toBe('no-download');
    expect(error.message).toBe(`HAR entry 5 cannot be downloaded, answered HTTP 403: GET ${O}/api/v1/exports/43/file`);
  });
});

describe('pickDownload: a page with dozens of assets and one zip (Chrome, HTTP/2)', () => {
  const text = fixture('chrome-page-assets.har');

  test('picks the zip among html, js, css, images, fonts and XHRs', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.url).toBe(`${O}/releases/ddm-1.2.3-linux-x64.zip`);
    expect(picked.entryIndex).toBe(33);
    expect(picked.sizeBytes).toBe(73400320);
    expect(picked.fileNameHint).toBe('ddm-1.2.3-linux-x64.zip');
  });

  test('no other entry qualifies: the large bundle, image and JSON score below the threshold', () => {
    const summaries = listEntries(parseHar(text));
    expect(summaries.length).toBeGreaterThan(30);
    const qualifying = summaries.filter((s) => s.score >= DOWNLOAD_SCORE_THRESHOLD).map((s) => s.index);
    expect(qualifying).toEqual([33]);
    const byPath = (path: string) => summaries.find((s) => s.url === `${O}${path}`);
    expect(byPath('/assets/vendor.93be77.js')?.reasons).toContain('page asset type application/javascript');
    expect(byPath('/img/hero@2x.png')?.reasons).toContain('large image (image/png)');
    expect(byPath('/api/stats/downloads?range=90d')?.reasons).toContain('page asset type application/json');
  });

  test('drops HTTP/2 pseudo-headers, sec-* and priority from lower-case exports', () => {
    const { headers } = pickDownload(parseHar(text));
    expect(Object.keys(headers).sort()).toEqual(
      ['Accept', 'Accept-Language', 'Referer', 'Upgrade-Insecure-Requests', 'User-Agent'].sort(),
    );
  });

  test('marks POST, preflight, 304, blocked and data: entries as unusable', () => {
    const summaries = listEntries(parseHar(text));
    const reasonOf = (index: number) => summaries[index]?.reasons[0];
    expect(reasonOf(27)).toBe('OPTIONS request (ddm only replays GET requests)');
    expect(reasonOf(28)).toBe('POST request (ddm only replays GET requests)');
    expect(reasonOf(29)).toBe('answered HTTP 304 without a body');
    expect(reasonOf(31)).toBe('failed in the browser (net::ERR_BLOCKED_BY_CLIENT)');
    expect(reasonOf(20)).toBe('not an http(s) URL');
  });

  test('match picks the best entry whose URL contains the text, even below the threshold', () => {
    const picked = pickDownload(parseHar(text), { match: 'SHA256' });
    expect(picked.url).toBe(`${O}/releases/ddm-1.2.3-linux-x64.zip.sha256`);
    expect(picked.reasons[0]).toBe('URL contains "SHA256"');
  });

  test('match with no usable entry fails with a clear message', () => {
    const error = pickError(text, { match: 'graphql' });
    expect(error.reason).toBe('no-download');
    expect(error.message).toBe('No downloadable HAR entry has a URL containing "graphql" (37 entries)');
  });

  test('pick out of range fails naming the valid range', () => {
    expect(pickError(text, { pick: 99 }).message).toBe('No HAR entry 99: entries are numbered 0 to 36');
  });

  test('pick and match together must agree', () => {
    expect(pickError(text, { pick: 0, match: '.zip' }).message).toBe('HAR entry 0 does not match ".zip"');
    expect(pickDownload(parseHar(text), { pick: 33, match: '.zip' }).entryIndex).toBe(33);
  });
});

describe('pickDownload: a Referer-gated file (Safari)', () => {
  test('keeps the Referer the server checks', () => {
    const picked = pickDownload(parseHar(fixture('safari-referer-gated.har')));
    expect(picked.url).toBe(`${O}/protected/wallpaper-pack.7z`);
    expect(picked.headers.Referer).toBe(`${O}/gallery`);
    expect(picked.sizeBytes).toBe(157286400); // Content-Length; content.size is 0
    expect(picked.cookies).toEqual([]);
  });
});

describe('pickDownload: a media file fetched as many 206 responses (Chrome)', () => {
  const text = fixture('chrome-media-ranges.har');

  test('treats the 206 entries of one URL as one resource sized by the Content-Range total', () => {
    const picked = pickDownload(parseHar(text));
    expect(picked.url).toBe(`${O}/media/lecture-01.mp4`);
    expect(picked.entryIndex).toBe(3);
    expect(picked.sizeBytes).toBe(104857600);
    expect(picked.reasons).toContain('12 ranged responses for this URL (entries 3 to 14) are one resource');
    expect(picked.headers.Range).toBeUndefined();
    expect(picked.headers['Accept-Encoding']).toBeUndefined();
  });

  test('gives every part the same size and score in the listing', () => {
    const parts = listEntries(parseHar(text)).filter((s) => s.url.endsWith('.mp4'));
    expect(parts).toHaveLength(12);
    expect(new Set(parts.map((p) => p.sizeBytes))).toEqual(new Set([104857600]));
    expect(new Set(parts.map((p) => p.score)).size).toBe(1);
  });
});

describe('pickDownload: redirects', () => {
  test('resolves a relative redirectURL (Playwright 307) and follows it', () => {
    const picked = pickDownload(parseHar(fixture('playwright-relative-redirect.har')));
    expect(picked.chain).toEqual([`${O}/api/dl?id=9`, `${O}/blobs/9/firmware.bin`]);
    expect(picked.url).toBe(`${O}/blobs/9/firmware.bin`);
    expect(picked.originalUrl).toBe(`${O}/api/dl?id=9`);
    expect(picked.headers['X-Device-Token']).toBe('dt-77aa');
  });

  test('follows multi-hop chains with header-case-insensitive Location only', () => {
    const text = har([
      { url: `${O}/a`, status: 301, res: [['LOCATION', '/b']] },
      { url: `${O}/b`, status: 303, res: [['location', `${O}/c/file.iso`]] },
      { url: `${O}/c/file.iso`, status: 308, res: [['Location', 'file2.iso']] },
      {
        url: `${O}/c/file2.iso`,
        status: 200,
        res: [
          ['content-type', 'application/x-iso9660-image'],
          ['CONTENT-LENGTH', '734003200'],
        ],
      },
    ]);
    const picked = pickDownload(parseHar(text));
    expect(picked.chain).toEqual([`${O}/a`, `${O}/b`, `${O}/c/file.iso`, `${O}/c/file2.iso`]);
    expect(picked.sizeBytes).toBe(734003200);
    expect(picked.reasons).toContain(`end of a 3-hop redirect chain from ${O}/a`);
  });

  test('uses the target of a redirect whose next hop was not captured', () => {
    const text = har([
      { url: `${O}/get/42`, status: 302, res: [['Location', 'https://cdn.example.net/f/42.zip?sig=abc']] },
    ]);
    const { headers, ...picked } = pickDownload(parseHar(text), { pick: 0 });
    expect(picked.url).toBe('https://cdn.example.net/f/42.zip?sig=abc');
    expect(picked.chain).toEqual([`${O}/get/42`, 'https://cdn.example.net/f/42.zip?sig=abc']);
    expect(picked.reasons).toContain('redirect target was not captured in the HAR');
    expect(headers).toEqual({ 'User-Agent': 'UA' });
  });

  test('does not loop on a redirect cycle', () => {
    const text = har([
      { url: `${O}/x`, status: 302, res: [['Location', '/y']] },
      { url: `${O}/y`, status: 302, res: [['Location', '/x']] },
      { url: `${O}/x`, status: 302, res: [['Location', '/y']] },
    ]);
    expect(() => listEntries(parseHar(text))).not.toThrow();
    expect(pickError(text).reason).toBe('no-download');
  });
});

describe('pickDownload: nothing to download', () => {
  test('fails with reason no-download when only page assets were recorded', () => {
    const text = har([
      {
        url: `${O}/`,
        status: 200,
        res: [
          ['Content-Type', 'text/html'],
          ['Content-Length', '5000'],
        ],
      },
      {
        url: `${O}/app.js`,
        status: 200,
        res: [
          ['Content-Type', 'text/javascript'],
          ['Content-Length', '90000'],
        ],
      },
    ]);
    const error = pickError(text);
    expect(error.reason).toBe('no-download');
    expect(error.message).toBe(
      'No entry in the HAR looks like a file download (2 entries); pick one by index or by URL text',
    );
  });

  test('refuses to pick a POST', () => {
    const text = har([
      { url: `${O}/export`, method: 'POST', status: 200, res: [['Content-Disposition', 'attachment']] },
    ]);
    expect(pickError(text, { pick: 0 }).message).toBe(
      `HAR entry 0 cannot be downloaded, POST request (ddm only replays GET requests): POST ${O}/export`,
    );
  });

  test('a POST form that redirects (303) to the file is downloadable by GET', () => {
    const text = har([
      { url: `${O}/export`, method: 'POST', status: 303, res: [['Location', '/exports/1.csv.gz']] },
      {
        url: `${O}/exports/1.csv.gz`,
        status: 200,
        res: [
          ['Content-Type', 'application/gzip'],
          ['Content-Length', '4000000'],
        ],
      },
    ]);
    const picked = pickDownload(parseHar(text));
    expect(picked.method).toBe('GET');
    expect(picked.originalMethod).toBe('POST');
    expect(picked.entryIndex).toBe(1);
  });
});
