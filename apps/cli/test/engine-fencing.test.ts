/**
 * A frozen engine never writes a job another engine took over. Engine A downloads slowly and is
 * frozen (SIGSTOP, like Ctrl+Z or a laptop suspend) past the lock's staleness window; the file
 * changes on the server; engine B takes the lock over and completes the job with the new
 * version; A is continued (SIGCONT) with old-version bytes already buffered in its socket. A
 * must stop at once without writing a byte or a row, and say why with exit code 6.
 *
 * `DDM_LOCK_STALE_MS` shortens the staleness window from 30 s for the test.
 */
import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, MiB, Sandbox } from './helpers.ts';

const EXIT_ENGINE_BUSY = 6;
const STALE_MS = 2000;

/** The lock row as stored (wall-clock ms), read-only; null when no engine holds it. */
function lockRow(home: string): { pid: number; heartbeatAt: number; epoch: number } | null {
  const db = new Database(join(home, 'ddm.db'), { readonly: true });
  try {
    const row = db.query('SELECT pid, heartbeat_at, epoch FROM engine_lock WHERE id = 1').get() as {
      pid: number;
      heartbeat_at: number;
      epoch: number;
    } | null;
    return row ? { pid: row.pid, heartbeatAt: row.heartbeat_at, epoch: row.epoch } : null;
  } finally {
    db.close();
  }
}

describe('lock fencing across processes', () => {
  test('an engine continued after a take-over stops without writing; the file is the new version, exit 6', async () => {
    const size = 8 * MiB;
    const oldBody = generatedBody(size, 91);
    const newBody = generatedBody(size, 92);
    await using server = await startTestServer({
      files: [
        {
          path: '/big.bin',
          body: oldBody,
          etag: '"v1"',
          knobs: {
            // A's download (the first ranged GET) is slow; B's are not.
            slowRequest: { nth: 1, bytesPerSec: 512 * 1024 },
            changeAfterRequests: { requests: 1, body: newBody, etag: '"v2"' },
          },
        },
      ],
    });
    await using sb = new Sandbox();
    const env = { DDM_LOCK_STALE_MS: String(STALE_MS) };

    const a = sb.spawn(['get', server.url('/big.bin'), '-c', '1'], env);
    await sb.waitForStatus(
      (s) => s.jobs[0]?.state === 'downloading' && (s.jobs[0]?.doneBytes ?? 0) >= 512 * 1024,
      'engine A to checkpoint progress',
    );
    const aLock = lockRow(sb.home);
    expect(aLock?.pid).toBe(a.pid);

    a.proc.kill('SIGSTOP');
    const stoppedAt = server.now();
    // Frozen past the staleness window: A's last heartbeat is older than the window.
    await waitFor(() => Date.now() - (lockRow(sb.home)?.heartbeatAt ?? 0) > STALE_MS, {
      timeoutMs: 15_000,
      what: "A's heartbeat to go stale",
    });
    // The server kept sending to A while it was frozen: old-version bytes wait in A's socket.
    const sentToFrozenA = server.bytesServed('/big.bin', stoppedAt);
    expect(sentToFrozenA).toBeGreaterThan(0);

    // B takes the lock over, sees the new version (ETag v2), restarts from zero, completes.
    const b = sb.spawn(['run', '--watch'], env);
    await sb.waitForStatus((s) => s.jobs[0]?.state === 'completed', 'engine B to complete the job', 30_000);
    expect(lockRow(sb.home)).toMatchObject({ pid: b.pid });
    expect((lockRow(sb.home)?.epoch ?? 0) > (aLock?.epoch ?? 0)).toBe(true);
    const finalPath = join(sb.dir, 'big.bin');
    expect(await fileSha256(finalPath)).toBe(newBody.sha256Hex());
    const rowByB = (await sb.status()).jobs[0];

    // A continues: it must notice at once and write nothing.
    a.proc.kill('SIGCONT');
    const aResult = await a.done();
    expect(aResult.exitCode).toBe(EXIT_ENGINE_BUSY);
    expect(aResult.stderr).toContain(`lost its lock on the job database to pid ${b.pid}`);
    expect(aResult.stderr).toMatch(/it was frozen for \d+\.\d s\); that engine continues the jobs/);

    // Not one byte of A landed: the file is the new version, byte for byte, and nothing else appeared.
    expect(statSync(finalPath).size).toBe(size);
    expect(await fileSha256(finalPath)).toBe(newBody.sha256Hex());
    expect(readdirSync(sb.dir).sort()).toEqual(['big.bin']);
    // The job row is B's outcome, untouched by A.
    const after = (await sb.status()).jobs[0];
    expect(after).toEqual(rowByB);
    expect(after?.state).toBe('completed');
    expect(lockRow(sb.home)).toMatchObject({ pid: b.pid });

    b.proc.kill('SIGTERM');
    await b.done();
  }, 90_000);
});
