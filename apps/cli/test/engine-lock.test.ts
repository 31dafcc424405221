/**
 * One engine per DB: the lock names its pid, a second `ddm run` is refused with exit code 6, and
 * the lock of an engine killed with SIGKILL is taken over by the next run, which resumes every
 * interrupted job from its last checkpoint.
 */

import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, MiB, Sandbox } from './helpers.ts';

const ERR_ENGINE_BUSY_EXIT = 6;

describe('engine lock', () => {
  test('a second ddm run exits 6 naming the pid of the engine; a killed engine’s lock is taken over', async () => {
    await using sb = new Sandbox();
    const first = await sb.startEngine();

    const second = await sb.run(['run']);
    expect(second.exitCode).toBe(ERR_ENGINE_BUSY_EXIT);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    const json = await sb.run(['run', '--watch', '--json']);
    expect(json.exitCode).toBe(ERR_ENGINE_BUSY_EXIT);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'ERR_ENGINE_BUSY', message: expect.stringContaining(`pid ${first.pid}`) },
    });

    first.proc.kill('SIGKILL');
    await first.done();
    // The lock row is still there, but its holder is dead.
    expect((await sb.status()).engineRunning).toBe(false);
    // The lock is taken over by the next engine.
    const next = await sb.startEngine();
    const third = await sb.run(['run']);
    expect(third.exitCode).toBe(ERR_ENGINE_BUSY_EXIT);
    expect(third.stderr).toContain(`pid ${next.pid}`);
    expect(next.proc.exitCode).toBeNull();
  }, 30_000);

  test('after SIGKILL the next ddm run resumes every running job from its checkpoint', async () => {
    const size = 16 * MiB;
    const specs = [1, 2, 3].map((n) => ({
      path: `/k${n}.bin`,
      body: generatedBody(size, 70 + n),
      knobs: { throttleBytesPerSec: 2 * MiB },
    }));
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const ids: number[] = [];
    for (const s of specs) ids.push(await sb.add(server.url(s.path), '-x', '2'));
    const engine = sb.spawn(['run', '--jobs', '3']);
    // Every job has a checkpoint (the engine publishes live progress with each one).
    await sb.waitForStatus(
      (s) => s.jobs.every((j) => j.state === 'downloading' && j.doneBytes >= 2 * MiB),
      'all three jobs to checkpoint progress',
    );
    engine.proc.kill('SIGKILL');
    const killedAt = server.now();
    expect((await engine.done()).exitCode).not.toBe(0);

    const atKill = await sb.status();
    expect(atKill.engineRunning).toBe(false);
    // The DB still says downloading: nobody moved the jobs after the kill.
    expect(atKill.jobs.map((j) => j.state)).toEqual(['downloading', 'downloading', 'downloading']);
    const checkpointed = new Map(atKill.jobs.map((j) => [j.id, j.doneBytes]));
    for (const bytes of checkpointed.values()) expect(bytes).toBeGreaterThan(0);
    await waitFor(() => server.openConnections === 0, {
      timeoutMs: 2000,
      what: 'the killed engine’s connections to close',
    });
    const servedBeforeRestart = new Map(specs.map((s) => [s.path, server.bytesServed(s.path)]));

    const restartAt = server.now();
    const rerun = await sb.run(['run', '--jobs', '3'], { timeoutMs: 40_000 });
    expect(rerun.exitCode).toBe(0);
    const report: Record<string, unknown> = {};
    for (const [i, s] of specs.entries()) {
      const id = ids[i] as number;
      const saved = checkpointed.get(id) as number;
      const before = servedBeforeRestart.get(s.path) as number;
      const after = server.bytesServed(s.path, restartAt);
      expect(await fileSha256(join(sb.dir, s.path.slice(1)))).toBe(s.body.sha256Hex());
      // The restart asked only for what the last checkpoint did not cover...
      expect(after).toBe(size - saved);
      // ...so the bytes fetched twice are those after that checkpoint: at most ~1 s of traffic
      // (checkpoint interval) plus what was in flight, here 4 MiB/s per job.
      const refetched = before + after - size;
      expect(refetched).toBeGreaterThanOrEqual(0);
      expect(refetched).toBeLessThan(6 * MiB);
      report[s.path] = { checkpointed: saved, servedBeforeKill: before, servedAfterRestart: after, refetched };
    }
    console.log('resume after SIGKILL', { killedAt, report });
    expect((await sb.status()).jobs.every((j) => j.state === 'completed')).toBe(true);
  }, 60_000);

  test('an interrupted job paused with no engine running stays paused in the next run', async () => {
    const size = 8 * MiB;
    const specs = [1, 2].map((n) => ({
      path: `/i${n}.bin`,
      body: generatedBody(size, 80 + n),
      knobs: { throttleBytesPerSec: 2 * MiB },
    }));
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const keepId = await sb.add(server.url('/i1.bin'), '-x', '2');
    const pauseId = await sb.add(server.url('/i2.bin'), '-x', '2');
    const engine = sb.spawn(['run']);
    await sb.waitForStatus(
      (s) => s.jobs.every((j) => j.state === 'downloading' && j.doneBytes > 0),
      'both jobs to checkpoint progress',
    );
    engine.proc.kill('SIGKILL');
    await engine.done();

    const paused = await sb.ok(['pause', String(pauseId)]);
    expect(paused.stdout).toContain('no engine running');
    const saved = (await sb.job(pauseId)).doneBytes;
    expect((await sb.job(pauseId)).state).toBe('paused');
    const restartAt = server.now();
    expect((await sb.run(['run'], { timeoutMs: 30_000 })).exitCode).toBe(0);
    expect((await sb.job(keepId)).state).toBe('completed');
    expect((await sb.job(pauseId)).state).toBe('paused');
    expect(server.bytesServed('/i2.bin', restartAt)).toBe(0);

    await sb.ok(['resume', String(pauseId)]);
    expect((await sb.run(['run'], { timeoutMs: 30_000 })).exitCode).toBe(0);
    expect(server.bytesServed('/i2.bin', restartAt)).toBe(size - saved);
    for (const s of specs) expect(await fileSha256(join(sb.dir, s.path.slice(1)))).toBe(s.body.sha256Hex());
  }, 60_000);
});
