/**
 * `.netrc` support: credentials per host, looked up for each request's own host so that a
 * redirect to another host never carries them along.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DdmError, errnoOf } from './errors.ts';
import { homeDirFrom } from './paths.ts';

export interface NetrcEntry {
  /** Host name, lower-cased; null for the `default` entry. */
  machine: string | null;
  login: string | null;
  password: string | null;
  account: string | null;
}

export interface NetrcCredentials {
  login: string;
  password: string;
}

/**
 * Splits netrc text into tokens. Whitespace separates tokens; `#` at the start of a token
 * comments out the rest of the line; a token may be double-quoted with `\"` and `\\` escapes
 * (as curl allows). `macdef <name>` skips the macro body up to the next empty line.
 */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let index = 0;
  const length = text.length;
  const isSpace = (char: string | undefined): boolean =>
    char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f' || char === '\v';
  while (index < length) {
    const char = text[index];
    if (isSpace(char)) {
      index++;
      continue;
    }
    if (char === '#') {
      while (index < length && text[index] !== '\n') index++;
      continue;
    }
    let token = '';
    if (char === '"') {
      index++;
      while (index < length && text[index] !== '"') {
        if (text[index] === '\\' && index + 1 < length) index++;
        token += text[index];
        index++;
      }
      index++;
    } else {
      while (index < length && !isSpace(text[index])) {
        token += text[index];
        index++;
      }
    }
    tokens.push(token);
    if (token === 'macdef' && char !== '"') {
      tokens.pop();
      // Skip the rest of the `macdef <name>` line, then body lines up to the first blank one.
      while (index < length && text[index] !== '\n') index++;
      index++;
      while (index < length) {
        const lineEnd = text.indexOf('\n', index);
        const end = lineEnd === -1 ? length : lineEnd;
        const isBlank = text.slice(index, end).trim() === '';
        index = end + 1;
        if (isBlank) break;
      }
    }
  }
  return tokens;
}

/**
 * Parses `.netrc` text into entries in file order: `machine <host>` and `default` start an
 * entry; `login`, `password` and `account` fill it; `macdef` bodies and `#` comments are
 * skipped; unknown tokens are ignored. Never throws.
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const tokens = tokenize(text);
  let current: NetrcEntry | null = null;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index];
    const next = tokens[index + 1];
    switch (token) {
      case 'machine':
        if (next === undefined) break;
        current = { machine: next.toLowerCase(), login: null, password: null, account: null };
        entries.push(current);
        index++;
        break;
      case 'default':
        current = { machine: null, login: null, password: null, account: null };
        entries.push(current);
        break;
      case 'login':
      case 'password':
      case 'account':
        if (next === undefined) break;
        if (current !== null) current[token] = next;
        index++;
        break;
      default:
        break;
    }
  }
  return entries;
}

/** Normalises a URL host for comparison: lower-case, no brackets, no trailing dot. */
function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/**
 * Credentials for `host` (a URL's hostname, without port): the first `machine` entry whose
 * name equals the host (case-insensitive), else the `default` entry, else null. An entry with
 * neither login nor password yields null. Call it for every request with that request's own
 * host, including after a redirect, so credentials are never sent to another host.
 */
export function netrcCredentialsFor(entries: readonly NetrcEntry[], host: string): NetrcCredentials | null {
  const wanted = normalizeHost(host);
  const entry =
    entries.find((candidate) => candidate.machine !== null && normalizeHost(candidate.machine) === wanted) ??
    entries.find((candidate) => candidate.machine === null);
  if (entry === undefined || (entry.login === null && entry.password === null)) return null;
  return { login: entry.login ?? '', password: entry.password ?? '' };
}

/** `Basic <base64(login:password)>` per RFC 7617, with the credentials encoded as UTF-8. */
export function basicAuthHeader(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;
}

/** `~/.netrc` for the home folder in `env`. */
export function defaultNetrcPath(env: Record<string, string | undefined>): string {
  return join(homeDirFrom(env), '.netrc');
}

/**
 * Reads and parses a netrc file; a front end does it once per process and hands the entries to
 * `buildRequestContext` (request-context.ts). A missing file yields no entries (the default
 * `~/.netrc` is optional); pass `isRequired` for a file named with `--netrc-file`.
 * @throws DdmError `ERR_IO` when the file cannot be read (or is missing and required).
 */
export function readNetrcFile(file: string, isRequired = false): NetrcEntry[] {
  try {
    return parseNetrc(readFileSync(file, 'utf8'));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' && !isRequired) return [];
    throw new DdmError(`Cannot read netrc file: ${file}`, { code: 'ERR_IO', cause: error });
  }
}
