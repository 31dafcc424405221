/**
 * `-c/--continue` on a file another tool left (curl, wget, a renamed `.crdownload`): before ddm
 * appends to it, the server must still serve the same resource (Range support and a length,
 * the file no longer than that length), and a sample of the bytes already there must match a
 * fresh download of the same ranges byte for byte: the last 1 MiB (where an interrupted writer
 * most likely left garbage) and a few random 64 KiB blocks before it. Anything else is a
 * mismatch, and the caller starts from zero instead of appending to wrong bytes.
 */
import { open } from 'node:fs/promises';
import { DdmError } from './errors.ts';
import { type RequestContext, sendRequest } from './http.ts';
import { type ProbeResult, parseContentRange, probe } from './probe.ts';

/** Bytes compared at the end of the existing file. */
export const TAIL_SAMPLE_BYTES = 1024 * 1024;
/** Size of each random block compared before the tail. */
export const BLOCK_SAMPLE_BYTES = 64 * 1024;
/** Random blocks compared before the tail (fewer when the file is small). */
export const BLOCK_SAMPLES = 3;

export type PartialCheck =
  | { isMatch: true; existingBytes: number; info: ProbeResult }
  | { isMatch: false; existingBytes: number; reason: string; info: ProbeResult | null };

/** A byte range `[start, end)` of the existing file to compare. */
export interface SampleRange {
  start: number;
  end: number;
}

/**
 * The ranges to compare for a file of `existingBytes`: the last {@link TAIL_SAMPLE_BYTES}, and
 * up to {@link BLOCK_SAMPLES} non-overlapping {@link BLOCK_SAMPLE_BYTES} blocks at random
 * offsets before it. Pure; `random` returns numbers in `[0, 1)`.
 */
export function sampleRanges(existingBytes: number, random: () => number = Math.random): SampleRange[] {
  if (existingBytes <= 0) return [];
  const tailStart = Math.max(0, existingBytes - TAIL_SAMPLE_BYTES);
  const ranges: SampleRange[] = [{ start: tailStart, end: existingBytes }];
  const slots = Math.floor(tailStart / BLOCK_SAMPLE_BYTES);
  const picked = new Set<number>();
  for (let tries = 0; picked.size < Math.min(BLOCK_SAMPLES, slots) && tries < 100; tries++) {
    picked.add(Math.min(slots - 1, Math.floor(random() * slots)));
  }
  for (const slot of [...picked].sort((a, b) => a - b)) {
    ranges.push({ start: slot * BLOCK_SAMPLE_BYTES, end: (slot + 1) * BLOCK_SAMPLE_BYTES });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

async function fetchRange(
  ctx: RequestContext,
  url: string,
  originUrl: string,
  range: SampleRange,
  signal: AbortSignal,
) {
  const { response } = await sendRequest(ctx, {
    url,
    originUrl,
    range: { start: range.start, end: range.end - 1 },
    signal,
  });
  const contentRange = parseContentRange(response.headers.get('content-range'));
  if (response.status !== 206 || contentRange?.start !== range.start) {
    await response.body?.cancel().catch(() => {});
    return null;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return bytes.length === range.end - range.start ? bytes : null;
}

/**
 * Checks whether the file at `path` (`existingBytes` long) is the beginning of what `url` serves.
 * Never writes. `signal` aborts the requests.
 * @throws DdmError from the probe (network, TLS, HTTP status) and ERR_IO when the file cannot be read.
 */
export async function checkPartialFile(
  ctx: RequestContext,
  url: string,
  path: string,
  options: { signal: AbortSignal; random?: () => number },
): Promise<PartialCheck> {
  const file = await open(path, 'r').catch((cause: unknown) => {
    throw new DdmError(`Cannot read the partial file: ${path}`, { code: 'ERR_IO', cause });
  });
  try {
    const existingBytes = (await file.stat()).size;
    const info = await probe(ctx, url, options.signal);
    const mismatch = (reason: string): PartialCheck => ({ isMatch: false, existingBytes, reason, info });
    if (existingBytes === 0) return mismatch('the file is empty');
    if (info.sizeBytes === null) return mismatch('the server sends no length, so the bytes cannot be checked');
    if (!info.acceptsRanges || info.isCompressed) {
      return mismatch('the server does not answer Range requests, so the bytes cannot be checked');
    }
    if (existingBytes > info.sizeBytes) {
      return mismatch(`the file (${existingBytes} bytes) is longer than the server's (${info.sizeBytes} bytes)`);
    }
    for (const range of sampleRanges(existingBytes, options.random)) {
      const remote = await fetchRange(ctx, info.finalUrl, url, range, options.signal);
      if (!remote)
        return mismatch(`the server did not answer a Range request for bytes ${range.start}-${range.end - 1}`);
      const local = new Uint8Array(range.end - range.start);
      const { bytesRead } = await file.read(local, 0, local.length, range.start);
      if (bytesRead !== local.length || !Buffer.from(local).equals(Buffer.from(remote))) {
        return mismatch(`bytes ${range.start}-${range.end - 1} differ from the server's`);
      }
    }
    return { isMatch: true, existingBytes, info };
  } finally {
    await file.close();
  }
}
