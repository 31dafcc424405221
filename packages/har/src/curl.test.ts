import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { fixture } from '../test/fixtures.ts';
import { cookieHeaderFor } from './cookies.ts';
import { detectDialect, parseCurlCommand, splitShellWords } from './curl.ts';
import { CurlParseError } from './errors.ts';

/** Characters Chrome writes as `\uXXXX` inside `$'...'`: C0 and C1 controls and "!". */
const POSIX_SPECIAL = /[\u0000-\u001f\u007f-\u009f!]/g;

/** Chrome DevTools' "Copy as cURL (bash)" quoting of one word. */
function chromeEscapePosix(str: string): string {
  const esc = (x: string) => `\\u${x.charCodeAt(0).toString(16).padStart(4, '0')}`;
  if (str.search(POSIX_SPECIAL) !== -1 || str.includes("'")) {
    return `$'${str
      .replace(/\\/g, '\\\\')
      .replace(/'/g, "\\'")
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(POSIX_SPECIAL, esc)}'`;
  }
  return `'${str}'`;
}

/** Chrome DevTools' "Copy as cURL (cmd)" quoting of one word. */
function chromeEscapeWin(str: string): string {
  return `^"${str
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[^a-zA-Z0-9\s_\-:=+~'/.',?;()*`]/g, '^$&')
    .replace(/%(?=[a-zA-Z0-9_])/g, '%^')
    .replace(/\r?\n/g, '^\n\n')}^"`;
}

function curlError(text: string): CurlParseError {
  try {
    parseCurlCommand(text);
  } catch (error) {
    if (error instanceof CurlParseError) return error;
    throw error;
  }
  throw new Error('expected a CurlParseError');
}

const O = 'http://127.0.0.1:8080';
const CHROME_DROPPED =
  'not replayed: Cache-Control, Connection, Pragma, Sec-Fetch-Dest, Sec-Fetch-Mode, Sec-Fetch-Site, ' +
  'Sec-Fetch-User, Sec-Ch-Ua, Sec-Ch-Ua-Mobile, Sec-Ch-Ua-Platform';

describe('parseCurlCommand: browser exports', () => {
  test('Chrome "Copy as cURL (bash)": continuations, -b cookies, $\'...\' quoting', () => {
    const text = fixture('curl/chrome-bash.txt');
    expect(detectDialect(text)).toBe('bash');
    const request = parseCurlCommand(text);
    expect(request.url).toBe(`${O}/files/7/download?ref=email&utm_source=100%25`);
    expect(request.method).toBe('GET');
    expect(request.headers).toEqual({
      Accept:
        'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
      'Accept-Language': 'en-GB,en;q=0.9',
      Referer: `${O}/files`,
      'Upgrade-Insecure-Requests': '1',
      'User-Agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      'X-Display-Name': "Ada O'Brien & co! 100% \\o/",
    });
    expect(request.cookies).toEqual([
      { name: 'theme', value: 'dark', domain: '127.0.0.1', path: '/', secure: false, hostOnly: true },
      { name: 'session', value: 's3ss10n-7f3a9c', domain: '127.0.0.1', path: '/', secure: false, hostOnly: true },
    ]);
    expect(request.insecure).toBe(false);
    expect(request.notes).toEqual([
      '--compressed ignored: ddm asks for uncompressed bytes so each segment lands at its offset',
      CHROME_DROPPED,
    ]);
  });

  test('Chrome "Copy as cURL (cmd)": ^" quoting, ^ escapes, ^ CRLF continuations', () => {
    const text = fixture('curl/chrome-cmd.txt');
    expect(detectDialect(text)).toBe('cmd');
    const request = parseCurlCommand(text);
    expect(request.url).toBe(`${O}/files/7/download?ref=email&utm_source=100%25`);
    expect(request.headers['User-Agent']).toContain('Windows NT 10.0');
    expect(request.headers.Referer).toBe(`${O}/files`);
    // Chrome doubles every backslash, but the C runtime halves only those before a quote, so
    // curl.exe itself receives "\\o/": ddm replays what curl would have sent.
    expect(request.headers['X-Display-Name']).toBe("Ada O'Brien & co! 100% \\\\o/");
    expect(cookieHeaderFor(request.cookies, request.url)).toBe('theme=dark; session=s3ss10n-7f3a9c');
    expect(request.notes).toContain(CHROME_DROPPED);
  });

  test('Firefox "Copy as cURL": one line, Cookie as a header, auth headers kept', () => {
    const request = parseCurlCommand(fixture('curl/firefox-bash.txt'));
    expect(request.url).toBe(`${O}/api/v1/exports/42/file`);
    expect(request.headers).toEqual({
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      Accept: 'application/octet-stream',
      'Accept-Language': 'en-US,en;q=0.5',
      Referer: `${O}/app/exports`,
      Authorization:
        'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJzY29wZSI6ImV4cG9ydHMifQ.c2lnbmF0dXJl',
      'X-Api-Key': 'k_live_8f2b6c1e0a',
    });
    expect(request.cookies.map((c) => `${c.name}=${c.value}@${c.domain}`)).toEqual([
      'session=ff-6b21d0@127.0.0.1',
      'consent=1@127.0.0.1',
    ]);
  });

  test('old Firefox Windows quoting: curl.exe, "" inside quotes, "%" breaks', () => {
    const request = parseCurlCommand(`curl.exe "${O}/a?x=1"%"2" -H "X-Quote: say ""hi"""`);
    expect(request.url).toBe(`${O}/a?x=1%2`);
    expect(request.headers['X-Quote']).toBe('say "hi"');
  });
});

describe('parseCurlCommand: options', () => {
  test('-u user:password becomes a UTF-8 Basic Authorization header', () => {
    const request = parseCurlCommand(`curl -u 'ada:pässword' ${O}/f.zip`);
    expect(request.headers.Authorization).toBe(`Basic ${Buffer.from('ada:pässword').toString('base64')}`);
  });

  test('-A, -e (with ;auto), --url, -XGET, -sSL clusters, -k and harmless flags', () => {
    const request = parseCurlCommand(
      `curl -sSL -XGET --http1.1 --globoff -A 'UA/1' -e '${O}/page;auto' -k --url ${O}/f.bin -o out.bin --max-time 30`,
    );
    expect(request.url).toBe(`${O}/f.bin`);
    expect(request.headers).toEqual({ 'User-Agent': 'UA/1', Referer: `${O}/page` });
    expect(request.insecure).toBe(true);
    expect(request.notes).toEqual(['-k: TLS certificate checks are off for this download']);
  });

  test('"Name;" sends an empty header and "Name:" removes one, as in curl', () => {
    const request = parseCurlCommand(`curl ${O}/f -H 'X-Empty;' -H 'Accept:'`);
    expect(request.headers).toEqual({ 'X-Empty': '' });
  });

  test('cookies are scoped to the URL host and secure on https', () => {
    const request = parseCurlCommand("curl 'https://dl.example.com/f' -b 'a=1' -H 'cookie: b=2; a=9'");
    expect(request.cookies).toEqual([
      { name: 'a', value: '1', domain: 'dl.example.com', path: '/', secure: true, hostOnly: true },
      { name: 'b', value: '2', domain: 'dl.example.com', path: '/', secure: true, hostOnly: true },
    ]);
    expect(cookieHeaderFor(request.cookies, 'https://example.com/')).toBeNull();
  });
});

describe('parseCurlCommand: rejected commands', () => {
  test.each([
    [
      `curl ${O}/api -H 'content-type: application/json' --data-raw '{"a":1}'`,
      '--data-raw',
      `Unsupported in a download: --data-raw (ddm only replays GET requests)`,
    ],
    [`curl ${O}/api -d a=1`, '-d', 'Unsupported in a download: -d (ddm only replays GET requests)'],
    [
      `curl ${O}/api --data-binary @body.bin`,
      '--data-binary',
      'Unsupported in a download: --data-binary (ddm only replays GET requests)',
    ],
    [`curl ${O}/api --json '{}'`, '--json', 'Unsupported in a download: --json (ddm only replays GET requests)'],
    [`curl ${O}/up -F 'file=@a.txt'`, '-F', 'Unsupported in a download: -F (ddm only replays GET requests)'],
    [`curl ${O}/up -T a.txt`, '-T', 'Unsupported in a download: -T (ddm only replays GET requests)'],
    [`curl ${O}/x -X POST`, '-X', 'Unsupported in a download: -X POST (ddm only replays GET requests)'],
    [`curl ${O}/x -XDELETE`, '-X', 'Unsupported in a download: -X DELETE (ddm only replays GET requests)'],
    [`curl -I ${O}/x`, '-I', 'Unsupported in a download: -I (ddm only replays GET requests)'],
    [
      `curl ${O}/x -b cookies.txt`,
      '-b',
      'Unsupported in a download: -b cookies.txt (reads a cookie file; pass the cookie string instead)',
    ],
    [
      `curl ${O}/x -H @headers.txt`,
      '-H',
      'Unsupported in a download: -H @headers.txt (ddm does not read header files)',
    ],
    [`curl ${O}/x -u ada`, '-u', 'Unsupported in a download: -u without a password (curl would prompt for it)'],
    [
      `curl ${O}/x --proxy http://p:3128`,
      '--proxy',
      'Unknown curl option: --proxy (ddm understands the options browsers write in "Copy as cURL")',
    ],
    [`curl -sz ${O}/x`, '-z', 'Unknown curl option: -z (ddm understands the options browsers write in "Copy as cURL")'],
    [`curl ${O}/x -H`, '-H', 'Option -H needs a value'],
  ])('%s', (text, flag, message) => {
    const error = curlError(text);
    expect(error.code).toBe('ERR_USAGE');
    expect(error.name).toBe('CurlParseError');
    expect(error.flag).toBe(flag);
    expect(error.message).toBe(message);
  });

  test.each([
    ["curl -H 'Accept: */*'", 'The curl command has no URL'],
    [`curl ${O}/a ${O}/b`, `The curl command has more than one URL: ${O}/a ${O}/b`],
    ["curl 'ftp://127.0.0.1/f'", "The curl command's URL is not http(s): ftp://127.0.0.1/f"],
    ['curl not-a-url', "The curl command's URL is not valid: not-a-url"],
    [`wget ${O}/f`, 'Not a curl command: it starts with "wget"'],
    ['   ', 'Empty command: paste the text of "Copy as cURL"'],
    [
      `curl '${O}/a' ;\ncurl '${O}/b'`,
      'Cannot parse the command: unquoted ";" (paste a single curl command, as "Copy as cURL" writes it)',
    ],
    [
      `curl ^"${O}/a^" &\r\ncurl ^"${O}/b^"`,
      'Cannot parse the command: unquoted "&" (paste a single curl command, as "Copy as cURL" writes it)',
    ],
    [`curl '${O}/a`, "Cannot parse the command: unterminated '...' quote"],
    [
      `Invoke-WebRequest -UseBasicParsing -Uri "${O}/a"`,
      'PowerShell commands are not supported: use "Copy as cURL (bash)" or "Copy as cURL (cmd)"',
    ],
    [`fetch("${O}/a", {"method": "GET"});`, '"Copy as fetch" is not supported: use "Copy as cURL"'],
  ])('%j', (text, message) => {
    expect(curlError(text).message).toBe(message);
  });
});

describe('splitShellWords', () => {
  test('bash: ANSI-C escapes, double quotes, backslashes, comments', () => {
    expect(
      splitShellWords(`curl $'a\\tb\\x41\\101\\u00e9\\U0001F600\\cA' "x\\"y\\$z\\q" p\\ q # comment`, 'bash'),
    ).toEqual(['curl', 'a\tbAAé😀\x01', 'x"y$z\\q', 'p q']);
  });

  test('a word quoted by Chrome for bash comes back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const words = splitShellWords(`curl \\\n  ${chromeEscapePosix(value)} \\\n  --compressed`, 'bash');
        return words.length === 3 && words[1] === value;
      }),
      { numRuns: 500 },
    );
  });

  test('a word quoted by Chrome for cmd comes back unchanged (no backslash, no CR)', () => {
    const value = fc.string({ unit: 'binary-ascii' }).filter((s) => !s.includes('\\') && !s.includes('\r'));
    fc.assert(
      fc.property(value, (s) => {
        const words = splitShellWords(`curl ^\r\n  ${chromeEscapeWin(s)} ^\r\n  --compressed`, 'cmd');
        return words.length === 3 && words[1] === s;
      }),
      { numRuns: 500 },
    );
  });

  test('any printable header value survives Chrome quoting and header parsing', () => {
    const value = fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => s.trim() !== '' && !/[\r\n\0]/.test(s));
    fc.assert(
      fc.property(value, (s) => {
        const request = parseCurlCommand(`curl '${O}/f' -H ${chromeEscapePosix(`X-Value: ${s}`)}`);
        return request.headers['X-Value'] === s.trim();
      }),
      { numRuns: 300 },
    );
  });
});
