import { describe, expect, test } from 'bun:test';
import { REDACTED, redactDeep, redactHeaders, redactText, redactUrl } from './redact.ts';

describe('redactUrl', () => {
  const secretParams = [
    'sig',
    'signature',
    'token',
    'access_token',
    'auth',
    'key',
    'api_key',
    'apikey',
    'password',
    'secret',
    'credential',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'X-Amz-Security-Token',
    'X-Goog-Signature',
    'X-Goog-Credential',
    'se',
    'SIG',
    'Token',
    'upload_token',
    'client_secret',
    'Key-Pair-Id',
    'Policy',
  ];
  for (const name of secretParams) {
    test(`redacts the ${name} query parameter`, () => {
      const url = `https://files.test/a.iso?keep=1&${name}=s3cr3t-value&other=2`;
      expect(redactUrl(url)).toBe(`https://files.test/a.iso?keep=1&${name}=${REDACTED}&other=2`);
    });
  }

  const cases: { name: string; url: string; expected: string }[] = [
    {
      name: 'S3 pre-signed URL',
      url: 'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef',
      expected: `https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${REDACTED}&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=${REDACTED}`,
    },
    {
      name: 'Azure SAS',
      url: 'https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2024-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=abc%3D',
      expected: `https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=${REDACTED}&sr=b&sp=r&sig=${REDACTED}`,
    },
    {
      name: 'userinfo with password',
      url: 'http://user:pa55@proxy.test:3128/',
      expected: `http://${REDACTED}@proxy.test:3128/`,
    },
    {
      name: 'userinfo token only',
      url: 'https://ghp_token@github.test/x',
      expected: `https://${REDACTED}@github.test/x`,
    },
    {
      name: 'fragment token',
      url: 'https://app.test/cb#access_token=abc&state=1',
      expected: `https://app.test/cb#access_token=${REDACTED}&state=1`,
    },
    {
      name: 'encoded parameter name',
      url: 'https://x.test/?%74oken=abc',
      expected: `https://x.test/?%74oken=${REDACTED}`,
    },
    {
      name: 'nothing secret',
      url: 'https://x.test/a%20b?page=2&q=hello+world',
      expected: 'https://x.test/a%20b?page=2&q=hello+world',
    },
    { name: 'not a URL', url: 'not a url ?token=abc', expected: `not a url ?token=${REDACTED}` },
    { name: 'empty', url: '', expected: '' },
    {
      name: '@ in the path is not userinfo',
      url: 'https://x.test/users/@me?sig=1',
      expected: `https://x.test/users/@me?sig=${REDACTED}`,
    },
  ];
  for (const { name, url, expected } of cases) {
    test(`redacts ${name}`, () => expect(redactUrl(url)).toBe(expected));
  }
});

describe('redactHeaders', () => {
  test('redacts secret headers from a record, keeping name casing', () => {
    const redacted = redactHeaders({
      Authorization: 'Bearer abc',
      'Proxy-Authorization': 'Basic dXNlcjpwYXNz',
      Cookie: 'session=abc',
      'Set-Cookie': 'id=1; HttpOnly',
      'X-Api-Key': 'k',
      'X-Auth-Token': 't',
      'X-Goog-Api-Key': 'g',
      'X-Csrf-Token': 'c',
      'X-Client-Secret': 's',
      'Content-Type': 'text/plain',
      Range: 'bytes=0-99',
      Location: 'https://cdn.test/f?X-Amz-Signature=abc',
    });
    expect(redacted).toEqual({
      Authorization: REDACTED,
      'Proxy-Authorization': REDACTED,
      Cookie: REDACTED,
      'Set-Cookie': REDACTED,
      'X-Api-Key': REDACTED,
      'X-Auth-Token': REDACTED,
      'X-Goog-Api-Key': REDACTED,
      'X-Csrf-Token': REDACTED,
      'X-Client-Secret': REDACTED,
      'Content-Type': 'text/plain',
      Range: 'bytes=0-99',
      Location: `https://cdn.test/f?X-Amz-Signature=${REDACTED}`,
    });
  });

  test('accepts a Headers object', () => {
    const headers = new Headers({ authorization: 'Bearer abc', accept: '*/*' });
    expect(redactHeaders(headers)).toEqual({ authorization: REDACTED, accept: '*/*' });
  });
});

describe('redactText', () => {
  const cases: { name: string; text: string; hidden: string }[] = [
    { name: 'Bearer token', text: 'sent Bearer eyJhbGciOi.x-y_z to host', hidden: 'eyJhbGciOi' },
    { name: 'Basic credentials', text: 'auth=Basic dXNlcjpwYXNz', hidden: 'dXNlcjpwYXNz' },
    { name: 'Cookie header line', text: 'Cookie: session=abc; other=def\nnext line', hidden: 'session=abc' },
    { name: 'Set-Cookie header line', text: 'Set-Cookie: id=42; Path=/', hidden: 'id=42' },
    { name: 'Authorization header line', text: 'Authorization: Digest username="u", response="r"', hidden: 'response' },
    { name: 'URL in a message', text: 'GET https://x.test/f?token=t0k3n failed', hidden: 't0k3n' },
    { name: 'proxy URL with credentials', text: 'proxy http://bob:hunter2@proxy.test:3128 refused', hidden: 'hunter2' },
    { name: 'quoted URL', text: '"https://x.test/?sig=abc"', hidden: 'sig=abc' },
  ];
  for (const { name, text, hidden } of cases) {
    test(`hides ${name}`, () => {
      const redacted = redactText(text);
      expect(redacted).not.toContain(hidden);
      expect(redacted).toContain(REDACTED);
    });
  }

  test('leaves ordinary text alone', () => {
    const text = 'Range request answered 200 instead of 206: GET https://x.test/a.iso?page=2';
    expect(redactText(text)).toBe(text);
  });

  test('keeps the next line after a Cookie header', () => {
    expect(redactText('Cookie: a=b\nnext')).toBe(`Cookie: ${REDACTED}\nnext`);
  });
});

describe('redactDeep', () => {
  test('redacts secret fields, header maps, URLs and strings at any depth', () => {
    const error = Object.assign(new Error('GET https://x.test/?sig=abc failed'), { code: 'ECONNRESET' });
    const record = {
      url: 'https://u:p@x.test/f?token=abc',
      password: 'hunter2',
      tokenCount: 3,
      key: 'connections',
      request: { headers: { Authorization: 'Bearer abc', Accept: '*/*' }, cookie: 'a=b' },
      responseHeaders: new Headers({ 'set-cookie': 'id=1' }),
      link: new URL('https://x.test/?X-Amz-Credential=abc'),
      error,
      size: 10n,
      list: ['Bearer abc', 1],
    };
    expect(redactDeep(record)).toEqual({
      url: `https://${REDACTED}@x.test/f?token=${REDACTED}`,
      password: REDACTED,
      tokenCount: 3,
      key: 'connections',
      request: { headers: { Authorization: REDACTED, Accept: '*/*' }, cookie: REDACTED },
      responseHeaders: { 'set-cookie': REDACTED },
      link: `https://x.test/?X-Amz-Credential=${REDACTED}`,
      error: { name: 'Error', message: `GET https://x.test/?sig=${REDACTED} failed`, code: 'ECONNRESET' },
      size: '10',
      list: [`Bearer ${REDACTED}`, 1],
    });
  });

  test('survives cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    expect(redactDeep(cyclic)).toEqual({ name: 'a', self: '[Circular]' });
  });
});
