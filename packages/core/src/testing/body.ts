/**
 * Deterministic test bodies and their digests.
 *
 * Byte `i` of the body for `(seed)` is a fixed function of `i` and `seed` (a counter-based
 * hash of the 32-bit word that holds it, little-endian), so any slice can be generated without
 * the bytes before it. That gives two equivalent forms:
 * - `makeBody(size, seed)`: the whole body in memory, for small and medium files;
 * - `generatedBody(size, seed)`: a body that is never materialised, for 1 GiB benchmark files;
 *   the test server generates each chunk as it sends it.
 * Nothing is cached globally.
 */

/** A body generated on demand: same bytes as `makeBody(sizeBytes, seed)`, never held whole. */
export interface GeneratedBody {
  readonly kind: 'generated';
  readonly sizeBytes: number;
  readonly seed: number;
  /** Bytes `[start, end)` (clamped to the body) in a fresh array. */
  slice(start: number, end: number): Uint8Array<ArrayBuffer>;
  /**
   * Bytes `[start, end)` (clamped) written into `scratch`, returned as a view of it; `scratch`
   * needs at least `ceil((end - start) / 4) + 1` words. Lets a server reuse its buffers.
   */
  sliceInto(start: number, end: number, scratch: Uint32Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  /** SHA-256 of the whole body, computed in chunks. */
  sha256Hex(): string;
}

/** A file body as the test server accepts it. */
export type TestBody = Uint8Array | GeneratedBody;

const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

function seedKey(seed: number): number {
  return lowbias32(Math.imul(seed | 0, 0x9e3779b9) ^ 0x6a09e667);
}

/** Chris Wellons' lowbias32: a bijective 32-bit integer hash with good avalanche. */
function lowbias32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

// All Bun targets (x64, arm64) are little-endian, so a Uint32Array store is the documented
// little-endian byte order.
function fillWords(words: Uint32Array, firstWordIndex: number, key: number): void {
  const count = words.length;
  for (let i = 0; i < count; i++) {
    let x = (firstWordIndex + i) ^ key;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    words[i] = x;
  }
}

function assertSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new RangeError(`Body size must be a non-negative integer: ${sizeBytes}`);
  }
}

/** Bytes `[start, end)` of the body for `seed`, in a fresh array of exactly that length. */
function generateRange(start: number, end: number, key: number): Uint8Array<ArrayBuffer> {
  const firstWord = Math.floor(start / 4);
  const lastWord = Math.ceil(end / 4);
  const words = new Uint32Array(lastWord - firstWord);
  fillWords(words, firstWord, key);
  const bytes = new Uint8Array(words.buffer);
  const from = start - firstWord * 4;
  return from === 0 && bytes.length === end - start ? bytes : bytes.subarray(from, from + end - start);
}

/**
 * The deterministic body of `sizeBytes` bytes for `seed`, in memory. 256 MiB costs about
 * 0.15 s of CPU plus the kernel's cost of faulting the pages in (about 1 s per 256 MiB on the
 * gVisor sandbox; use `generatedBody` for large files).
 *
 * @param seed Any integer; different seeds give unrelated bodies. @default 1
 * @throws RangeError when `sizeBytes` is negative or not an integer.
 */
export function makeBody(sizeBytes: number, seed = 1): Uint8Array<ArrayBuffer> {
  assertSize(sizeBytes);
  const bytes = new Uint8Array(sizeBytes);
  const wordCount = sizeBytes >>> 2;
  const key = seedKey(seed);
  fillWords(new Uint32Array(bytes.buffer, 0, wordCount), 0, key);
  const tail = sizeBytes - wordCount * 4;
  if (tail > 0) bytes.set(generateRange(wordCount * 4, sizeBytes, key), wordCount * 4);
  return bytes;
}

/**
 * The same bytes as `makeBody(sizeBytes, seed)`, generated slice by slice when served or
 * hashed, so a 1 GiB test file costs no memory.
 *
 * @throws RangeError when `sizeBytes` is negative or not an integer.
 */
export function generatedBody(sizeBytes: number, seed = 1): GeneratedBody {
  assertSize(sizeBytes);
  const key = seedKey(seed);
  const slice = (start: number, end: number): Uint8Array<ArrayBuffer> => {
    const from = Math.max(0, Math.min(start, sizeBytes));
    const to = Math.max(from, Math.min(end, sizeBytes));
    return generateRange(from, to, key);
  };
  const sliceInto = (start: number, end: number, scratch: Uint32Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
    const from = Math.max(0, Math.min(start, sizeBytes));
    const to = Math.max(from, Math.min(end, sizeBytes));
    const firstWord = Math.floor(from / 4);
    const wordCount = Math.ceil(to / 4) - firstWord;
    if (scratch.length < wordCount)
      throw new RangeError(`Scratch of ${scratch.length} words is too small: ${wordCount}`);
    fillWords(scratch.subarray(0, wordCount), firstWord, key);
    const offset = from - firstWord * 4;
    return new Uint8Array(scratch.buffer, scratch.byteOffset + offset, to - from);
  };
  return {
    kind: 'generated',
    sizeBytes,
    seed,
    slice,
    sliceInto,
    sha256Hex() {
      // One reused buffer: fresh 4 MiB arrays would cost a page fault per 4 KiB each time.
      const hasher = new Bun.CryptoHasher('sha256');
      const words = new Uint32Array(HASH_CHUNK_BYTES / 4);
      const bytes = new Uint8Array(words.buffer);
      const wholeWords = Math.floor(sizeBytes / 4);
      for (let word = 0; word < wholeWords; word += words.length) {
        const count = Math.min(words.length, wholeWords - word);
        const view = count === words.length ? words : words.subarray(0, count);
        fillWords(view, word, key);
        hasher.update(bytes.subarray(0, count * 4));
      }
      if (sizeBytes > wholeWords * 4) hasher.update(slice(wholeWords * 4, sizeBytes));
      return hasher.digest('hex');
    },
  };
}

/** Length of a body in either form. */
export function bodySize(body: TestBody): number {
  return body instanceof Uint8Array ? body.length : body.sizeBytes;
}

/** Bytes `[start, end)` of a body in either form; a view (no copy) for in-memory bodies. */
export function bodySlice(body: TestBody, start: number, end: number): Uint8Array {
  return body instanceof Uint8Array ? body.subarray(start, end) : body.slice(start, end);
}

/** SHA-256 as 64 lower-case hex digits, of bytes or of a generated body. */
export function sha256Hex(bytes: TestBody): string {
  if (!(bytes instanceof Uint8Array)) return bytes.sha256Hex();
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
}

/**
 * A strong entity tag for a body (RFC 9110 §8.8.3): for a generated body its seed and size;
 * for bytes their length and 64-bit wyhash. Equal bodies give equal tags.
 */
export function etagFor(body: TestBody): string {
  if (!(body instanceof Uint8Array)) return `"g${body.seed.toString(16)}-${body.sizeBytes.toString(16)}"`;
  return `"${body.length.toString(16)}-${Bun.hash(body).toString(16)}"`;
}
