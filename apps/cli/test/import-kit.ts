/**
 * Shared by the HAR, curl and refresh CLI tests: browser recordings replayed against a local test
 * server, and the checks those tests make on what reached the server and what ddm wrote down.
 */
import { Database } from 'bun:sqlite';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestRecord } from '@ddm/core/testing';
import { rewriteHarOrigin } from '@ddm/har/testing';
import type { Sandbox } from './helpers.ts';

/** The browser recordings of `@ddm/har` (recorded against `RECORDED_ORIGIN`). */
export const HAR_FIXTURES = join(import.meta.dir, '..', '..', '..', 'packages', 'har', 'test', 'fixtures');
/** Recordings made for the CLI tests: paths the test server serves (signed URLs). */
export const CLI_FIXTURES = join(import.meta.dir, 'fixtures');
export const RECORDED_ORIGIN = 'http://127.0.0.1:8080';

/** Copies a recording into the sandbox with its origin rewritten to `origin`; returns its path. */
export function localHar(sandbox: Sandbox, fixture: string, origin: string, fromDir = HAR_FIXTURES): string {
  const text = rewriteHarOrigin(readFileSync(join(fromDir, fixture), 'utf8'), RECORDED_ORIGIN, origin);
  const path = join(sandbox.root, fixture);
  writeFileSync(path, text);
  return path;
}

/** A fixture's text with its origin rewritten (for curl commands). */
export function localText(fixture: string, origin: string, fromDir = HAR_FIXTURES): string {
  return rewriteHarOrigin(readFileSync(join(fromDir, fixture), 'utf8'), RECORDED_ORIGIN, origin);
}

/** Which of `secrets` occur in `text` (empty when none leaked). */
export function leaked(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret));
}

/** Every file ddm keeps in DDM_HOME, as text: the log and the DB (with its WAL). */
export function homeFiles(sandbox: Sandbox): { log: string; db: string } {
  const read = (name: string) => {
    const path = join(sandbox.home, name);
    return existsSync(path) ? readFileSync(path).toString('latin1') : '';
  };
  return { log: read('ddm.log'), db: read('ddm.db') + read('ddm.db-wal') };
}

export function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

export interface SegmentRow {
  start: number;
  end: number | null;
  writtenBytes: number;
}

/** The segments ddm checkpointed for a job, read straight from the DB (read-only). */
export function storedSegments(sandbox: Sandbox, jobId: number): SegmentRow[] {
  const db = new Database(join(sandbox.home, 'ddm.db'), { readonly: true });
  try {
    return (
      db.query('SELECT start, "end", written_bytes FROM segments WHERE job_id = ? ORDER BY start').all(jobId) as {
        start: number;
        end: number | null;
        written_bytes: number;
      }[]
    ).map((r) => ({ start: r.start, end: r.end, writtenBytes: r.written_bytes }));
  } finally {
    db.close();
  }
}

export interface ServedRange {
  /** First byte (inclusive). */
  start: number;
  /** One past the last byte the server sent. */
  end: number;
  status: number;
}

/** Byte ranges of the body bytes the server sent for GETs with a Range header (206 answers). */
export function servedRanges(requests: readonly RequestRecord[], path: string): ServedRange[] {
  return requests
    .filter((r) => r.method === 'GET' && r.path === path && r.status === 206 && r.range !== null)
    .map((r) => {
      const start = Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? Number.NaN);
      return { start, end: start + r.bodyBytesSent, status: r.status };
    })
    .sort((a, b) => a.start - b.start);
}

/** Bytes that more than one response carried: the sum of all overlaps between served ranges. */
export function bytesServedTwice(ranges: readonly ServedRange[]): number {
  let twice = 0;
  let coveredTo = 0;
  for (const r of ranges) {
    if (r.start < coveredTo) twice += Math.min(r.end, coveredTo) - r.start;
    coveredTo = Math.max(coveredTo, r.end);
  }
  return twice;
}

/** True when `ranges` cover `[from, to)` with no gap. */
export function covers(ranges: readonly ServedRange[], from: number, to: number): boolean {
  let coveredTo = from;
  for (const r of ranges) {
    if (r.start > coveredTo) return false;
    coveredTo = Math.max(coveredTo, r.end);
    if (coveredTo >= to) return true;
  }
  return coveredTo >= to;
}
