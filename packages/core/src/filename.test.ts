import { describe, expect, test } from 'bun:test';
import path from 'node:path';
import fc from 'fast-check';
import { DdmError } from './errors.ts';
import {
  fileNameFromResponse,
  MAX_FILE_NAME_BYTES,
  MAX_NAME_BYTES,
  PART_SUFFIX,
  pickFreeName,
  sanitizeFileName,
  splitExtension,
  withCollisionSuffix,
} from './filename.ts';

const byteLength = (text: string): number => new TextEncoder().encode(text).length;
const fromHeader = (contentDisposition: string, url = 'https://example.com/files/from-url.bin') =>
  fileNameFromResponse({ contentDisposition, url });

describe('fileNameFromResponse: Content-Disposition', () => {
  test.each([
    ['attachment; filename="report.pdf"', 'report.pdf'],
    ['attachment; filename=report.pdf', 'report.pdf'],
    ['inline; filename="report.pdf"', 'report.pdf'],
    ['ATTACHMENT; FILENAME="Report.PDF"', 'Report.PDF'],
    // RFC 8187 filename* wins over filename, whatever the order.
    [`attachment; filename="fallback.pdf"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf`, 'naïve résumé.pdf'],
    [`attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf; filename="EUR rates.pdf"`, '€ rates.pdf'],
    [`attachment; filename*=utf-8'en'%e6%97%a5%e6%9c%ac.txt`, '日本.txt'],
    [`attachment; filename*=ISO-8859-1''caf%E9.txt`, 'café.txt'],
    // Quoted filename* (invalid, but sent) and a charset label the package does not know.
    [`attachment; filename*="UTF-8''quoted%20ext.txt"`, 'quoted ext.txt'],
    [`attachment; filename*=windows-1252''%80uro.txt`, '€uro.txt'],
    // filename* that cannot be decoded falls back to filename.
    [`attachment; filename*=bogus-charset''%FF%FE.txt; filename="plain.txt"`, 'plain.txt'],
    // Percent-encoded plain filename, decoded as browsers do.
    ['attachment; filename="na%C3%AFve%20file.txt"', 'naïve file.txt'],
    ['attachment; filename="100%.txt"', '100%.txt'],
    // Raw UTF-8 bytes in the header arrive as Latin-1 characters and are repaired.
    ['attachment; filename="naÃ¯ve rÃ©sumÃ© â\u0082¬.pdf"', 'naïve résumé €.pdf'],
    ['attachment; filename="caf\u00e9.txt"', 'café.txt'],
    // RFC 2047 encoded words.
    ['attachment; filename="=?UTF-8?B?w6nDqMOgLnR4dA==?="', 'éèà.txt'],
    ['attachment; filename="=?UTF-8?Q?caf=C3=A9_menu.txt?="', 'café menu.txt'],
    // Malformed headers real servers send.
    ['attachment; filename=my file name.zip', 'my file name.zip'],
    ['attachment; filename=my file.zip;', 'my file.zip'],
    ['attachment; filename="unterminated.zip', 'unterminated.zip'],
    ['attachment;filename="a";', 'a'],
    ['filename="no-type.iso"', 'no-type.iso'],
    ['attachment; filename="with \\"escaped\\" quotes.txt"', 'with _escaped_ quotes.txt'],
    ['attachment; filename="semi;colon.txt"', 'semi;colon.txt'],
    // Paths are reduced to their last component.
    ['attachment; filename="../../etc/passwd"', 'passwd'],
    ['attachment; filename="C:\\\\Users\\\\me\\\\report.pdf"', 'report.pdf'],
    ["attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd", 'passwd'],
    // Spoofing and hiding are neutralised.
    ['attachment; filename="invoice\u202Efdp.exe"', 'invoicefdp.exe'],
    ['attachment; filename=".bashrc"', 'bashrc'],
    ['attachment; filename="CON.txt"', '_CON.txt'],
  ])('reads %p as %p', (header, name) => {
    expect(fromHeader(header)).toEqual({ name, source: 'content-disposition' });
  });

  test.each(['attachment', 'attachment; filename=""', 'attachment; filename=".."', 'inline; size=3', 'garbage'])(
    'falls back to the URL for %p',
    (header) => {
      expect(fromHeader(header)).toEqual({ name: 'from-url.bin', source: 'url' });
    },
  );
});

describe('fileNameFromResponse: URL and default', () => {
  test.each([
    ['https://example.com/pub/linux-6.9.tar.xz', 'linux-6.9.tar.xz'],
    ['https://example.com/pub/my%20file%E2%82%AC.iso?token=abc#frag', 'my file€.iso'],
    ['https://example.com/a/%E9t%E9.txt', 'été.txt'],
    ['https://example.com/a/%2E%2E', null],
    ['https://example.com/a/..%2F..%2Fsecret', 'secret'],
    ['https://example.com/a/%ZZbad.txt', '%ZZbad.txt'],
  ])('reads %p as %p', (url, name) => {
    const result = fileNameFromResponse({ url });
    if (name === null) expect(result.source).toBe('default');
    else expect(result).toEqual({ name, source: 'url' });
  });

  test.each([
    ['https://example.com/', null, 'download'],
    ['https://example.com/dir/', 'application/zip; charset=binary', 'download.zip'],
    ['not a url', 'application/pdf', 'download.pdf'],
    ['data:text/plain,hello', 'text/plain', 'download.txt'],
    ['https://example.com/', 'application/octet-stream', 'download'],
  ])('falls back to "download" for %p with %p', (url, contentType, name) => {
    expect(fileNameFromResponse({ url, contentType })).toEqual({ name, source: 'default' });
  });
});

describe('sanitizeFileName', () => {
  test.each([
    ['report.pdf', 'report.pdf'],
    ['a/b\\c.txt', 'a_b_c.txt'],
    ['..', 'download'],
    ['.', 'download'],
    ['', 'download'],
    ['   ', 'download'],
    ['...hidden', 'hidden'],
    ['trailing. . ', 'trailing'],
    ['x\u0000y\u001fz\u007f\u0085.txt', 'x_y_z__.txt'],
    ['bi\u202Adi\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F.txt', 'bidi.txt'],
    ['zero\u200Bwidth\u200C\u200D\u2060\uFEFF.txt', 'zerowidth.txt'],
    ['a<b>c:d"e|f?g*h', 'a_b_c_d_e_f_g_h'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['Com1.tar.gz', '_Com1.tar.gz'],
    ['LPT9', '_LPT9'],
    ['nul .txt', '_nul .txt'],
    ['CONSOLE.txt', 'CONSOLE.txt'],
    ['COM10', 'COM10'],
    ['e\u0301.txt', '\u00e9.txt'],
    ['lone\uD800surrogate', 'lone\uFFFDsurrogate'],
  ])('makes %p into %p', (name, safe) => {
    expect(sanitizeFileName(name)).toBe(safe);
  });

  test('cuts to 250 UTF-8 bytes on a code-point boundary, keeping the extension, so <name>.part fits in 255', () => {
    const long = `${'😀'.repeat(100)}.tar.gz`;
    const safe = sanitizeFileName(long);
    expect(byteLength(safe)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(byteLength(`${safe}${PART_SUFFIX}`)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(safe.endsWith('😀.tar.gz')).toBe(true);
    expect(safe.isWellFormed()).toBe(true);
    expect(sanitizeFileName('a'.repeat(300))).toBe('a'.repeat(250));
    expect(sanitizeFileName(`${'é'.repeat(200)}.pdf`)).toBe(`${'é'.repeat(123)}.pdf`);
  });

  test.each([
    ['ASCII, 255 bytes', `${'a'.repeat(251)}.bin`],
    ['ASCII, 251 bytes', `${'b'.repeat(247)}.iso`],
    ['2-byte characters', `${'é'.repeat(126)}.txt`],
    ['3-byte characters', `${'字'.repeat(84)}.mp4`],
    ['4-byte characters, odd cut', `x${'😀'.repeat(63)}.gz`],
    ['a long extension', `${'c'.repeat(238)}.abcdefghijklmnop`],
    ['a .tar.gz extension', `${'d'.repeat(245)}.tar.gz`],
    ['multi-byte extension', `${'e'.repeat(220)}.${'ü'.repeat(16)}`],
    ['no extension, 255 bytes', 'f'.repeat(255)],
  ])('a 251–255 byte name (%s): name, .part and "name (NNNN).ext.part" all fit in 255 bytes', (_, name) => {
    expect(byteLength(name)).toBeGreaterThan(MAX_NAME_BYTES);
    const safe = sanitizeFileName(name);
    const [, extension] = splitExtension(name);
    expect(safe.endsWith(extension)).toBe(true);
    expect(safe.isWellFormed()).toBe(true);
    // The cut keeps a prefix of the original stem, whole characters only.
    expect(name.startsWith(safe.slice(0, safe.length - extension.length))).toBe(true);
    expect(byteLength(`${safe}${PART_SUFFIX}`)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    for (const n of [1, 99, 9999, 10_000]) {
      const collided = withCollisionSuffix(safe, n);
      expect(collided.endsWith(` (${n})${extension}`)).toBe(true);
      expect(byteLength(`${collided}${PART_SUFFIX}`)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    }
  });

  const hostilePiece = fc.constantFrom(
    '../',
    '..',
    '.',
    '/',
    '\\',
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u202E',
    '\u2066',
    '\u200F',
    '\u200B',
    '\uFEFF',
    ' ',
    '\t',
    'CON',
    'nul',
    'COM1',
    '.txt',
    ':',
    '*',
    'a',
    'é',
    'e\u0301',
    '😀',
    '\uD800',
    '\uDC00',
    'x'.repeat(100),
  );
  const codeUnit = fc.nat({ max: 0xffff }).map((code) => String.fromCharCode(code));
  const hostileName = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: codeUnit, maxLength: 300 }),
    fc.array(hostilePiece, { maxLength: 40 }).map((pieces) => pieces.join('')),
    fc.string({ unit: fc.constantFrom('😀', '日', 'é', 'a', '.', ' '), minLength: 200, maxLength: 600 }),
  );
  const dir = path.resolve('/srv/downloads');
  const forbidden = /[/\\<>:"|?*\p{Cc}\p{Cf}\u2028\u2029]/u;

  test('turns any hostile name into a safe child of the download directory', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        const safe = sanitizeFileName(name);
        expect(safe.length).toBeGreaterThan(0);
        expect(byteLength(safe)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
        expect(safe).not.toMatch(forbidden);
        expect(safe.isWellFormed()).toBe(true);
        expect(safe).not.toBe('.');
        expect(safe).not.toBe('..');
        expect(safe).not.toMatch(/^[\s.]|[\s.]$/u);
        expect(safe).not.toMatch(/^(?:CON|PRN|AUX|NUL|COM\d|LPT\d)(?:\..*)?$/i);
        const joined = path.join(dir, safe);
        expect(path.dirname(joined)).toBe(dir);
        expect(path.basename(joined)).toBe(safe);
      }),
      { numRuns: 2000 },
    );
  });

  test('is idempotent', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        const safe = sanitizeFileName(name);
        expect(sanitizeFileName(safe)).toBe(safe);
      }),
      { numRuns: 1000 },
    );
  });

  test('keeps whatever the response offers safe too', () => {
    fc.assert(
      fc.property(hostileName, fc.constantFrom('filename', 'filename*'), (name, key) => {
        const value =
          key === 'filename' ? `"${name.replaceAll('"', '\\"')}"` : `UTF-8''${encodeURIComponent(name.toWellFormed())}`;
        const { name: safe } = fileNameFromResponse({
          contentDisposition: `attachment; ${key}=${value}`,
          url: 'https://x/',
        });
        expect(byteLength(safe)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
        expect(safe).not.toMatch(forbidden);
        expect(path.dirname(path.join(dir, safe))).toBe(dir);
      }),
      { numRuns: 500 },
    );
  });
});

describe('withCollisionSuffix and pickFreeName', () => {
  test.each([
    ['report.pdf', 1, 'report (1).pdf'],
    ['archive.tar.gz', 1, 'archive (1).tar.gz'],
    ['archive.TAR.XZ', 2, 'archive (2).TAR.XZ'],
    ['my.report.v2.pdf', 3, 'my.report.v2 (3).pdf'],
    ['.bashrc', 1, '.bashrc (1)'],
    ['.config.json', 1, '.config (1).json'],
    ['README', 12, 'README (12)'],
    ['Mr. Smith goes', 1, 'Mr. Smith goes (1)'],
    ['report.pdf', 0, 'report.pdf'],
  ])('gives %p with %p the name %p', (name, n, suffixed) => {
    expect(withCollisionSuffix(name, n)).toBe(suffixed);
  });

  test('shortens the base to stay within 255 bytes', () => {
    const suffixed = withCollisionSuffix(`${'é'.repeat(125)}.pdf`, 9999);
    expect(byteLength(suffixed)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(suffixed.endsWith('é (9999).pdf')).toBe(true);
  });

  test('rejects a negative or fractional counter', () => {
    expect(() => withCollisionSuffix('a', -1)).toThrow(DdmError);
    expect(() => withCollisionSuffix('a', 1.5)).toThrow(DdmError);
  });

  test('splits extensions', () => {
    expect(splitExtension('a.b.pdf')).toEqual(['a.b', '.pdf']);
    expect(splitExtension('.tar.gz')).toEqual(['.tar', '.gz']);
    expect(splitExtension('noext')).toEqual(['noext', '']);
  });

  test('picks the first free name', () => {
    const taken = new Set(['report.pdf', 'report (1).pdf', 'report (2).pdf']);
    expect(pickFreeName('report.pdf', (candidate) => taken.has(candidate))).toBe('report (3).pdf');
    expect(pickFreeName('free.pdf', (candidate) => taken.has(candidate))).toBe('free.pdf');
  });

  test('fails with ERR_FILE_EXISTS when every candidate is taken', () => {
    let tries = 0;
    let caught: unknown;
    try {
      pickFreeName(
        'busy.bin',
        () => {
          tries++;
          return true;
        },
        5,
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DdmError);
    expect((caught as DdmError).code).toBe('ERR_FILE_EXISTS');
    expect(tries).toBe(6);
  });
});
