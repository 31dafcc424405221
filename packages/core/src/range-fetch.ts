/**
 * One request of one segment: send the ranged GET, check the answer before any byte is written
 * (206, Content-Range, ETag, encoding, length), then stream the body into the `.part` file at
 * the segment's offsets, through the rate limits and under the engine's lease.
 */

import type { JobRow } from '@ddm/db';
import { DdmError } from './errors.ts';
import type { PartFile } from './file-writer.ts';
import { type RequestContext, sendRequest } from './http.ts';
import type { LiveSegment } from './live-segment.ts';
import { ifRangeValidator, parseContentRange, statusError, strongEtagDiffers } from './probe.ts';
import { acquire, type TokenBucket } from './rate-limit.ts';

/** An answer checked to be usable for a segment, its body not read yet. */
export interface OpenedRange {
  response: Response;
  /** The file offset where the answer promised to end (Content-Range end + 1, or the known size); null when unknown. */
  expectedEnd: number | null;
}

/** The mirror a request goes to: its URL after redirects and its own validators. */
export interface RangeSource {
  finalUrl: string;
  etag: string | null;
  lastModified: string | null;
}

/**
 * Sends the GET for what is left of `seg` (to `mirror` when given, else the job's URL) (a plain GET when the job is not resumable) and checks
 * the answer before any byte is written. A refused answer's body is cancelled.
 * @throws DdmError ERR_RESOURCE_CHANGED (new length, ETag or date; 416), ERR_RANGE_UNSUPPORTED
 *   (200 to a Range request), ERR_COMPRESSED (Content-Encoding on a range), ERR_RANGE_MISMATCH
 *   (retryable: Content-Range or Content-Length do not match the request), ERR_HTTP_STATUS.
 */
export async function openRange(
  ctx: RequestContext,
  job: JobRow,
  seg: LiveSegment,
  signal: AbortSignal,
  mirror: RangeSource | null = null,
): Promise<OpenedRange> {
  const url = mirror?.finalUrl ?? job.finalUrl ?? job.url;
  // The validators of the server asked: another host's copy has its own (see mirrors.ts).
  const { etag, lastModified } = mirror ?? job;
  // `originUrl`: credentials belong to the job's URL's host, not to wherever it redirected, nor
  // to a mirror on another host.
  if (!job.isResumable) {
    const { response } = await sendRequest(ctx, { url, originUrl: job.url, signal });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw statusError(response, url);
    }
    const length = response.headers.get('content-length');
    if (job.sizeBytes !== null && length !== null && Number(length) !== job.sizeBytes) {
      await response.body?.cancel().catch(() => {});
      throw new DdmError(`Resource changed: length ${length} instead of ${job.sizeBytes}: GET ${url}`, {
        code: 'ERR_RESOURCE_CHANGED',
      });
    }
    return { response, expectedEnd: job.sizeBytes };
  }
  const start = seg.cursor;
  const end = seg.end as number;
  const validator = ifRangeValidator(etag, lastModified);
  const { response } = await sendRequest(ctx, {
    url,
    originUrl: job.url,
    range: { start, end: end - 1 },
    ifRange: validator,
    signal,
  });
  const fail = async (error: DdmError): Promise<never> => {
    await response.body?.cancel().catch(() => {});
    throw error;
  };
  const range = `bytes=${start}-${end - 1}`;
  if (response.status === 200) {
    const length = response.headers.get('content-length');
    // Without an ETag, If-Range carried Last-Modified (RFC 9110 §13.1.5): a 200 with another
    // date means the validator failed, i.e. a new version, not a server without ranges.
    const answeredDate = response.headers.get('last-modified');
    const isNewDate = !etag && !!lastModified && !!answeredDate && answeredDate !== lastModified;
    if (
      strongEtagDiffers(etag, response.headers.get('etag')) ||
      isNewDate ||
      (length !== null && job.sizeBytes !== null && Number(length) !== job.sizeBytes)
    ) {
      return fail(
        new DdmError(`Resource changed (answered 200 with a new version to ${range}): GET ${url}`, {
          code: 'ERR_RESOURCE_CHANGED',
        }),
      );
    }
    return fail(
      new DdmError(`Range request answered 200 instead of 206: GET ${url}`, { code: 'ERR_RANGE_UNSUPPORTED' }),
    );
  }
  if (response.status !== 206) {
    await response.body?.cancel().catch(() => {});
    if (response.status === 416) {
      throw new DdmError(`Range ${range} not satisfiable (the file shrank?): GET ${url}`, {
        code: 'ERR_RESOURCE_CHANGED',
      });
    }
    throw statusError(response, url);
  }
  const encoding = response.headers.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') {
    return fail(
      new DdmError(`Range response is ${encoding}-compressed; its bytes cannot go at file offsets: GET ${url}`, {
        code: 'ERR_COMPRESSED',
      }),
    );
  }
  const contentRange = response.headers.get('content-range');
  const parsed = parseContentRange(contentRange);
  if (!parsed || parsed.start !== start || parsed.end > end - 1) {
    return fail(
      new DdmError(`Content-Range "${contentRange ?? ''}" does not match the request ${range}: GET ${url}`, {
        code: 'ERR_RANGE_MISMATCH',
        retryable: true,
      }),
    );
  }
  if (parsed.total !== null && job.sizeBytes !== null && parsed.total !== job.sizeBytes) {
    return fail(
      new DdmError(`Resource changed: size ${parsed.total} instead of ${job.sizeBytes}: GET ${url}`, {
        code: 'ERR_RESOURCE_CHANGED',
      }),
    );
  }
  if (strongEtagDiffers(etag, response.headers.get('etag'))) {
    return fail(
      new DdmError(`Resource changed: ETag ${response.headers.get('etag')} instead of ${etag}: GET ${url}`, {
        code: 'ERR_RESOURCE_CHANGED',
      }),
    );
  }
  const length = response.headers.get('content-length');
  if (length !== null && Number(length) !== parsed.end - parsed.start + 1) {
    return fail(
      new DdmError(`Content-Length ${length} does not match Content-Range "${contentRange}": GET ${url}`, {
        code: 'ERR_RANGE_MISMATCH',
        retryable: true,
      }),
    );
  }
  return { response, expectedEnd: parsed.end + 1 };
}

const GC_BYTES = Number(process.env.DDM_GC_MB ?? 0) * 1048576;
const GC_FULL = process.env.DDM_GC_FULL === '1';
let gcCounter = 0;

export interface PumpOptions {
  file: PartFile;
  /** The URL quoted in error messages (the job's final URL). */
  url: string | null;
  /** Size of the segment's coalescing buffer. */
  bufferBytes: number;
  /** The job's and the global rate limits; every byte waits for all of them. */
  buckets: readonly TokenBucket[];
  /** Before every write: proves the engine still holds its lock. @throws ERR_LOCK_LOST */
  checkLease: () => void;
  /** After every complete write, with its length. */
  onWritten: (bytes: number) => void;
  signal: AbortSignal;
}

/**
 * Streams an opened answer's body into the file at the segment's cursor, coalescing small
 * chunks; advances `seg.writtenBytes` (complete writes) and `seg.receivedBytes`.
 *
 * A known length is a contract: `expectedEnd` is the file offset where the RESPONSE promised
 * to end (its Content-Range end, or the job's known size for a 200), and the body must end
 * exactly there. A byte beyond it fails with ERR_SIZE_MISMATCH before anything of that chunk
 * is written; a body that ends short is a retryable ERR_NETWORK. Stopping at `seg.end` below
 * `expectedEnd` is no error: a split moved the segment's end while this response still had
 * bytes, and the rest belongs to the new segment.
 * @returns the size learned from a body without a known length (`seg.end` is then set to it), else null.
 * @throws DdmError ERR_SIZE_MISMATCH, ERR_NETWORK, ERR_LOCK_LOST.
 */
export async function pumpBody(
  seg: LiveSegment,
  { response, expectedEnd }: OpenedRange,
  options: PumpOptions,
): Promise<number | null> {
  const { file, url, buckets, signal } = options;
  const body = response.body;
  if (!body) throw new DdmError(`Empty response body: GET ${url}`, { code: 'ERR_NETWORK', retryable: true });
  if (!seg.buffer || seg.buffer.length !== options.bufferBytes) seg.buffer = new Uint8Array(options.bufferBytes);
  const buffer = seg.buffer;
  const responseStart = seg.cursor;
  let buffered = 0;
  let bufferPos = seg.start + seg.writtenBytes;
  // Synchronous on purpose (see PartFile.writeNow): per chunk, the only promise is the read's.
  const write = (data: Uint8Array, length: number) => {
    // Bytes go into the file only while this engine provably holds the lock.
    options.checkLease();
    file.writeNow(data, length, bufferPos);
    seg.writtenBytes += length;
    options.onWritten(length);
    bufferPos += length;
  };
  const flush = () => {
    if (buffered === 0) return;
    write(buffer, buffered);
    buffered = 0;
  };
  const isLimited = () => {
    for (const b of buckets) if (b.rate !== null) return true;
    return false;
  };
  const reader = body.getReader();
  let sawEnd = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        sawEnd = true;
        break;
      }
      if (expectedEnd !== null && seg.cursor + value.length > expectedEnd) {
        throw new DdmError(
          `Response body is longer than promised: more than ${expectedEnd - responseStart} bytes from offset ${responseStart} (segment #${seg.index}): GET ${url}`,
          { code: 'ERR_SIZE_MISMATCH' },
        );
      }
      const stopAt = seg.end;
      let chunk = value;
      if (stopAt !== null && seg.cursor + chunk.length > stopAt)
        chunk = chunk.subarray(0, Math.max(0, stopAt - seg.cursor));
      if (chunk.length > 0) {
        // Read per chunk: a limit set or lifted mid-download applies at once.
        if (isLimited()) await acquire(buckets, chunk.length, signal);
        if (buffered + chunk.length > buffer.length) flush();
        if (buffered === 0 && chunk.length >= buffer.length >> 1) {
          // Large chunks go straight to disk; copying them would only cost time.
          write(chunk, chunk.length);
        } else {
          buffer.set(chunk, buffered);
          buffered += chunk.length;
        }
        seg.receivedBytes += chunk.length;
        if (GC_BYTES > 0) {
          gcCounter += chunk.length;
          if (gcCounter >= GC_BYTES) {
            gcCounter = 0;
            Bun.gc(GC_FULL);
          }
        }
      }
      // Cut short only by a split; at its promised end the body must end: read on to see it.
      if (stopAt !== null && seg.cursor >= stopAt && (expectedEnd === null || stopAt < expectedEnd)) break;
    }
  } catch (error) {
    flush();
    throw error;
  } finally {
    reader.cancel().catch(() => {});
  }
  flush();
  if (seg.end === null && sawEnd) {
    // No length: the size is whatever the stream delivered.
    seg.end = seg.start + seg.writtenBytes;
    return seg.end;
  }
  const target = Math.min(seg.end ?? Number.POSITIVE_INFINITY, expectedEnd ?? Number.POSITIVE_INFINITY);
  if (sawEnd && seg.cursor < target) {
    throw new DdmError(
      `Connection closed after ${seg.cursor - seg.start} of ${target - seg.start} bytes of segment #${seg.index}: GET ${url}`,
      { code: 'ERR_NETWORK', retryable: true },
    );
  }
  return null;
}
