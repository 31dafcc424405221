/**
 * `ddm run` exits with its failed jobs' own codes, the way `ddm get` does: 4 for a checksum
 * mismatch, 3 for an HTTP error, the most serious one when several failed; 1 was every failure.
 */
import { describe, expect, test } from 'bun:test';
import { startTestServer } from '@ddm/core/testing';
import { Sandbox } from './helpers.ts';

const body = new Uint8Array(64 * 1024).fill(7);
const wrongSha256 = `sha256:${'0'.repeat(64)}`;

describe('ddm run exit code', () => {
  test('a checksum failure exits 4, like ddm get; a 404 alone exits 3; both: the more serious 4', async () => {
    await using sb = new Sandbox();
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });

    const bad = await sb.add(server.url('/f.bin'), '-o', 'bad.bin', '--checksum', wrongSha256);
    const viaGet = await sb.run([
      'get',
      server.url('/f.bin'),
      '-d',
      sb.dir,
      '-o',
      'get.bin',
      '--checksum',
      wrongSha256,
    ]);
    expect(viaGet.exitCode).toBe(4);
    const run = await sb.run(['run']);
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain(`job ${bad} failed: ERR_CHECKSUM_MISMATCH`);

    await sb.ok(['remove', String(bad)]);
    const missing = await sb.add(server.url('/missing.bin'), '-o', 'missing.bin');
    const notFound = await sb.run(['run']);
    expect(notFound.exitCode).toBe(3);
    expect(notFound.stderr).toContain(`job ${missing} failed: ERR_HTTP_STATUS`);

    await sb.ok(['remove', String(missing)]);
    await sb.add(server.url('/missing.bin'), '-o', 'missing2.bin');
    await sb.add(server.url('/f.bin'), '-o', 'bad2.bin', '--checksum', wrongSha256);
    const both = await sb.run(['run', '--json']);
    expect(both.exitCode).toBe(4);
    expect((JSON.parse(both.stdout) as { jobs: { state: string }[] }).jobs.map((j) => j.state)).toEqual([
      'failed',
      'failed',
    ]);
  }, 60_000);
});
