/**
 * Range and If-Range evaluation for the test server, per RFC 9110 §14 and §13.1.5. Pure
 * functions, unit-tested beside this file.
 */

/** How the server answers a request's Range header for a representation of a known size. */
export type RangeDecision =
  /** No usable Range: absent, another unit, malformed, or several ranges. Answer 200. */
  | { readonly kind: 'ignore' }
  /** One satisfiable range, both ends inclusive (as in Content-Range). Answer 206. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** Syntactically valid but no byte of it exists. Answer 416 with `bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

const IGNORE: RangeDecision = { kind: 'ignore' };
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Decides how to answer `Range` for a representation of `sizeBytes` bytes.
 *
 * - `bytes=a-b` (b clamped to the last byte), `bytes=a-`, `bytes=-n` (the last n bytes).
 * - A first position at or past the end, or `-0`, is unsatisfiable (§14.1.1).
 * - The unit is case-insensitive (§14.1); anything that is not a valid `bytes` set is ignored,
 *   as §14.2 allows ("a server MAY ignore the Range header field").
 * - Several ranges are ignored too (answered 200 with the whole body): this server never
 *   sends multipart/byteranges, and §14.2 lets it ignore the field rather than coalesce.
 */
export function decideRange(header: string | null, sizeBytes: number): RangeDecision {
  if (header === null) return IGNORE;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return IGNORE;
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim());
  if (specs.length !== 1) return IGNORE;
  const match = SPEC.exec(specs[0] ?? '');
  if (!match) return IGNORE;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return IGNORE;
  if (first === '') {
    const suffixBytes = Number(last);
    if (suffixBytes === 0 || sizeBytes === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, sizeBytes - suffixBytes), end: sizeBytes - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return IGNORE;
  if (start >= sizeBytes) return { kind: 'unsatisfiable' };
  const end = last === '' ? sizeBytes - 1 : Math.min(Number(last), sizeBytes - 1);
  return { kind: 'range', start, end };
}

/** The validators of the representation the server would send now. */
export interface Validators {
  readonly etag: string | null;
  readonly lastModified: string | null;
}

/**
 * Whether an `If-Range` value lets the Range apply (RFC 9110 §13.1.5). An entity tag matches
 * only by strong comparison (a weak tag on either side never matches); an HTTP-date matches
 * only when it equals the Last-Modified date exactly. Anything else does not match, so the
 * server answers 200 with the whole current representation.
 */
export function ifRangeMatches(ifRange: string, current: Validators): boolean {
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    return !value.startsWith('W/') && current.etag !== null && !current.etag.startsWith('W/') && value === current.etag;
  }
  if (current.lastModified === null) return false;
  const asked = Date.parse(value);
  return !Number.isNaN(asked) && asked === Date.parse(current.lastModified);
}
