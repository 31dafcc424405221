/**
 * A full disk, end to end through the CLI. Under DDM_HOME during a download (the job DB cannot
 * grow): exit 5 naming the DB, one line on stderr and no stack trace or "uncaught" output from
 * any timer, and the job left for the next run, which completes it once there is space. Under
 * the download folder (`.part`): exit 5 with ERR_DISK_FULL.
 *
 * The disks are small tmpfs mounts; the tests are skipped (saying so) where mounting needs
 * privileges this process does not have.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, MiB, Sandbox, type StatusJson } from './helpers.ts';

const mounts: string[] = [];

function mountTmpfs(sizeKiB: number): string | null {
  const at = mkdtempSync(join(tmpdir(), 'ddm-full-'));
  const result = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', at], {
    stderr: 'ignore',
  });
  if (result.exitCode === 0) {
    mounts.push(at);
    return at;
  }
  rmSync(at, { recursive: true, force: true });
  return null;
}

/** Fills the disk holding `dir`: writes until the file system refuses (ENOSPC). */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  try {
    writeFileSync(path, new Uint8Array(64 * MiB));
  } catch {
    // ENOSPC: the disk is full, which is the point; the bytes that fit stay in the file.
  }
  return path;
}

const probe = mountTmpfs(64);
const canMount = probe !== null;
if (!canMount) console.warn('db-disk-full: cannot mount a tmpfs here (not root?); full-disk CLI tests skipped');

afterAll(() => {
  for (const at of mounts) {
    Bun.spawnSync(['umount', at]);
    rmSync(at, { recursive: true, force: true });
  }
});

describe('a full disk', () => {
  test.skipIf(!canMount)(
    'under DDM_HOME during a download: exit 5 naming the DB, no stack trace; the next run completes the job',
    async () => {
      const home = mountTmpfs(1024) as string;
      const dbPath = join(home, 'ddm.db');
      const body = generatedBody(8 * MiB, 11);
      await using server = await startTestServer({
        files: [{ path: '/big.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
      });
      await using sb = new Sandbox();
      const env = { DDM_HOME: home };
      const added = await sb.ok(['add', server.url('/big.bin'), '-d', sb.dir, '-x', '2', '--json'], { env });
      const id = (JSON.parse(added.stdout) as { ids: number[] }).ids[0] as number;

      const engine = sb.spawn(['run'], env);
      await waitFor(
        () => existsSync(join(sb.dir, 'big.bin.part')) && server.requests.some((r) => r.bodyBytesSent > 0),
        { timeoutMs: 20_000, what: 'the download to start' },
      );
      const filler = fill(home);
      const result = await engine.done();
      expect(result.exitCode).toBe(5);
      expect(result.stderr).toBe(`ddm: The disk holding the job DB is full: ${dbPath}\n`);
      expect(result.stdout).toBe('');

      // Still full: status reads the DB; the job waits for the next run (no engine holds it).
      const status = JSON.parse((await sb.ok(['status', '--json'], { env })).stdout) as StatusJson;
      expect(status.engineRunning).toBe(false);
      expect(status.jobs.map((j) => j.id)).toEqual([id]);
      expect(['queued', 'probing', 'downloading']).toContain(status.jobs[0]?.state as string);

      rmSync(filler);
      const again = await sb.run(['run'], { env, timeoutMs: 30_000 });
      expect(again.exitCode).toBe(0);
      // stderr has the job's one summary line and nothing else.
      expect(again.stderr).toMatch(/^big\.bin: 8\.0 MiB [^\n]*, [12] connections?\n$/);
      const done = JSON.parse((await sb.ok(['status', '--json'], { env })).stdout) as StatusJson;
      expect(done.jobs[0]?.state).toBe('completed');
      expect(await fileSha256(join(sb.dir, 'big.bin'))).toBe(body.sha256Hex());
    },
    60_000,
  );

  test.skipIf(!canMount)('under the download folder: ddm get and ddm run exit 5 with ERR_DISK_FULL', async () => {
    const disk = mountTmpfs(2048) as string;
    const body = generatedBody(4 * MiB, 12);
    await using server = await startTestServer({ files: [{ path: '/big.bin', body }] });
    await using sb = new Sandbox();
    fill(disk);
    const got = await sb.run(['get', server.url('/big.bin'), '-d', disk, '-o', 'got.bin']);
    expect(got.exitCode).toBe(5);
    expect(got.stderr).toContain('ERR_DISK_FULL');
    expect(got.stderr).not.toContain('    at ');
    const id = (
      JSON.parse((await sb.ok(['add', server.url('/big.bin'), '-d', disk, '-o', 'run.bin', '--json'])).stdout) as {
        ids: number[];
      }
    ).ids[0] as number;
    const ran = await sb.run(['run']);
    expect(ran.exitCode).toBe(5);
    expect(ran.stderr).toContain(`job ${id} failed: ERR_DISK_FULL`);
  });
});
