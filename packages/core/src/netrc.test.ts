import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DdmError } from './errors.ts';
import { basicAuthHeader, defaultNetrcPath, netrcCredentialsFor, parseNetrc, readNetrcFile } from './netrc.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-netrc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = `# personal hosts
machine files.example.com login alice password s3cret
machine Other.Example.com
  login bob
  password "pass word \\"quoted\\""
  account acct

macdef init
machine evil.test login mallory password fromMacro
cd /pub

machine after-macro.test login carol password c
default login anonymous password guest@
`;

describe('parseNetrc', () => {
  test('reads machines, default, multi-line entries, quotes, comments and skips macdef', () => {
    expect(parseNetrc(sample)).toEqual([
      { machine: 'files.example.com', login: 'alice', password: 's3cret', account: null },
      { machine: 'other.example.com', login: 'bob', password: 'pass word "quoted"', account: 'acct' },
      { machine: 'after-macro.test', login: 'carol', password: 'c', account: null },
      { machine: null, login: 'anonymous', password: 'guest@', account: null },
    ]);
  });

  test('tolerates garbage and truncation', () => {
    expect(parseNetrc('')).toEqual([]);
    expect(parseNetrc('machine')).toEqual([]);
    expect(parseNetrc('login orphan machine a.test login')).toEqual([
      { machine: 'a.test', login: null, password: null, account: null },
    ]);
  });
});

describe('netrcCredentialsFor', () => {
  const entries = parseNetrc(sample);

  test('matches the exact host, case-insensitively', () => {
    expect(netrcCredentialsFor(entries, 'files.example.com')).toEqual({ login: 'alice', password: 's3cret' });
    expect(netrcCredentialsFor(entries, 'OTHER.example.COM')).toEqual({ login: 'bob', password: 'pass word "quoted"' });
  });

  test('never gives one host the credentials of another; falls back to default', () => {
    expect(netrcCredentialsFor(entries, 'sub.files.example.com')).toEqual({ login: 'anonymous', password: 'guest@' });
    expect(netrcCredentialsFor(entries, 'evil.test')).toEqual({ login: 'anonymous', password: 'guest@' });
    const withoutDefault = entries.filter((entry) => entry.machine !== null);
    expect(netrcCredentialsFor(withoutDefault, 'example.com')).toBeNull();
    expect(netrcCredentialsFor(withoutDefault, 'evil.test')).toBeNull();
  });
});

test('basicAuthHeader encodes login:password as UTF-8 base64 (RFC 7617)', () => {
  expect(basicAuthHeader('Aladdin', 'open sesame')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  expect(basicAuthHeader('test', '123£')).toBe('Basic dGVzdDoxMjPCow==');
});

describe('readNetrcFile', () => {
  test('reads a file, and treats a missing default file as empty', () => {
    const file = join(dir, '.netrc');
    writeFileSync(file, 'machine a.test login u password p\n');
    expect(readNetrcFile(file)).toHaveLength(1);
    expect(readNetrcFile(join(dir, 'missing'))).toEqual([]);
  });

  test('a missing --netrc-file is ERR_IO', () => {
    let error: unknown = null;
    try {
      readNetrcFile(join(dir, 'missing'), true);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DdmError);
    expect((error as DdmError).code).toBe('ERR_IO');
  });

  test('the default path is ~/.netrc', () => {
    expect(defaultNetrcPath({ HOME: '/home/u' })).toBe('/home/u/.netrc');
  });
});
