import { type CookieSpec, collectCookies } from './cookies.ts';
import { CurlParseError } from './errors.ts';
import { canonicalHeaderName, type HeaderPair, isReplayableHeader, replayableHeaders } from './headers.ts';

/** A browser's "Copy as cURL" command, reduced to what a download replays. */
export interface CurlRequest {
  readonly url: string;
  readonly method: 'GET';
  /** Replayable request headers (see `replayableHeaders`), canonical names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Cookies from `-b` and from `-H 'Cookie: ...'`, scoped to the URL's host. */
  readonly cookies: readonly CookieSpec[];
  /** `-k` / `--insecure`: the user asked to skip TLS certificate checks. */
  readonly insecure: boolean;
  /** What was ignored or changed, human readable ("--compressed ignored: ..."). */
  readonly notes: readonly string[];
}

/** Quoting rules of a copied command: POSIX shell (bash, zsh) or Windows cmd.exe. */
export type ShellDialect = 'bash' | 'cmd';

export interface ParseCurlOptions {
  /** @default 'auto': cmd when the text has `^"` or a `^` line continuation, bash otherwise. */
  readonly dialect?: ShellDialect | 'auto';
}

const OPERATORS = new Set([';', '|', '&', '<', '>']);

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function operatorError(c: string): CurlParseError {
  return new CurlParseError(
    `Cannot parse the command: unquoted "${c}" (paste a single curl command, as "Copy as cURL" writes it)`,
  );
}

/** Reads a bash `$'...'` body starting after the opening quote; returns [text, index after]. */
function readAnsiC(text: string, start: number): [string, number] {
  let out = '';
  let i = start;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'") return [out, i + 1];
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    i += 2;
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      e: '\x1b',
      E: '\x1b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      "'": "'",
      '"': '"',
      '?': '?',
    };
    if (e === undefined) break;
    const mapped = simple[e];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    const numeric = (pattern: RegExp, radix: number, from: number): number | null => {
      const match = pattern.exec(text.slice(from));
      if (match === null) return null;
      i = from + match[0].length;
      return Number.parseInt(match[0], radix);
    };
    let code: number | null = null;
    if (e >= '0' && e <= '7') code = numeric(/^[0-7]{1,3}/, 8, i - 1);
    else if (e === 'x') code = numeric(/^[0-9a-fA-F]{1,2}/, 16, i);
    else if (e === 'u') code = numeric(/^[0-9a-fA-F]{1,4}/, 16, i);
    else if (e === 'U') code = numeric(/^[0-9a-fA-F]{1,8}/, 16, i);
    else if (e === 'c' && i < text.length) {
      code = (text.charCodeAt(i) & 0x1f) >>> 0;
      i++;
    }
    if (code !== null && code <= 0x10ffff) out += String.fromCodePoint(code);
    else out += `\\${e}`;
  }
  throw new CurlParseError("Cannot parse the command: unterminated $'...' quote");
}

function splitBash(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const finish = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (isBlank(c)) {
      finish();
      i++;
    } else if (c === '\\') {
      const next = text[i + 1];
      if (next === '\n') i += 2;
      else if (next === '\r' && text[i + 2] === '\n') i += 3;
      else {
        if (next !== undefined) {
          word += next;
          inWord = true;
        }
        i += 2;
      }
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close === -1) throw new CurlParseError("Cannot parse the command: unterminated '...' quote");
      word += text.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '$' && text[i + 1] === "'") {
      const [body, after] = readAnsiC(text, i + 2);
      word += body;
      inWord = true;
      i = after;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        const d = text[i];
        if (d === undefined) throw new CurlParseError('Cannot parse the command: unterminated "..." quote');
        i++;
        if (d === '"') break;
        if (d === '\\') {
          const next = text[i];
          if (next === '\n') {
            i++;
          } else if (next !== undefined && '$`"\\'.includes(next)) {
            word += next;
            i++;
          } else {
            word += d;
          }
        } else {
          word += d;
        }
      }
    } else if (c === '#' && !inWord) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (OPERATORS.has(c)) {
      throw operatorError(c);
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  finish();
  return words;
}

/**
 * cmd.exe's pass: `^` escapes the next character (also a line break, after which the next
 * character is taken literally), `"` toggles a quoted region in which `^` is literal. The
 * result is the command line the program receives, quotes included.
 */
function cmdLayer(text: string): string {
  let out = '';
  let inQuote = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (inQuote) {
      out += c;
      if (c === '"') inQuote = false;
      i++;
    } else if (c === '^') {
      let j = i + 1;
      if (text[j] === '\r' && text[j + 1] === '\n') j += 2;
      else if (text[j] === '\n') j += 1;
      else if (j < text.length) {
        out += text[j];
        i = j + 1;
        continue;
      }
      // A caret at the end of a line joins the next line and escapes its first character.
      if (j < text.length) out += text[j];
      i = j + 1;
    } else if (c === '"') {
      inQuote = true;
      out += c;
      i++;
    } else if (OPERATORS.has(c) && c !== ';') {
      throw operatorError(c);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The C runtime's pass (CommandLineToArgvW rules, 2008 and later): backslashes and quotes. */
function argvLayer(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let inQuote = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (!inQuote && isBlank(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      let j = i;
      while (line[j] === '\\') j++;
      const count = j - i;
      if (line[j] === '"') {
        word += '\\'.repeat(Math.floor(count / 2));
        if (count % 2 === 1) {
          word += '"';
          j++;
        }
      } else {
        word += '\\'.repeat(count);
      }
      i = j;
    } else if (c === '"') {
      if (inQuote && line[i + 1] === '"') {
        word += '"';
        i += 2;
      } else {
        inQuote = !inQuote;
        i++;
      }
    } else {
      word += c;
      i++;
    }
  }
  if (inQuote) throw new CurlParseError('Cannot parse the command: unterminated "..." quote');
  if (inWord) words.push(word);
  return words;
}

/** Which quoting a copied command uses, when the caller did not say. */
export function detectDialect(text: string): ShellDialect {
  if (/\^"/.test(text) || /\^\r?\n/.test(text) || /^\s*curl\.exe\b/i.test(text)) return 'cmd';
  return 'bash';
}

/**
 * Splits a command line into words the way bash or cmd.exe plus the C runtime would: bash
 * single quotes, `$'...'` ANSI-C quotes, double quotes, backslash escapes and backslash-newline
 * continuations; cmd `^` escapes and `^`-newline continuations, then `"` and backslash rules.
 * No expansion of variables or globs.
 *
 * @throws {CurlParseError} `ERR_USAGE` on an unterminated quote or an unquoted `;`, `|`, `&`,
 *   `<`, `>` (more than one command).
 */
export function splitShellWords(text: string, dialect: ShellDialect): string[] {
  return dialect === 'cmd' ? argvLayer(cmdLayer(text)) : splitBash(text);
}

type Handler =
  | { kind: 'header' | 'cookie' | 'user-agent' | 'referer' | 'request' | 'url' | 'user' }
  | { kind: 'ignore'; hasArg: boolean; note?: string }
  | { kind: 'insecure' }
  | { kind: 'reject'; hasArg: boolean; why: string };

const BODY = 'ddm only replays GET requests';

function optionTable(): Map<string, Handler> {
  const table = new Map<string, Handler>();
  const add = (names: string, handler: Handler) => {
    for (const name of names.split(' ')) table.set(name, handler);
  };
  add('-H --header', { kind: 'header' });
  add('-b --cookie', { kind: 'cookie' });
  add('-A --user-agent', { kind: 'user-agent' });
  add('-e --referer', { kind: 'referer' });
  add('-X --request', { kind: 'request' });
  add('--url', { kind: 'url' });
  add('-u --user', { kind: 'user' });
  add('-k --insecure', { kind: 'insecure' });
  add('--compressed', {
    kind: 'ignore',
    hasArg: false,
    note: '--compressed ignored: ddm asks for uncompressed bytes so each segment lands at its offset',
  });
  add('--limit-rate', { kind: 'ignore', hasArg: true, note: "--limit-rate ignored: use ddm's own speed limit" });
  add(
    '-s --silent -S --show-error -v --verbose -g --globoff -i --include -L --location -f --fail ' +
      '--fail-with-body -N --no-buffer -# --progress-bar --no-progress-meter --http1.0 --http1.1 ' +
      '--http2 --http2-prior-knowledge --http3 --http3-only -4 --ipv4 -6 --ipv6 --tlsv1 --tlsv1.0 ' +
      '--tlsv1.1 --tlsv1.2 --tlsv1.3 --ssl-no-revoke -O --remote-name --remote-name-all -J ' +
      '--remote-header-name -R --remote-time --create-dirs --tcp-nodelay --path-as-is -G --get ' +
      '-q --disable',
    { kind: 'ignore', hasArg: false },
  );
  add(
    '-o --output --output-dir -m --max-time --connect-timeout --retry --retry-delay ' +
      '--retry-max-time --max-redirs -w --write-out --keepalive-time --expect100-timeout',
    { kind: 'ignore', hasArg: true },
  );
  add(
    '-d --data --data-raw --data-binary --data-ascii --data-urlencode --json -F --form ' +
      '--form-string -T --upload-file',
    { kind: 'reject', hasArg: true, why: BODY },
  );
  add('-I --head', { kind: 'reject', hasArg: false, why: BODY });
  add('-K --config', { kind: 'reject', hasArg: true, why: 'ddm does not read curl config files' });
  add('-c --cookie-jar', { kind: 'reject', hasArg: true, why: 'ddm never writes cookies to a file' });
  return table;
}

const OPTIONS = optionTable();

function hasArg(handler: Handler): boolean {
  return handler.kind === 'ignore' || handler.kind === 'reject' ? handler.hasArg : handler.kind !== 'insecure';
}

function unknownOption(flag: string): CurlParseError {
  return new CurlParseError(
    `Unknown curl option: ${flag} (ddm understands the options browsers write in "Copy as cURL")`,
    flag,
  );
}

function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Parses the "Copy as cURL" text of Chrome or Firefox, bash or cmd flavour, into a GET request
 * ddm can replay. Understands `-H`, `-b` (a cookie string), `-A`, `-e`, `-u user:password`
 * (Basic auth), `-X GET`, `--url`, `-k`; ignores `--compressed` (noted), `-L`, `-s` and other
 * flags that do not change the request.
 *
 * @throws {CurlParseError} `ERR_USAGE` naming the flag for a request body or upload (`-d`,
 *   `--data*`, `-F`, `-T`), a method other than GET, a cookie or header file, an unknown option;
 *   also when the text is not a single curl command or has no http(s) URL.
 */
export function parseCurlCommand(text: string, options: ParseCurlOptions = {}): CurlRequest {
  if (/\bInvoke-(WebRequest|RestMethod)\b/i.test(text)) {
    throw new CurlParseError(
      'PowerShell commands are not supported: use "Copy as cURL (bash)" or "Copy as cURL (cmd)"',
    );
  }
  if (/^\s*(await\s+)?fetch\s*\(/.test(text)) {
    throw new CurlParseError('"Copy as fetch" is not supported: use "Copy as cURL"');
  }
  const dialect = options.dialect === undefined || options.dialect === 'auto' ? detectDialect(text) : options.dialect;
  const words = splitShellWords(text, dialect);
  const program = words[0];
  if (program === undefined) throw new CurlParseError('Empty command: paste the text of "Copy as cURL"');
  if (!/(^|[/\\])curl(\.exe)?$/i.test(program)) {
    throw new CurlParseError(`Not a curl command: it starts with "${program}"`);
  }

  const headers: HeaderPair[] = [];
  const cookieHeaders: string[] = [];
  const notes: string[] = [];
  const urls: string[] = [];
  let insecure = false;

  const apply = (flag: string, handler: Handler, value: string) => {
    switch (handler.kind) {
      case 'header': {
        if (value.startsWith('@')) {
          throw new CurlParseError(
            `Unsupported in a download: ${flag} ${value} (ddm does not read header files)`,
            flag,
          );
        }
        const colon = value.indexOf(':');
        if (colon === -1) {
          // curl: "Name;" sends the header with an empty value.
          if (value.endsWith(';')) headers.push({ name: value.slice(0, -1).trim(), value: '' });
          else notes.push(`${flag} "${value}" ignored: not a "Name: value" header`);
          return;
        }
        const name = value.slice(0, colon).trim();
        const headerValue = value.slice(colon + 1).trim();
        // A CR or LF would smuggle a second header line; say so rather than drop it silently.
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
          throw new CurlParseError(`Invalid header name in ${flag}: ${JSON.stringify(name)}`, flag);
        }
        if (/[\r\n\0]/.test(headerValue)) {
          throw new CurlParseError(`Invalid header value (contains CR, LF or NUL): ${flag} ${name}`, flag);
        }
        if (headerValue === '') return; // curl: "Name:" removes the header.
        if (name.toLowerCase() === 'cookie') cookieHeaders.push(headerValue);
        else headers.push({ name, value: headerValue });
        return;
      }
      case 'cookie':
        if (!value.includes('=')) {
          throw new CurlParseError(
            `Unsupported in a download: ${flag} ${value} (reads a cookie file; pass the cookie string instead)`,
            flag,
          );
        }
        cookieHeaders.push(value);
        return;
      case 'user-agent':
        headers.push({ name: 'User-Agent', value });
        return;
      case 'referer': {
        const referer = value.replace(/;auto$/, '');
        if (referer !== '') headers.push({ name: 'Referer', value: referer });
        return;
      }
      case 'request':
        if (value.toUpperCase() !== 'GET') {
          throw new CurlParseError(`Unsupported in a download: ${flag} ${value} (${BODY})`, flag);
        }
        return;
      case 'url':
        urls.push(value);
        return;
      case 'user': {
        const colon = value.indexOf(':');
        if (colon === -1) {
          throw new CurlParseError(
            `Unsupported in a download: ${flag} without a password (curl would prompt for it)`,
            flag,
          );
        }
        headers.push({ name: 'Authorization', value: `Basic ${base64Utf8(value)}` });
        return;
      }
      case 'insecure':
        insecure = true;
        notes.push(`${flag}: TLS certificate checks are off for this download`);
        return;
      case 'ignore':
        if (handler.note !== undefined) notes.push(handler.note);
        return;
      case 'reject':
        throw new CurlParseError(`Unsupported in a download: ${flag} (${handler.why})`, flag);
      default: {
        const unreachable: never = handler;
        throw new Error(`unhandled option kind ${String(unreachable)}`);
      }
    }
  };

  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string;
    const takeArg = (flag: string): string => {
      const value = words[i + 1];
      if (value === undefined) throw new CurlParseError(`Option ${flag} needs a value`, flag);
      i++;
      return value;
    };
    if (word.startsWith('--')) {
      const handler = OPTIONS.get(word);
      if (handler === undefined) throw unknownOption(word);
      apply(word, handler, hasArg(handler) ? takeArg(word) : '');
    } else if (word.startsWith('-') && word.length > 1) {
      // A cluster of short options ("-sSL"); an option with a value takes the rest ("-XGET").
      for (let j = 1; j < word.length; j++) {
        const flag = `-${word[j]}`;
        const handler = OPTIONS.get(flag);
        if (handler === undefined) throw unknownOption(flag);
        if (!hasArg(handler)) {
          apply(flag, handler, '');
          continue;
        }
        const rest = word.slice(j + 1);
        apply(flag, handler, rest !== '' ? rest : takeArg(flag));
        break;
      }
    } else {
      urls.push(word);
    }
  }

  if (urls.length === 0) throw new CurlParseError('The curl command has no URL');
  if (urls.length > 1) throw new CurlParseError(`The curl command has more than one URL: ${urls.join(' ')}`);
  const raw = urls[0] as string;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new CurlParseError(`The curl command's URL is not valid: ${raw}`, null, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CurlParseError(`The curl command's URL is not http(s): ${raw}`);
  }
  const dropped = [
    ...new Set(headers.filter((h) => !isReplayableHeader(h.name)).map((h) => canonicalHeaderName(h.name))),
  ];
  if (dropped.length > 0) notes.push(`not replayed: ${dropped.join(', ')}`);
  const cookies = collectCookies([
    { url: url.href, cookies: [], headers: cookieHeaders.map((value) => ({ name: 'Cookie', value })) },
  ]);
  return { url: url.href, method: 'GET', headers: replayableHeaders(headers), cookies, insecure, notes };
}
