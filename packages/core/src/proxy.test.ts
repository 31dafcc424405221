import { describe, expect, test } from 'bun:test';
import { isNoProxy, proxyForUrl } from './proxy.ts';

describe('proxyForUrl', () => {
  test('picks HTTPS_PROXY for https and HTTP_PROXY for http, lower-case first', () => {
    const env = { HTTPS_PROXY: 'http://upper-s:1', https_proxy: 'http://lower-s:1', HTTP_PROXY: 'http://upper:1' };
    expect(proxyForUrl('https://x.test/', { env })).toBe('http://lower-s:1');
    expect(proxyForUrl('http://x.test/', { env })).toBe('http://upper:1');
  });

  test('falls back to ALL_PROXY and adds http:// to a bare host:port', () => {
    expect(proxyForUrl('https://x.test/', { env: { ALL_PROXY: 'proxy.test:3128' } })).toBe('http://proxy.test:3128');
    expect(proxyForUrl('http://x.test/', { env: { all_proxy: 'https://p.test' } })).toBe('https://p.test');
  });

  test('flag beats config beats env; an empty flag forces a direct connection', () => {
    const env = { HTTPS_PROXY: 'http://env:1' };
    expect(proxyForUrl('https://x.test/', { env, configProxy: 'http://config:1' })).toBe('http://config:1');
    expect(proxyForUrl('https://x.test/', { env, configProxy: 'http://config:1', flagProxy: 'http://flag:1' })).toBe(
      'http://flag:1',
    );
    expect(proxyForUrl('https://x.test/', { env, configProxy: '' })).toBe('http://env:1');
    expect(proxyForUrl('https://x.test/', { env, configProxy: 'http://config:1', flagProxy: '' })).toBeUndefined();
  });

  test('localhost is proxied unless NO_PROXY says otherwise', () => {
    expect(proxyForUrl('http://127.0.0.1:8080/f', { env: {}, flagProxy: 'http://127.0.0.1:9999' })).toBe(
      'http://127.0.0.1:9999',
    );
    expect(
      proxyForUrl('http://localhost/f', { env: { NO_PROXY: 'localhost' }, flagProxy: 'http://p:1' }),
    ).toBeUndefined();
  });

  test('no proxy for other schemes or unparsable URLs', () => {
    expect(proxyForUrl('ftp://x.test/', { env: { ALL_PROXY: 'http://p:1' } })).toBeUndefined();
    expect(proxyForUrl('not a url', { env: { ALL_PROXY: 'http://p:1' } })).toBeUndefined();
    expect(proxyForUrl('https://x.test/', { env: {} })).toBeUndefined();
  });
});

describe('NO_PROXY matching', () => {
  const cases: { noProxy: string; url: string; isExempt: boolean }[] = [
    { noProxy: '*', url: 'https://anything.test/', isExempt: true },
    { noProxy: 'example.com', url: 'https://example.com/', isExempt: true },
    { noProxy: 'example.com', url: 'https://a.b.example.com/', isExempt: true },
    { noProxy: 'example.com', url: 'https://notexample.com/', isExempt: false },
    { noProxy: '.example.com', url: 'https://www.example.com/', isExempt: true },
    { noProxy: '.example.com', url: 'https://example.com/', isExempt: true },
    { noProxy: '*.example.com', url: 'https://www.example.com/', isExempt: true },
    { noProxy: 'EXAMPLE.com', url: 'https://Example.COM./', isExempt: true },
    { noProxy: 'example.com:8080', url: 'http://example.com:8080/', isExempt: true },
    { noProxy: 'example.com:8080', url: 'http://example.com/', isExempt: false },
    { noProxy: 'example.com:443', url: 'https://example.com/', isExempt: true },
    { noProxy: 'other.test, example.com ,x.test', url: 'https://example.com/', isExempt: true },
    { noProxy: 'other.test example.com', url: 'https://example.com/', isExempt: true },
    { noProxy: '10.1.2.3', url: 'http://10.1.2.3/', isExempt: true },
    { noProxy: '10.1.2.3', url: 'http://10.1.2.4/', isExempt: false },
    { noProxy: '10.0.0.0/8', url: 'http://10.200.3.4/', isExempt: true },
    { noProxy: '10.0.0.0/8', url: 'http://11.0.0.1/', isExempt: false },
    { noProxy: '192.168.1.0/24', url: 'http://192.168.1.77:81/', isExempt: true },
    { noProxy: '::1', url: 'http://[::1]:8080/', isExempt: true },
    { noProxy: '[::1]:8080', url: 'http://[::1]:8080/', isExempt: true },
    { noProxy: '0:0:0:0:0:0:0:1', url: 'http://[::1]/', isExempt: true },
    { noProxy: 'fd00::/8', url: 'http://[fd12::5]/', isExempt: true },
    { noProxy: 'fd00::/8', url: 'http://[fe80::1]/', isExempt: false },
    { noProxy: 'localhost', url: 'http://127.0.0.1/', isExempt: false },
    { noProxy: '', url: 'http://example.com/', isExempt: false },
  ];
  for (const { noProxy, url, isExempt } of cases) {
    test(`NO_PROXY="${noProxy}" ${isExempt ? 'exempts' : 'does not exempt'} ${url}`, () => {
      expect(isNoProxy(url, { NO_PROXY: noProxy })).toBe(isExempt);
      expect(proxyForUrl(url, { env: { no_proxy: noProxy, ALL_PROXY: 'http://p.test:1' } })).toBe(
        isExempt ? undefined : 'http://p.test:1',
      );
    });
  }
});
