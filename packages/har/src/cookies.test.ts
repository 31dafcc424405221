import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import {
  type CookieSpec,
  collectCookies,
  cookieHeaderFor,
  domainMatches,
  parseCookieHeader,
  pathMatches,
  scopeCookie,
} from './cookies.ts';

const spec = (over: Partial<CookieSpec>): CookieSpec => ({
  name: 'c',
  value: 'v',
  domain: 'example.com',
  path: '/',
  secure: false,
  hostOnly: false,
  ...over,
});

describe('RFC 6265 matching', () => {
  test('domain-match: exact host, subdomains, never a suffix without a dot, never IPs', () => {
    expect(domainMatches('example.com', 'example.com')).toBe(true);
    expect(domainMatches('dl.EXAMPLE.com', 'example.com')).toBe(true);
    expect(domainMatches('badexample.com', 'example.com')).toBe(false);
    expect(domainMatches('1.127.0.0.1', '127.0.0.1')).toBe(false);
    expect(domainMatches('10.0.0.1', '0.0.1')).toBe(false);
  });

  test('path-match: same path, prefix ending in "/", prefix followed by "/"', () => {
    expect(pathMatches('/files', '/files')).toBe(true);
    expect(pathMatches('/files/7', '/files')).toBe(true);
    expect(pathMatches('/files/7', '/files/')).toBe(true);
    expect(pathMatches('/filesystem', '/files')).toBe(false);
    expect(pathMatches('', '/')).toBe(true);
  });
});

describe('scopeCookie', () => {
  const url = new URL('https://dl.example.com/files/7');

  test('pins a cookie without scope to the request host, path "/", secure on https', () => {
    expect(scopeCookie({ name: 'a', value: '1' }, url)).toEqual(
      spec({ name: 'a', value: '1', domain: 'dl.example.com', secure: true, hostOnly: true }),
    );
    expect(scopeCookie({ name: 'a', value: '1' }, new URL('http://127.0.0.1:8080/x')).secure).toBe(false);
  });

  test('keeps a HAR domain that covers the host: ".example.com" is a domain cookie', () => {
    const cookie = scopeCookie({ name: 'a', value: '1', domain: '.example.com', path: '/files', secure: false }, url);
    expect(cookie).toEqual(spec({ name: 'a', value: '1', path: '/files', hostOnly: false }));
  });

  test('a bare domain equal to the host is host-only (how Chrome shows host-only cookies)', () => {
    expect(scopeCookie({ name: 'a', value: '1', domain: 'dl.example.com' }, url).hostOnly).toBe(true);
  });

  test('ignores a HAR domain that does not cover the host, or covers a whole TLD', () => {
    expect(scopeCookie({ name: 'a', value: '1', domain: 'evil.net' }, url).domain).toBe('dl.example.com');
    const tld = scopeCookie({ name: 'a', value: '1', domain: '.com' }, url);
    expect([tld.domain, tld.hostOnly]).toEqual(['dl.example.com', true]);
  });
});

describe('collectCookies', () => {
  test('merges request cookies with the Cookie header, once per name, header-only cookies too', () => {
    const cookies = collectCookies([
      {
        url: 'http://127.0.0.1:8080/files',
        cookies: [{ name: 'session', value: 's1', domain: '127.0.0.1', path: '/', secure: false }],
        headers: [{ name: 'cookie', value: 'session=s1; csrftoken=abc; =junk; flag' }],
      },
    ]);
    expect(cookies.map((c) => `${c.name}=${c.value}`)).toEqual(['session=s1', 'csrftoken=abc']);
  });

  test('a later request along a chain updates the value of the same cookie', () => {
    const cookies = collectCookies([
      { url: 'http://127.0.0.1:8080/a', cookies: [], headers: [{ name: 'Cookie', value: 'session=old' }] },
      { url: 'http://127.0.0.1:8080/b', cookies: [], headers: [{ name: 'Cookie', value: 'session=new' }] },
      { url: 'not a url', cookies: [{ name: 'x', value: 'y' }], headers: [] },
    ]);
    expect(cookies).toEqual([spec({ name: 'session', value: 'new', domain: '127.0.0.1', hostOnly: true })]);
  });

  test('parseCookieHeader keeps "=" inside values', () => {
    expect(parseCookieHeader('a=b=c; d=')).toEqual([
      { name: 'a', value: 'b=c' },
      { name: 'd', value: '' },
    ]);
  });
});

describe('cookieHeaderFor', () => {
  const cookies = [
    spec({ name: 'host', domain: 'app.example.com', hostOnly: true }),
    spec({ name: 'wide', domain: 'example.com' }),
    spec({ name: 'deep', domain: 'example.com', path: '/files/' }),
    spec({ name: 'safe', domain: 'example.com', secure: true }),
  ];

  test('sends host-only cookies to their host only, longer paths first', () => {
    expect(cookieHeaderFor(cookies, 'https://app.example.com/files/7')).toBe('deep=v; host=v; wide=v; safe=v');
    expect(cookieHeaderFor(cookies, 'https://cdn.example.com/')).toBe('wide=v; safe=v');
  });

  test('keeps secure cookies off plain http and everything off other sites', () => {
    expect(cookieHeaderFor(cookies, 'http://example.com/')).toBe('wide=v');
    expect(cookieHeaderFor(cookies, 'https://example.net/')).toBeNull();
    expect(cookieHeaderFor(cookies, 'not a url')).toBeNull();
  });

  test('never sends a cookie to a host its domain does not match', () => {
    const label = fc.stringMatching(/^[a-z]{1,6}$/);
    const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(host, host, fc.boolean(), (domain, target, hostOnly) => {
        const header = cookieHeaderFor([spec({ domain, hostOnly })], `http://${target}/`);
        const allowed = hostOnly ? target === domain : target === domain || target.endsWith(`.${domain}`);
        return (header !== null) === allowed;
      }),
    );
  });
});
