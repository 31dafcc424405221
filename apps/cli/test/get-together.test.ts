/**
 * `ddm get` while another engine runs on the same DB: the job is handed to that engine (an
 * `adopt` command), and this `get` waits and reports the outcome as if it had run it itself.
 */

import { describe, expect, test } from 'bun:test';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, MiB, Sandbox } from './helpers.ts';

describe('a second ddm get', () => {
  test('two ddm get at once: the second hands its job to the first engine; both exit 0 with their files', async () => {
    const first = generatedBody(6 * MiB, 61);
    const second = generatedBody(2 * MiB, 62);
    await using server = await startTestServer({
      files: [
        { path: '/first.bin', body: first, knobs: { throttleBytesPerSec: 2 * MiB } },
        { path: '/second.bin', body: second, knobs: { throttleBytesPerSec: 1 * MiB } },
      ],
    });
    await using sb = new Sandbox();
    const a = sb.spawn(['get', server.url('/first.bin'), '-d', sb.dir, '-c', '1']);
    await waitFor(() => server.bytesServed('/first.bin') > 0, { timeoutMs: 15_000, what: 'the first get to download' });
    const b = sb.spawn(['get', server.url('/second.bin'), '-d', sb.dir, '-c', '2']);
    const [ra, rb] = await Promise.all([a.done(), b.done()]);
    expect(ra.exitCode).toBe(0);
    expect(rb.exitCode).toBe(0);
    expect(rb.stderr).toContain(`engine pid ${a.pid} is running`);
    expect(ra.stdout.trim().endsWith('first.bin')).toBe(true);
    expect(rb.stdout.trim().endsWith('second.bin')).toBe(true);
    expect(await fileSha256(ra.stdout.trim())).toBe(first.sha256Hex());
    expect(await fileSha256(rb.stdout.trim())).toBe(second.sha256Hex());
    const states = (await sb.status()).jobs.map((j) => j.state);
    expect(states).toEqual(['completed', 'completed']);
  }, 60_000);

  test('ddm get while ddm run --watch runs: exits 0 with the path once that engine downloaded it', async () => {
    const body = generatedBody(1 * MiB, 63);
    await using server = await startTestServer({ files: [{ path: '/w.bin', body }] });
    await using sb = new Sandbox();
    const engine = await sb.startEngine(['--watch']);
    const result = await sb.run(['get', server.url('/w.bin'), '-d', sb.dir]);
    expect(result.exitCode).toBe(0);
    expect(await fileSha256(result.stdout.trim())).toBe(body.sha256Hex());
    expect(engine.proc.exitCode).toBeNull();
  }, 30_000);

  test('ddm get -H Cookie while another engine runs is refused: the cookie cannot reach that engine', async () => {
    await using sb = new Sandbox();
    await sb.startEngine(['--watch']);
    const result = await sb.run(['get', 'http://127.0.0.1:9/x.bin', '-d', sb.dir, '-H', 'Cookie: a=b']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--remember-cookies');
    expect((await sb.status()).jobs).toEqual([]);
  }, 30_000);
});
