import { describe, expect, test } from 'bun:test';
import { FIXTURE_ORIGIN, fixture } from '../test/fixtures.ts';
import * as har from './index.ts';
import { rewriteHarOrigin } from './testing.ts';

describe('rewriteHarOrigin', () => {
  test('moves a fixture to another origin: URLs, Referer, Origin, Host and :authority', () => {
    const text = rewriteHarOrigin(fixture('chrome-page-assets.har'), FIXTURE_ORIGIN, 'http://127.0.0.1:41234');
    expect(text).not.toContain('127.0.0.1:8080');
    const parsed = har.parseHar(text);
    expect(parsed.entries[0]?.request.headers[0]).toEqual({ name: ':authority', value: '127.0.0.1:41234' });
    const picked = har.pickDownload(parsed);
    expect(picked.url).toBe('http://127.0.0.1:41234/releases/ddm-1.2.3-linux-x64.zip');
    expect(picked.headers.Referer).toBe('http://127.0.0.1:41234/releases');
  });

  test('keeps redirect chains and cookie scope working after the move', () => {
    const text = rewriteHarOrigin(fixture('chrome-login-signed-redirect.har'), FIXTURE_ORIGIN, 'http://localhost:5000');
    const picked = har.pickDownload(har.parseHar(text));
    expect(picked.originalUrl).toBe('http://localhost:5000/files/7/download');
    expect(picked.url).toStartWith('http://localhost:5000/storage/dataset-2024.tar.gz?');
    // The HAR said 127.0.0.1, which does not cover localhost: pinned to the host that got them.
    expect(har.cookieHeaderFor(picked.cookies, picked.url)).toBe('theme=dark; session=s3ss10n-7f3a9c');
  });

  test('rejects arguments that are not origins', () => {
    expect(() => rewriteHarOrigin('{}', '127.0.0.1:8080', 'http://x')).toThrow(TypeError);
  });
});

describe('public API', () => {
  test('exports the functions other packages use', () => {
    const functions = [
      har.parseHar,
      har.listEntries,
      har.pickDownload,
      har.replayableHeaders,
      har.cookieHeaderFor,
      har.parseCurlCommand,
      rewriteHarOrigin,
    ];
    for (const fn of functions) expect(typeof fn).toBe('function');
    expect(new har.HarError('m', 'not-har')).toMatchObject({ name: 'HarError', code: 'ERR_HAR', reason: 'not-har' });
    expect(new har.CurlParseError('m', '-d')).toMatchObject({ name: 'CurlParseError', code: 'ERR_USAGE', flag: '-d' });
  });

  test('keeps test helpers out of the production entry point', () => {
    expect('rewriteHarOrigin' in har).toBe(false);
  });
});
