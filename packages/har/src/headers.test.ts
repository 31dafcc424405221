import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { canonicalHeaderName, replayableHeaders } from './headers.ts';

const DROPPED = [
  'Host',
  'Connection',
  'Keep-Alive',
  'Proxy-Authorization',
  'Proxy-Connection',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
  'Content-Length',
  'Range',
  'If-Range',
  'If-None-Match',
  'If-Modified-Since',
  'Accept-Encoding',
  'Cookie',
  'Sec-Fetch-Mode',
  'Sec-CH-UA-Platform',
  ':authority',
  ':path',
  'Priority',
  'Cache-Control',
  'Pragma',
];

describe('canonicalHeaderName', () => {
  test.each([
    ['user-agent', 'User-Agent'],
    ['X-API-KEY', 'X-Api-Key'],
    ['referer', 'Referer'],
    ['dnt', 'DNT'],
    ['www-authenticate', 'WWW-Authenticate'],
    ['x-csrf-token', 'X-CSRF-Token'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalHeaderName(input)).toBe(expected);
  });
});

describe('replayableHeaders', () => {
  test('keeps what servers gate files on, in canonical case', () => {
    expect(
      replayableHeaders([
        { name: 'user-agent', value: 'UA' },
        { name: 'REFERER', value: 'http://127.0.0.1:8080/page' },
        { name: 'authorization', value: 'Bearer t' },
        { name: 'accept', value: '*/*' },
        { name: 'accept-language', value: 'en' },
        { name: 'origin', value: 'http://127.0.0.1:8080' },
        { name: 'x-api-key', value: 'k' },
        { name: 'x-requested-with', value: 'XMLHttpRequest' },
      ]),
    ).toEqual({
      'User-Agent': 'UA',
      Referer: 'http://127.0.0.1:8080/page',
      Authorization: 'Bearer t',
      Accept: '*/*',
      'Accept-Language': 'en',
      Origin: 'http://127.0.0.1:8080',
      'X-Api-Key': 'k',
      'X-Requested-With': 'XMLHttpRequest',
    });
  });

  test.each(DROPPED)('drops %s', (name) => {
    expect(replayableHeaders([{ name, value: 'x' }])).toEqual({});
  });

  test('drops any spelling of a dropped header', () => {
    const spelled = fc
      .tuple(fc.constantFrom(...DROPPED), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }))
      .map(([name, upper]) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
    fc.assert(fc.property(spelled, (name) => Object.keys(replayableHeaders([{ name, value: 'v' }])).length === 0));
  });

  test('joins repeated names, trims values and drops values with line breaks', () => {
    expect(
      replayableHeaders([
        { name: 'X-Trace', value: ' a ' },
        { name: 'x-trace', value: 'b' },
        { name: 'X-Evil', value: 'a\r\nHost: evil' },
        { name: 'bad name', value: 'v' },
      ]),
    ).toEqual({ 'X-Trace': 'a, b' });
  });
});
