import { describe, expect, test } from 'bun:test';
import { fixture } from '../test/fixtures.ts';
import { HarError } from './errors.ts';
import { parseHar } from './parse-har.ts';

function harError(run: () => unknown): HarError {
  try {
    run();
  } catch (error) {
    if (error instanceof HarError) return error;
    throw error;
  }
  throw new Error('expected a HarError');
}

describe('parseHar', () => {
  test('rejects text that is not JSON with reason not-json and a one-line message', () => {
    const error = harError(() => parseHar('<html>Sign in</html>'));
    expect(error.code).toBe('ERR_HAR');
    expect(error.name).toBe('HarError');
    expect(error.reason).toBe('not-json');
    expect(error.message).toStartWith('HAR file is not valid JSON: ');
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  test.each([
    ['an array', '[]'],
    ['a log without entries', '{"log":{"version":"1.2"}}'],
    ['entries that are not an array', '{"log":{"entries":{}}}'],
    ['a Chrome trace', '{"traceEvents":[]}'],
  ])('rejects JSON that is not a HAR (%s) with reason not-har', (_, text) => {
    const error = harError(() => parseHar(text));
    expect(error.reason).toBe('not-har');
    expect(error.message).toContain('log.entries');
  });

  test('rejects a HAR with zero entries with reason no-entries', () => {
    const error = harError(() =>
      parseHar('{"log":{"version":"1.2","creator":{"name":"Firefox","version":"128.0"},"entries":[]}}'),
    );
    expect(error.reason).toBe('no-entries');
    expect(error.message).toBe('HAR file has no entries: record the download with the Network panel open, then export');
  });

  test('rejects a HAR whose entries have no request URL with reason no-entries', () => {
    const error = harError(() => parseHar('{"log":{"entries":[{"request":{}},42]}}'));
    expect(error.reason).toBe('no-entries');
    expect(error.message).toContain('none of its 2 entries');
  });

  test('skips unusable entries but keeps the file positions of the others', () => {
    const har = parseHar(
      JSON.stringify({ log: { entries: [{ request: {} }, { request: { url: 'http://127.0.0.1:8080/a.zip' } }] } }),
    );
    expect(har.entries.map((e) => e.index)).toEqual([1]);
    expect(har.version).toBe('1.1');
    expect(har.creator).toBeNull();
  });

  test('accepts a UTF-8 byte order mark', () => {
    const har = parseHar(`\uFEFF${fixture('safari-referer-gated.har')}`);
    expect(har.entries).toHaveLength(4);
  });

  test('reads a minimal Safari export with missing optional fields', () => {
    const har = parseHar(fixture('safari-referer-gated.har'));
    expect(har.creator).toBe('WebKit Web Inspector 1.0');
    const css = har.entries[1];
    expect(css?.response.contentSizeBytes).toBeNull();
    expect(css?.response.bodySizeBytes).toBeNull();
    expect(css?.request.cookies).toEqual([]);
    expect(css?.response.httpVersion).toBeNull();
    expect(css?.resourceType).toBeNull();
    const file = har.entries[3];
    expect(file?.request.cookies).toEqual([]);
    expect(file?.response.mimeType).toBe('application/x-7z-compressed');
  });

  test('turns sizes of -1 into null and reads _failureText and _transferSize', () => {
    const har = parseHar(fixture('chrome-login-signed-redirect.har'));
    const aborted = har.entries[6];
    expect(aborted?.failureText).toBe('net::ERR_ABORTED');
    expect(aborted?.response.status).toBe(200);
    expect(aborted?.response.contentSizeBytes).toBeNull();
    expect(aborted?.response.bodySizeBytes).toBeNull();
    expect(aborted?.response.transferSizeBytes).toBeNull();
    expect(aborted?.response.mimeType).toBeNull(); // Chrome's "x-unknown"
    expect(har.entries[1]?.response.transferSizeBytes).toBe(18650);
    expect(har.entries[1]?.resourceType).toBe('script');
  });

  test("reads Chrome's response._error as the failure text", () => {
    const har = parseHar(fixture('chrome-page-assets.har'));
    const blocked = har.entries.find((e) => e.request.url.includes('cloudflareinsights'));
    expect(blocked?.failureText).toBe('net::ERR_BLOCKED_BY_CLIENT');
    expect(har.entries[0]?.failureText).toBeNull(); // "_error": null
  });

  test('keeps header names as exported and takes the mime type from Content-Type in any case', () => {
    const chrome = parseHar(fixture('chrome-page-assets.har'));
    expect(chrome.entries[0]?.request.headers[0]).toEqual({ name: ':authority', value: '127.0.0.1:8080' });
    expect(chrome.entries[0]?.response.mimeType).toBe('text/html');
    const firefox = parseHar(fixture('firefox-api-download.har'));
    expect(firefox.creator).toBe('Firefox 128.0');
    expect(firefox.entries[0]?.response.mimeType).toBe('text/html');
    expect(firefox.entries[4]?.request.headers.map((h) => h.name)).toContain('x-api-key');
    expect(firefox.entries[4]?.request.cookies).toEqual([
      { name: 'session', value: 'ff-6b21d0', domain: null, path: null, secure: null },
      { name: 'consent', value: '1', domain: null, path: null, secure: null },
    ]);
  });

  test('upper-cases methods, notes request bodies and falls back to the Location header', () => {
    const har = parseHar(
      JSON.stringify({
        log: {
          entries: [
            {
              request: {
                method: 'post',
                url: 'http://127.0.0.1:8080/go',
                postData: { mimeType: 'text/plain', text: 'x' },
              },
              response: { status: 302, headers: [{ name: 'LOCATION', value: '/file.bin' }] },
            },
          ],
        },
      }),
    );
    const entry = har.entries[0];
    expect(entry?.request.method).toBe('POST');
    expect(entry?.request.hasBody).toBe(true);
    expect(entry?.response.redirectURL).toBe('/file.bin');
  });
});
