/**
 * Expired links and `ddm refresh`: a signed URL that expires mid-download is renewed from the
 * browser's original request; a job whose cookies lived in another process asks for the HAR and
 * `ddm refresh --har` continues it; `ddm refresh --url` moves a job to another URL of the same
 * file. In every case the bytes already on disk are never fetched again, which the tests check
 * against the ranges the server actually sent and the segments ddm checkpointed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import {
  generatedBody,
  type RequestRecord,
  signedFile,
  startTestServer,
  type TestServer,
  waitFor,
} from '@ddm/core/testing';
import { fileSha256, Sandbox, type StatusJob } from './helpers.ts';
import {
  bytesServedTwice,
  CLI_FIXTURES,
  covers,
  homeFiles,
  leaked,
  localHar,
  type SegmentRow,
  servedRanges,
  storedSegments,
} from './import-kit.ts';

// Each test spawns the real CLI a few times and downloads a file or two: bounded, not instant.
setDefaultTimeout(30_000);

const KiB = 1024;
const MiB = 1024 * KiB;

/** The credentials of `fixtures/chrome-signed-export.har`. */
const BEARER_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEiLCJzY29wZSI6ImV4cG9ydHMifQ.ZXhwb3J0LXNpZw';
const API_KEY = 'k_live_2c9e71d04b';
const SESSION = 'sess-91f0c2aa7e';
const RECORDED_SIG = '7d1c0f3e9a4b2c61';
const FILE = '/exports/archive-2024.bin';
const SIGNED = `${FILE}/signed`;

/** Small segments and quick retries, so a 1-2 MiB file gives several connections and splits. */
const FAST_ENV = {
  DDM_MIN_SPLIT_SIZE: String(64 * KiB),
  DDM_RETRY__BASE_DELAY_MS: '50',
  DDM_CHECKPOINT_INTERVAL_MS: '100',
};

/** The export of the recording: only reachable with the bearer token, the API key and the session cookie. */
function exportFile(body: ReturnType<typeof generatedBody>, knobs: object, expireAfterMs: number) {
  return signedFile(
    FILE,
    {
      body,
      contentDisposition: 'attachment; filename="archive-2024.bin"',
      knobs: {
        requireHeaders: { authorization: `Bearer ${BEARER_TOKEN}`, 'x-api-key': API_KEY },
        requireCookie: { name: 'session', value: SESSION },
        ...knobs,
      },
    },
    expireAfterMs,
  );
}

/** `sig=` values of every signed URL the server saw: fresh signatures are secrets too. */
function signatures(requests: readonly RequestRecord[]): string[] {
  return [...new Set(requests.flatMap((r) => /[?&]sig=([^&]+)/.exec(r.url)?.[1] ?? []))];
}

/**
 * Bytes of job 1 that ddm has checkpointed (synced to disk, then recorded): what a test waits for
 * before interrupting, rather than bytes the server sent, which may still sit in socket buffers.
 */
function checkpointedBytes(sandbox: Sandbox): number {
  try {
    return storedSegments(sandbox, 1).reduce((sum, s) => sum + s.writtenBytes, 0);
  } catch {
    return 0; // The DB or its tables are not there yet.
  }
}

/** No served byte range overlaps bytes a segment had on disk before. */
function overlapsWritten(served: readonly { start: number; end: number }[], segments: readonly SegmentRow[]): string[] {
  const problems: string[] = [];
  for (const seg of segments) {
    const written = { start: seg.start, end: seg.start + seg.writtenBytes };
    for (const r of served) {
      if (r.start < written.end && r.end > written.start) {
        problems.push(`served [${r.start}, ${r.end}) overlaps written [${written.start}, ${written.end})`);
      }
    }
  }
  return problems;
}

describe('a signed URL that expires mid-download', () => {
  const body = generatedBody(1 * MiB, 901);
  let server: TestServer;
  let sandbox: Sandbox;
  let result: { exitCode: number; stdout: string; stderr: string };

  beforeAll(async () => {
    // Every connection gets 256 KiB/s except the first segment's, which crawls at 64 KiB/s: the
    // others finish it after the 500 ms signature has expired, so their requests get 403.
    server = await startTestServer({
      files: [
        exportFile(body, { throttleBytesPerSec: 256 * KiB, slowRequest: { nth: 1, bytesPerSec: 64 * KiB } }, 500),
      ],
    });
    sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-signed-export.har', server.origin, CLI_FIXTURES);
    result = await sandbox.run(
      ['import-har', har, '-d', sandbox.dir, '-c', '4', '--allow-cookies', '--start', '--verbose'],
      { env: FAST_ENV, timeoutMs: 30_000 },
    );
  });

  afterAll(async () => {
    await sandbox[Symbol.asyncDispose]();
    await server.stop();
  });

  test('is renewed from the original request and the download completes', async () => {
    expect(result.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'archive-2024.bin'))).toBe(body.sha256Hex());
    const stats = server.signedStats(FILE);
    expect(stats.rejectedRequests).toBeGreaterThanOrEqual(1);
    // The first signature plus at least one renewal, each by re-issuing the recorded request.
    expect(stats.originalRequests).toBeGreaterThanOrEqual(2);
    for (const r of server.requests.filter((r) => r.path === FILE)) {
      expect(r.headers.authorization).toBe(`Bearer ${BEARER_TOKEN}`);
      expect(r.headers.cookie).toContain(`session=${SESSION}`);
    }
  });

  test('no finished byte range is fetched again: only in-flight tails overlap', async () => {
    const served = servedRanges(server.requests, SIGNED);
    expect(covers(served, 0, body.sizeBytes)).toBe(true);
    // A split cuts a running request short; the server may have sent a chunk or two past the cut.
    expect(bytesServedTwice(served)).toBeLessThanOrEqual(64 * KiB);
    const starts = served.map((r) => r.start);
    expect(new Set(starts).size).toBe(starts.length);
    // Every expired request was refused before any byte: the retry started where the segment was.
    for (const r of server.requests.filter((r) => r.path === SIGNED && r.status === 403)) {
      expect(r.bodyBytesSent).toBeLessThan(64);
    }
    // The renewal continued the refused segment from where it was, not from its start (its end
    // may have moved: another connection can take over part of it meanwhile).
    const signedRequests = server.requests.filter((r) => r.path === SIGNED && r.range !== null);
    const startOf = (range: string | null) => /bytes=(\d+)-/.exec(range ?? '')?.[1];
    const refused = signedRequests.filter((r) => r.status === 403);
    for (const r of refused) {
      expect(signedRequests.some((later) => later.status === 206 && startOf(later.range) === startOf(r.range))).toBe(
        true,
      );
    }
    expect(storedSegments(sandbox, 1).length).toBeGreaterThan(4);
  });

  test('no secret reaches the log, status --json, status <id> or the command output', async () => {
    const secrets = [BEARER_TOKEN, API_KEY, SESSION, RECORDED_SIG, ...signatures(server.requests)];
    expect(secrets.length).toBeGreaterThan(5);
    const { log } = homeFiles(sandbox);
    // The import is logged with its request: header values and the signature are redacted.
    expect(log).toContain('"msg":"job imported"');
    expect(log).toContain('"Authorization":"REDACTED"');
    expect(log).toContain(`sig=REDACTED`);
    expect(leaked(log, secrets)).toEqual([]);
    const statusJson = await sandbox.ok(['status', '--json']);
    const statusOne = await sandbox.ok(['status', '1']);
    expect(statusJson.stdout).toContain('link expired (HTTP 403); got a fresh URL from the original request');
    expect(leaked(statusJson.stdout + statusOne.stdout, secrets)).toEqual([]);
    expect(leaked(result.stdout + result.stderr, secrets)).toEqual([]);
  });
});

describe('a job whose cookies lived in a process that is gone', () => {
  test('asks for the HAR again; ddm refresh --har continues it without fetching finished bytes', async () => {
    const body = generatedBody(2 * MiB, 902);
    await using server = await startTestServer({
      files: [exportFile(body, { throttleBytesPerSec: 512 * KiB }, 60_000)],
    });
    await using sandbox = new Sandbox();
    const har = localHar(sandbox, 'chrome-signed-export.har', server.origin, CLI_FIXTURES);

    // 1. Imported with cookies kept in memory, interrupted mid-download.
    const first = sandbox.spawn(
      ['import-har', har, '-d', sandbox.dir, '-c', '2', '--allow-cookies', '--start'],
      FAST_ENV,
    );
    await waitFor(() => checkpointedBytes(sandbox) >= 512 * KiB, { timeoutMs: 15_000, what: '512 KiB on disk' });
    first.proc.kill('SIGINT');
    expect((await first.done()).exitCode).toBe(130);

    // 2. A later process has no cookies: the job fails asking for the HAR, and sends nothing.
    const requestsBefore = server.requests.length;
    const run = await sandbox.run(['run'], { env: FAST_ENV });
    // ERR_CREDENTIALS_REQUIRED: the user must give the request again (2).
    expect(run.exitCode).toBe(2);
    expect(server.requests.length).toBe(requestsBefore);
    const failed = (await sandbox.status()).jobs[0] as StatusJob;
    expect(failed.error?.code).toBe('ERR_CREDENTIALS_REQUIRED');
    expect(failed.error?.message).toContain('ddm refresh 1 --har <file>');

    // 3. The refresh probes the new request, keeps the segments and finishes in this process.
    const segments = storedSegments(sandbox, 1);
    const keptBytes = segments.reduce((sum, s) => sum + s.writtenBytes, 0);
    expect(keptBytes).toBeGreaterThanOrEqual(512 * KiB);
    server.reset();
    const refreshed = await sandbox.run(['refresh', '1', '--har', har, '--allow-cookies'], {
      env: FAST_ENV,
      timeoutMs: 30_000,
    });
    expect(refreshed.exitCode).toBe(0);
    expect(refreshed.stderr).toContain('same file: size 2097152');
    expect(refreshed.stdout).toContain('already downloaded kept');
    expect(await fileSha256(join(sandbox.dir, 'archive-2024.bin'))).toBe(body.sha256Hex());
    const served = servedRanges(server.requests, SIGNED);
    expect(overlapsWritten(served, segments)).toEqual([]);
    expect(served.reduce((sum, r) => sum + (r.end - r.start), 0)).toBeLessThanOrEqual(
      body.sizeBytes - keptBytes + 64 * KiB,
    );
  });
});

describe('ddm refresh --url', () => {
  test('refuses another file (ERR_RESOURCE_CHANGED), then moves the job to a mirror keeping its segments', async () => {
    const body = generatedBody(2 * MiB, 903);
    const other = generatedBody(2 * MiB + 1, 904);
    await using server = await startTestServer({
      files: [
        { path: '/old/file.bin', body, knobs: { throttleBytesPerSec: 512 * KiB } },
        { path: '/mirror/file.bin', body },
        { path: '/other/file.bin', body: other },
      ],
    });
    await using sandbox = new Sandbox();
    const first = sandbox.spawn(['get', server.url('/old/file.bin'), '-d', sandbox.dir, '-c', '2'], FAST_ENV);
    await waitFor(() => checkpointedBytes(sandbox) >= 512 * KiB, { timeoutMs: 15_000, what: '512 KiB on disk' });
    first.proc.kill('SIGINT');
    expect((await first.done()).exitCode).toBe(130);
    const segments = storedSegments(sandbox, 1);
    expect(segments.some((s) => s.writtenBytes > 0)).toBe(true);

    const refused = await sandbox.run(['refresh', '1', '--url', server.url('/other/file.bin')]);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('Not the same file (resource changed: size 2097153 instead of 2097152)');
    expect((await sandbox.job(1)).url).toBe(server.url('/old/file.bin'));
    expect(storedSegments(sandbox, 1)).toEqual(segments);

    const moved = await sandbox.run(['refresh', '1', '--url', server.url('/mirror/file.bin'), '--json']);
    expect(moved.exitCode).toBe(0);
    const out = JSON.parse(moved.stdout) as { keptBytes: number; notes: string[]; state: string };
    expect(out.keptBytes).toBe(segments.reduce((sum, s) => sum + s.writtenBytes, 0));
    expect(out.notes[0]).toStartWith('same file: size 2097152, ETag');
    expect(out.state).toBe('queued');
    expect(storedSegments(sandbox, 1)).toEqual(segments);

    server.reset();
    const run = await sandbox.run(['run'], { env: FAST_ENV });
    expect(run.exitCode).toBe(0);
    expect(await fileSha256(join(sandbox.dir, 'file.bin'))).toBe(body.sha256Hex());
    expect(server.countRequests('/old/file.bin')).toBe(0);
    expect(overlapsWritten(servedRanges(server.requests, '/mirror/file.bin'), segments)).toEqual([]);
  });
});
