/**
 * File safety from the command line: a `.part` swapped for a symlink between two runs (the
 * first one killed) or during a run fails the job with ERR_UNSAFE_PATH naming the path (exit 5
 * for `ddm get`), and no byte changes outside -d.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedBody, makeBody, startTestServer, waitFor } from '@ddm/core/testing';
import { cliHome } from './cli-harness.ts';

setDefaultTimeout(30_000);

describe('a planted .part', () => {
  test('a symlink in place of the .part after a kill: `ddm run` fails the job with ERR_UNSAFE_PATH naming the path, the outside file unchanged', async () => {
    const body = generatedBody(4 * 1024 * 1024, 31);
    await using server = await startTestServer({
      files: [{ path: '/k.bin', body, knobs: { throttleBytesPerSec: 512 * 1024 } }],
    });
    using cli = cliHome();
    const outside = join(dirname(cli.dir), 'outside.txt');
    const outsideBytes = makeBody(4096, 32);
    writeFileSync(outside, outsideBytes);
    const before = statSync(outside);

    const first = cli.spawn(['get', server.url('/k.bin'), '-d', cli.dir]);
    // Body bytes flowing means the .part exists and the job recorded it.
    await waitFor(() => server.requests.some((r) => r.method === 'GET' && r.bodyBytesSent > 0), {
      what: 'the download to start',
      timeoutMs: 20_000,
    });
    first.kill('SIGKILL');
    await first.exited;
    const part = join(cli.dir, 'k.bin.part');
    unlinkSync(part);
    symlinkSync(outside, part);

    const second = await cli.run(['run']);
    // `ddm run` exits with the job's own code, as `ddm get` does.
    expect(second.exitCode).toBe(5);
    expect(second.stderr).toContain('ERR_UNSAFE_PATH');
    expect(second.stderr).toContain(part);
    expect(readFileSync(outside)).toEqual(Buffer.from(outsideBytes));
    expect(statSync(outside).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(outside).size).toBe(before.size);
  });

  test('a symlink swapped in for the .part during `ddm get`: exit 5 naming the path, nothing renamed through it', async () => {
    const body = generatedBody(2 * 1024 * 1024, 33);
    await using server = await startTestServer({
      files: [{ path: '/s.bin', body, knobs: { throttleBytesPerSec: 1024 * 1024 } }],
    });
    using cli = cliHome();
    const outside = join(dirname(cli.dir), 'outside.txt');
    const outsideBytes = makeBody(4096, 34);
    writeFileSync(outside, outsideBytes);
    const before = statSync(outside);

    const get = cli.spawn(['get', server.url('/s.bin'), '-d', cli.dir]);
    await waitFor(() => server.requests.some((r) => r.method === 'GET' && r.bodyBytesSent > 0), {
      what: 'the download to start',
      timeoutMs: 20_000,
    });
    const part = join(cli.dir, 's.bin.part');
    unlinkSync(part);
    symlinkSync(outside, part);
    const [exitCode, stderr] = await Promise.all([
      get.exited,
      new Response(get.stderr as ReadableStream).text(),
      new Response(get.stdout as ReadableStream).text(),
    ]);

    expect(exitCode).toBe(5);
    expect(stderr).toContain(part);
    expect(readFileSync(outside)).toEqual(Buffer.from(outsideBytes));
    expect(statSync(outside).mtimeMs).toBe(before.mtimeMs);
    // The final name was never made a link to the planted symlink.
    expect(() => statSync(join(cli.dir, 's.bin'))).toThrow();
  });
});
