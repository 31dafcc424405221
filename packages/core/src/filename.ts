/**
 * Choosing the name of a downloaded file: from Content-Disposition (RFC 6266, with RFC 8187 /
 * RFC 5987 `filename*`), else from the URL, else "download"; sanitised so that no server can
 * make ddm write outside the download directory, hide a file, spoof its extension with bidi
 * controls (aria2 and wget keep U+202E), or pick a name Windows cannot open; and made unique
 * with a "name (1).ext" suffix instead of overwriting.
 */
import { join } from 'node:path';
import { decodeExtended, parse as parseContentDisposition } from 'content-disposition';
import type { OverwritePolicy } from './config-table.ts';
import { DdmError } from './errors.ts';
import { isNameTaken } from './file-writer.ts';

/** Name used when neither the response nor the URL offers one. */
export const DEFAULT_FILE_NAME = 'download';

/** Longest file name in UTF-8 bytes on ext4, btrfs, XFS, APFS (NTFS counts 255 UTF-16 units). */
export const MAX_FILE_NAME_BYTES = 255;

/** What a download is called while it is written: `<name>.part`. */
export const PART_SUFFIX = '.part';

/**
 * Longest name ddm gives a download, in UTF-8 bytes: its `.part` must fit in
 * {@link MAX_FILE_NAME_BYTES} too, or creating it fails with ENAMETOOLONG.
 */
export const MAX_NAME_BYTES = MAX_FILE_NAME_BYTES - PART_SUFFIX.length;

export type FileNameSource = 'content-disposition' | 'url' | 'default';

export interface FileNameInput {
  /** The Content-Disposition header as the fetch Headers object returns it. */
  contentDisposition?: string | null;
  /** The final URL (after redirects) or the requested one. */
  url: string;
  contentType?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Byte and charset helpers

const utf8Encoder = new TextEncoder();

function utf8ByteLength(text: string): number {
  return utf8Encoder.encode(text).length;
}

/** bun-types narrows labels to a union; any WHATWG label works and unknown ones throw. */
type TextDecoderLabel = ConstructorParameters<typeof TextDecoder>[0];

/** Decodes bytes in `charset`, or returns null when the label is unknown or the bytes invalid. */
function decodeBytes(bytes: Uint8Array, charset: string): string | null {
  try {
    return new TextDecoder(charset.trim() as TextDecoderLabel, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** `%XX` become bytes; every other character contributes its UTF-8 bytes. */
function percentDecodeToBytes(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-f]{2}$/i.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
      continue;
    }
    const codePoint = text.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(codePoint);
    bytes.push(...utf8Encoder.encode(char));
    i += char.length - 1;
  }
  return Uint8Array.from(bytes);
}

/** Percent-decodes as UTF-8, falling back to Latin-1 when the bytes are not valid UTF-8. */
function percentDecodeLenient(text: string): string {
  if (!text.includes('%')) return text;
  const bytes = percentDecodeToBytes(text);
  return decodeBytes(bytes, 'utf-8') ?? latin1(bytes);
}

/**
 * Header values reach us as Latin-1 (Bun maps each byte to one char), so a server that sends raw
 * UTF-8 bytes in a quoted `filename` yields "naÃ¯ve.pdf". Re-read such text as UTF-8 when it is
 * valid UTF-8, as Chrome and Firefox do; real Latin-1 text ("café") is rarely valid UTF-8.
 */
function repairUtf8Mojibake(text: string): string {
  if (!/[\u0080-\u00ff]/.test(text) || /[\u0100-\uffff]/.test(text)) return text;
  const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
  return decodeBytes(bytes, 'utf-8') ?? text;
}

/** RFC 2047 encoded words (`=?UTF-8?B?...?=`), which some servers put in `filename`. */
function decodeEncodedWords(text: string): string {
  const encodedWord = /=\?([^?\s]+)\?([bq])\?([^?\s]*)\?=/gi;
  if (!encodedWord.test(text)) return text;
  return text
    .replace(/(\?=)\s+(?==\?)/g, '$1') // whitespace between adjacent encoded words is dropped
    .replace(encodedWord, (word, charset: string, encoding: string, payload: string) => {
      let bytes: Uint8Array;
      if (encoding.toLowerCase() === 'b') {
        try {
          bytes = Uint8Array.from(atob(payload), (char) => char.charCodeAt(0));
        } catch {
          return word;
        }
      } else {
        bytes = percentDecodeToBytes(payload.replaceAll('_', ' ').replace(/=([0-9a-f]{2})/gi, '%$1'));
      }
      return decodeBytes(bytes, charset) ?? word;
    });
}

// ---------------------------------------------------------------------------------------------
// Content-Disposition

function unquote(value: string): string {
  const trimmed = value.trim();
  if (!trimmed.startsWith('"')) return trimmed;
  const body = trimmed.endsWith('"') && trimmed.length > 1 ? trimmed.slice(1, -1) : trimmed.slice(1);
  return body.replace(/\\(.)/g, '$1');
}

/**
 * Parameters of a malformed header, the way browsers read them: unquoted values run to the next
 * `;` (spaces included), a missing closing quote runs to the end, the disposition type may be
 * missing. Keys are lower-cased; the first occurrence wins.
 */
function parseParametersLenient(header: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  const pattern = /(?:^|;)\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)/g;
  for (const match of header.matchAll(pattern)) {
    const key = match[1]?.toLowerCase();
    const value = match[2];
    if (key === undefined || value === undefined || Object.hasOwn(parameters, key)) continue;
    parameters[key] = unquote(value);
  }
  return parameters;
}

function parseParameters(header: string): Record<string, string> {
  const lenient = parseParametersLenient(header);
  let strict: Record<string, string> = {};
  try {
    // `extended: false` keeps `filename*` apart from `filename` so each gets its own decoding.
    strict = parseContentDisposition(header, { extended: false }).parameters;
  } catch {
    // Older versions of the package throw on malformed headers; the lenient reading stands in.
  }
  // The package is right about well-formed headers; the lenient parser fills what it drops
  // (an unterminated quote, a header without a disposition type).
  return { ...lenient, ...Object.fromEntries(Object.entries(strict)) };
}

/** Decodes an RFC 8187 `filename*` value: `charset'language'percent-encoded`. */
function decodeExtendedValue(raw: string): string | null {
  const value = unquote(raw);
  const strict = decodeExtended(value);
  if (strict !== undefined) return strict;
  // Unknown charsets, invalid escapes, or no charset part at all: decode what can be decoded.
  const match = /^([^']*)'[^']*'(.*)$/s.exec(value);
  const charset = match?.[1] || 'utf-8';
  const bytes = percentDecodeToBytes(match?.[2] ?? value);
  // Undecodable: let `filename` (or the URL) speak instead of guessing a charset.
  return decodeBytes(bytes, charset) ?? decodeBytes(bytes, 'utf-8');
}

/** Decodes a plain `filename`: RFC 2047 words, percent-encoding (as browsers do), raw UTF-8. */
function decodePlainValue(value: string): string {
  const decodedWords = decodeEncodedWords(value);
  if (decodedWords !== value) return decodedWords;
  if (/%[0-9a-f]{2}/i.test(value)) {
    const decoded = decodeBytes(percentDecodeToBytes(value), 'utf-8');
    if (decoded !== null) return decoded;
  }
  return repairUtf8Mojibake(value);
}

/** The last component of a path a server may send ("C:\\Users\\me\\report.pdf"). */
function lastPathComponent(value: string): string {
  const parts = value.split(/[/\\]/).filter((part) => part.trim() !== '');
  return parts.at(-1) ?? '';
}

/** The raw (unsanitised) file name a Content-Disposition header offers, `filename*` first. */
export function fileNameFromContentDisposition(header: string): string | null {
  const parameters = parseParameters(header);
  const candidates: string[] = [];
  const extended = parameters['filename*'];
  if (extended !== undefined) {
    const decoded = decodeExtendedValue(extended);
    if (decoded !== null) candidates.push(decoded);
  }
  const plain = parameters.filename;
  if (plain !== undefined) candidates.push(decodePlainValue(plain));
  for (const candidate of candidates) {
    const component = lastPathComponent(candidate);
    if (sanitizeToEmpty(component) !== '') return component;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// URL and content type

function fileNameFromUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const lastSegment = parsed.pathname.split('/').at(-1) ?? '';
  return lastPathComponent(percentDecodeLenient(lastSegment)) || null;
}

const EXTENSION_BY_CONTENT_TYPE: Readonly<Record<string, string>> = {
  'application/zip': '.zip',
  'application/pdf': '.pdf',
  'application/gzip': '.gz',
  'application/x-gzip': '.gz',
  'application/x-tar': '.tar',
  'application/x-xz': '.xz',
  'application/x-bzip2': '.bz2',
  'application/zstd': '.zst',
  'application/x-7z-compressed': '.7z',
  'application/vnd.rar': '.rar',
  'application/x-iso9660-image': '.iso',
  'application/vnd.debian.binary-package': '.deb',
  'application/x-rpm': '.rpm',
  'application/json': '.json',
  'application/xml': '.xml',
  'text/plain': '.txt',
  'text/html': '.html',
  'text/csv': '.csv',
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/svg+xml': '.svg',
  'audio/mpeg': '.mp3',
  'audio/ogg': '.ogg',
  'video/mp4': '.mp4',
  'video/webm': '.webm',
};

/** `.zip` for `application/zip; charset=binary`; `''` for unknown or generic types. */
export function extensionForContentType(contentType: string | null | undefined): string {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return EXTENSION_BY_CONTENT_TYPE[mediaType] ?? '';
}

/**
 * Chooses a file name for a response, already passed through {@link sanitizeFileName}:
 *
 * 1. Content-Disposition (any disposition type): `filename*` (RFC 8187; UTF-8 and ISO-8859-1,
 *    other charsets when the runtime knows them, percent-decoded) first, then `filename`
 *    (RFC 2047 words decoded; percent-decoded when that yields valid UTF-8, as browsers do; raw
 *    UTF-8 bytes repaired). Malformed headers real servers send (unquoted names with spaces, a
 *    missing closing quote, trailing semicolons, no disposition type) are read leniently. A
 *    path in the value is reduced to its last component.
 * 2. The last segment of the URL path, percent-decoded (http and https URLs only; a path ending
 *    in `/` has no name).
 * 3. `"download"` plus an extension when the content type is an obvious one
 *    (`application/zip` → `download.zip`).
 *
 * A candidate that sanitises to nothing (only dots, bidi controls ...) is skipped.
 */
export function fileNameFromResponse(input: FileNameInput): { name: string; source: FileNameSource } {
  const fromHeader = input.contentDisposition ? fileNameFromContentDisposition(input.contentDisposition) : null;
  if (fromHeader !== null) return { name: sanitizeFileName(fromHeader), source: 'content-disposition' };
  const fromUrl = fileNameFromUrl(input.url);
  const sanitizedUrlName = fromUrl === null ? '' : sanitizeToEmpty(fromUrl);
  if (sanitizedUrlName !== '') return { name: sanitizedUrlName, source: 'url' };
  return { name: `${DEFAULT_FILE_NAME}${extensionForContentType(input.contentType)}`, source: 'default' };
}

// ---------------------------------------------------------------------------------------------
// Sanitising

/**
 * Invisible format characters (Unicode category Cf): the bidi controls U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069 and U+061C, the zero-width U+200B–U+200D, U+2060 and U+FEFF,
 * soft hyphen, tags and the rest; plus the line and paragraph separators.
 */
const INVISIBLE_PATTERN = /[\p{Cf}\u2028\u2029]/gu;
/** C0 controls, DEL and C1 controls (category Cc). */
const CONTROL_PATTERN = /\p{Cc}/gu;
/** Path separators and the characters Windows forbids in names. */
const FORBIDDEN_PATTERN = /[/\\<>:"|?*]/g;
/** Whitespace and dots at either end: hidden files, Windows-stripped trailing dots, "..". */
const EDGE_PATTERN = /^[\s.]+|[\s.]+$/gu;
/** Windows device names, with any extension (`CON.txt`, `com1.tar.gz`, `LPT¹`). */
const WINDOWS_RESERVED_PATTERN = /^(?:CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)\s*(?:\..*)?$/iu;

function utf8Length(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** The longest prefix of `text` that fits in `maxBytes` UTF-8 bytes, cut between code points. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += utf8Length(char.codePointAt(0) ?? 0);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * Splits a name into base and extension: `"a.b.pdf"` → `["a.b", ".pdf"]`,
 * `"archive.tar.gz"` → `["archive", ".tar.gz"]`, `".bashrc"` → `[".bashrc", ""]`,
 * `"Mr. Smith goes"` → `["Mr. Smith goes", ""]` (an extension is 1–16 characters without dots or
 * whitespace).
 */
export function splitExtension(name: string): [base: string, extension: string] {
  const lastDot = name.lastIndexOf('.');
  if (lastDot <= 0) return [name, ''];
  let extension = name.slice(lastDot);
  if (!/^\.[^\s.]{1,16}$/u.test(extension)) return [name, ''];
  let base = name.slice(0, lastDot);
  if (base.length > 4 && /\.tar$/i.test(base)) {
    extension = base.slice(-4) + extension;
    base = base.slice(0, -4);
  }
  return [base, extension];
}

/** Cuts the base so `base + suffix + extension` fits in {@link MAX_NAME_BYTES}. */
function fitName(base: string, suffix: string, extension: string): string {
  const budgetBytes = MAX_NAME_BYTES - utf8ByteLength(suffix) - utf8ByteLength(extension);
  if (utf8ByteLength(base) <= budgetBytes) return `${base}${suffix}${extension}`;
  const cut = truncateUtf8(base, Math.max(0, budgetBytes)).replace(/[\s.]+$/u, '');
  return `${cut}${suffix}${extension}`;
}

/** {@link sanitizeFileName} without the fallback: `''` when nothing usable is left. */
function sanitizeToEmpty(name: string): string {
  let result = name
    .toWellFormed() // lone surrogates become U+FFFD, so byte counts are exact
    .replace(INVISIBLE_PATTERN, '')
    .normalize('NFC')
    .replace(CONTROL_PATTERN, '_')
    .replace(FORBIDDEN_PATTERN, '_')
    .replace(EDGE_PATTERN, '');
  if (result === '') return '';
  if (WINDOWS_RESERVED_PATTERN.test(result)) result = `_${result}`;
  if (utf8ByteLength(result) > MAX_NAME_BYTES) {
    const [base, extension] = splitExtension(result);
    result = fitName(base, '', extension);
  }
  return result.replace(EDGE_PATTERN, '');
}

/**
 * Makes a name safe to create inside a download directory on Linux, macOS and Windows:
 *
 * - removes invisible format characters: Unicode bidi controls (U+202A–U+202E, U+2066–U+2069,
 *   U+200E, U+200F, U+061C), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and the rest
 *   of category Cf, plus U+2028/U+2029;
 * - replaces control characters (C0, DEL, C1), `/`, `\` and `<>:"|?*` with `_`;
 * - normalises to NFC and replaces lone surrogates with U+FFFD;
 * - trims whitespace and dots at both ends (so no hidden dotfile, no `.` or `..`, no trailing
 *   dot Windows would drop);
 * - prefixes Windows device names (CON, PRN, AUX, NUL, COM0–9, LPT0–9, CONIN$, CONOUT$, with
 *   any extension) with `_`;
 * - cuts to at most {@link MAX_NAME_BYTES} (250) UTF-8 bytes on a code-point boundary, keeping
 *   the extension, so that `<name>.part` fits in 255 bytes too;
 * - returns `"download"` when nothing is left.
 *
 * The result is never empty, `.` or `..`, contains no separator, so `path.join(dir, result)` is
 * always a direct child of `dir`.
 */
export function sanitizeFileName(name: string): string {
  return sanitizeToEmpty(name) || DEFAULT_FILE_NAME;
}

/**
 * `name` with a collision counter before its extension: `("report.pdf", 1)` → `"report (1).pdf"`,
 * `("archive.tar.gz", 2)` → `"archive (2).tar.gz"`, `(".bashrc", 1)` → `".bashrc (1)"`,
 * `("README", 3)` → `"README (3)"`. `n` 0 returns `name` unchanged. The base is shortened when
 * needed so the result stays within {@link MAX_NAME_BYTES} UTF-8 bytes (its `.part` within 255).
 *
 * @throws DdmError `ERR_USAGE` when `n` is not a non-negative integer.
 */
export function withCollisionSuffix(name: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new DdmError(`Invalid collision counter (expected a non-negative integer): ${n}`, { code: 'ERR_USAGE' });
  }
  if (n === 0) return name;
  const [base, extension] = splitExtension(name);
  return fitName(base, ` (${n})`, extension);
}

/**
 * The first of `name`, `name (1).ext`, `name (2).ext` ... up to `name (max).ext` for which
 * `isTaken` returns false. `isTaken` should check the disk and the names other jobs have
 * reserved.
 *
 * @throws DdmError `ERR_FILE_EXISTS` naming the file when all `max + 1` candidates are taken.
 */
export function pickFreeName(name: string, isTaken: (candidate: string) => boolean, max = 10_000): string {
  for (let n = 0; n <= max; n++) {
    const candidate = withCollisionSuffix(name, n);
    if (!isTaken(candidate)) return candidate;
  }
  throw new DdmError(`No free file name after ${max} numbered tries: ${name}`, { code: 'ERR_FILE_EXISTS' });
}

/**
 * The name a job's file gets in `dir`: `wanted` when it is free, else the first free
 * `wanted (n).ext`. A name is taken when another job reserved it (`isReserved(fullPath)`, asked
 * for the name and for its `.part`), when anything exists at its `.part`, or, unless
 * `overwrite = "overwrite"`, when anything exists at the name itself: lstat, not stat, so a
 * dangling symlink makes a name taken, not free.
 *
 * @throws DdmError `ERR_FILE_EXISTS` naming the file when `wanted` is taken and
 *   `overwrite = "fail"`, or when no numbered name is free.
 */
export function freeFileName(
  dir: string,
  wanted: string,
  overwrite: OverwritePolicy,
  isReserved: (fullPath: string) => boolean,
): string {
  const isTaken = (candidate: string) => {
    const full = join(dir, candidate);
    if (isReserved(full)) return true;
    if (isNameTaken(`${full}.part`)) return true;
    return overwrite !== 'overwrite' && isNameTaken(full);
  };
  if (!isTaken(wanted)) return wanted;
  if (overwrite === 'fail') {
    throw new DdmError(`File already exists (overwrite = "fail"): ${join(dir, wanted)}`, { code: 'ERR_FILE_EXISTS' });
  }
  return pickFreeName(wanted, isTaken);
}
