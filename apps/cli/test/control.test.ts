/**
 * Steering an engine from other processes: pause, resume, cancel and remove go through the
 * shared DB to the running engine (or, with none running, change what the next run sees). The
 * server says whether traffic really stopped; the files say whether only the job's own went.
 */

import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { fileSha256, MiB, Sandbox, type StatusJob, wallToPerformanceMs } from './helpers.ts';

describe('ddm pause/resume/cancel/remove against a running engine', () => {
  test('pause stops the job at the server within 1 s and resume finishes it from the checkpoint', async () => {
    const size = 32 * MiB;
    const body = generatedBody(size, 41);
    await using server = await startTestServer({
      files: [{ path: '/big.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    await using sb = new Sandbox();
    const id = await sb.add(server.url('/big.bin'), '-x', '4');
    await sb.startEngine();
    await waitFor(() => server.bytesServed('/big.bin') >= 4 * MiB, {
      timeoutMs: 15_000,
      what: 'the download to be under way',
    });

    const spawnedAt = server.now();
    expect((await sb.run(['pause', String(id)])).exitCode).toBe(0);
    const returnedAt = server.now();
    // The 1 s runs from when the command reached the DB, not from when `ddm pause` started.
    const sent = sb.commandTimes('pause', id);
    const pauseAt = sent ? wallToPerformanceMs(sent.createdAt) : spawnedAt;
    expect(pauseAt).toBeGreaterThanOrEqual(spawnedAt - 5);
    expect(pauseAt).toBeLessThanOrEqual(returnedAt + 5);
    const atPause = await sb.job(id);
    expect(atPause.state).toBe('paused');
    expect(atPause.doneBytes).toBeGreaterThan(0);
    expect(atPause.doneBytes).toBeLessThan(size);
    await waitFor(() => server.openConnectionsFor('/big.bin') === 0, {
      timeoutMs: 2000,
      what: 'the connections of the paused job to close',
    });
    const lastByteAt = Math.max(...server.requests.map((r) => r.endedAt ?? Number.POSITIVE_INFINITY));
    expect(lastByteAt - pauseAt).toBeLessThan(1000);
    // An observation window: the job stays paused for 2 s after the 1 s grace period.
    await waitFor(() => server.now() >= pauseAt + 3000, { timeoutMs: 5000, intervalMs: 50 });

    const resumeAt = server.now();
    await sb.ok(['resume', String(id)]);
    const waited = await sb.run(['wait', String(id)], { timeoutMs: 40_000 });
    expect(waited.exitCode).toBe(0);

    expect(server.bytesServed('/big.bin', pauseAt + 1000, resumeAt)).toBe(0);
    expect(await fileSha256(join(sb.dir, 'big.bin'))).toBe(body.sha256Hex());
    // The pause checkpointed every byte it had, and resume asked only for the rest.
    expect(server.bytesServed('/big.bin', resumeAt)).toBe(size - atPause.doneBytes);
  }, 60_000);

  test('commands sent by several processes at once are all applied', async () => {
    const specs = [1, 2, 3, 4].map((n) => ({
      path: `/c${n}.bin`,
      body: generatedBody(64 * MiB, 50 + n),
      knobs: { throttleBytesPerSec: 1 * MiB },
    }));
    await using server = await startTestServer({ files: specs });
    await using sb = new Sandbox();
    const ids: number[] = [];
    for (const s of specs) ids.push(await sb.add(server.url(s.path), '-x', '2'));
    await sb.startEngine(['--watch', '--jobs', '4']);
    await waitFor(() => specs.every((s) => server.bytesServed(s.path) > 0), {
      timeoutMs: 15_000,
      what: 'all four downloads to start',
    });
    // A command committed while the engine applies another (a pause waits for its run to
    // stop) must not be lost: a lost one leaves its sender waiting until it gives up (exit 6).
    for (let round = 0; round < 2; round++) {
      for (const kind of ['pause', 'resume']) {
        const startedAt = performance.now();
        const sent = await Promise.all(ids.map((id) => sb.run([kind, String(id)], { timeoutMs: 15_000 })));
        expect(sent.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
        // Each is applied within a poll interval or two; a lost one waits for someone else's commit.
        expect(performance.now() - startedAt).toBeLessThan(8000);
      }
    }
    const states = (await sb.status()).jobs.map((j) => j.state);
    expect(states.every((s) => s === 'queued' || s === 'probing' || s === 'downloading')).toBe(true);
  }, 60_000);

  test('cancel keeps the .part; remove --delete-files deletes only the files of that job', async () => {
    const bigBody = generatedBody(16 * MiB, 42);
    const smallBody = generatedBody(256 * 1024, 43);
    await using server = await startTestServer({
      files: [
        { path: '/big.bin', body: bigBody, knobs: { throttleBytesPerSec: 1 * MiB } },
        { path: '/small.bin', body: smallBody },
      ],
    });
    await using sb = new Sandbox();
    // Files that are not ddm's: one with the name the next job wants, one unrelated.
    writeFileSync(join(sb.dir, 'small.bin'), 'mine, not a download');
    writeFileSync(join(sb.dir, 'notes.txt'), 'unrelated');
    const bigId = await sb.add(server.url('/big.bin'), '-x', '2');
    const smallId = await sb.add(server.url('/small.bin'));
    await sb.startEngine();
    expect((await sb.run(['wait', String(smallId)])).exitCode).toBe(0);
    const small = await sb.job(smallId);
    expect(small.path).toBe(join(sb.dir, 'small (1).bin'));
    await waitFor(() => server.bytesServed('/big.bin') >= 512 * 1024, { what: 'the big download to be under way' });

    const cancelAt = server.now();
    await sb.ok(['cancel', String(bigId)]);
    const canceled = await sb.job(bigId);
    expect(canceled.state).toBe('canceled');
    expect(canceled.doneBytes).toBeGreaterThan(0);
    await waitFor(() => server.openConnectionsFor('/big.bin') === 0, {
      timeoutMs: 2000,
      what: 'the connections of the canceled job to close',
    });
    expect(server.bytesServed('/big.bin', cancelAt + 1000)).toBe(0);
    expect(existsSync(join(sb.dir, 'big.bin.part'))).toBe(true);

    await sb.ok(['remove', String(bigId), '--delete-files']);
    expect(existsSync(join(sb.dir, 'big.bin.part'))).toBe(false);
    await sb.ok(['remove', String(smallId)]);
    expect((await sb.status()).jobs).toEqual([]);
    // Removing without --delete-files keeps the finished file; nothing else was touched.
    expect(readdirSync(sb.dir).sort()).toEqual(['notes.txt', 'small (1).bin', 'small.bin']);
    expect(await Bun.file(join(sb.dir, 'small.bin')).text()).toBe('mine, not a download');
    expect(await fileSha256(join(sb.dir, 'small (1).bin'))).toBe(smallBody.sha256Hex());
  }, 60_000);

  test('remove --delete-files of a finished job deletes its file and nothing else', async () => {
    const body = generatedBody(128 * 1024, 44);
    await using server = await startTestServer({ files: [{ path: '/a.bin', body }] });
    await using sb = new Sandbox();
    writeFileSync(join(sb.dir, 'a.bin'), 'pre-existing');
    const id = await sb.add(server.url('/a.bin'));
    expect((await sb.run(['run'])).exitCode).toBe(0);
    expect(await fileSha256(join(sb.dir, 'a (1).bin'))).toBe(body.sha256Hex());
    await sb.ok(['remove', String(id), '--delete-files']);
    expect(readdirSync(sb.dir)).toEqual(['a.bin']);
    expect(await Bun.file(join(sb.dir, 'a.bin')).text()).toBe('pre-existing');
  }, 30_000);
});

describe('with no engine running', () => {
  test('pause, resume and cancel change the state the next run sees', async () => {
    const body = generatedBody(256 * 1024, 45);
    await using server = await startTestServer({
      files: [
        { path: '/p.bin', body },
        { path: '/c.bin', body },
      ],
    });
    await using sb = new Sandbox();
    const pausedId = await sb.add(server.url('/p.bin'));
    const canceledId = await sb.add(server.url('/c.bin'));
    const pause = await sb.ok(['pause', String(pausedId)]);
    expect(pause.stdout).toContain('no engine running');
    await sb.ok(['cancel', String(canceledId)]);
    expect((await sb.job(pausedId)).state).toBe('paused');
    expect((await sb.job(canceledId)).state).toBe('canceled');

    expect((await sb.run(['run'])).exitCode).toBe(0);
    expect(server.countRequests('/p.bin')).toBe(0);
    expect(server.countRequests('/c.bin')).toBe(0);
    expect((await sb.job(pausedId)).state).toBe('paused');

    await sb.ok(['resume', '--all']);
    expect((await sb.job(pausedId)).state).toBe('queued');
    // --all resumes paused jobs only; a canceled one needs its id.
    expect((await sb.job(canceledId)).state).toBe('canceled');
    await sb.ok(['resume', String(canceledId)]);
    expect((await sb.run(['run'])).exitCode).toBe(0);
    const jobs = (await sb.status()).jobs;
    expect(jobs.map((j) => j.state)).toEqual(['completed', 'completed']);
    // --all skips jobs that have ended.
    expect((await sb.ok(['pause', '--all'])).stdout).toBe('');
    expect(await fileSha256(join(sb.dir, 'p.bin'))).toBe(body.sha256Hex());
    expect(await fileSha256(join(sb.dir, 'c.bin'))).toBe(body.sha256Hex());
  }, 30_000);
});

describe('scripting', () => {
  test('status --json gives state, bytes, rate, connections, ETA and error; wait exits with the outcome', async () => {
    const okBody = generatedBody(64 * 1024, 46);
    const slowBody = generatedBody(16 * MiB, 47);
    await using server = await startTestServer({
      files: [
        { path: '/ok.bin', body: okBody },
        { path: '/slow.bin', body: slowBody, knobs: { throttleBytesPerSec: 1 * MiB } },
      ],
    });
    await using sb = new Sandbox();
    const okId = await sb.add(server.url('/ok.bin'));
    const missingId = await sb.add(server.url('/missing.bin'));
    const slowId = await sb.add(server.url('/slow.bin'), '-x', '2');

    // No engine: a queued job cannot end, so wait says so instead of blocking.
    const stranded = await sb.run(['wait', String(okId)]);
    expect(stranded.exitCode).not.toBe(0);
    expect(stranded.stderr).toContain('ddm run');

    await sb.startEngine();
    expect((await sb.run(['wait', String(okId)])).exitCode).toBe(0);
    const failed = await sb.run(['wait', String(missingId)]);
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain('HTTP 404');
    expect((await sb.run(['wait', String(okId), String(missingId)])).exitCode).toBe(3);

    const status = await sb.waitForStatus(
      (s) => s.jobs.some((j) => j.id === slowId && j.connections > 0 && j.rateBytesPerSec > 0),
      'the slow job to report its rate',
    );
    expect(status.engineRunning).toBe(true);
    const byId = new Map(status.jobs.map((j) => [j.id, j]));
    const slow = byId.get(slowId) as StatusJob;
    expect(slow).toMatchObject({
      state: 'downloading',
      url: server.url('/slow.bin'),
      path: join(sb.dir, 'slow.bin'),
      sizeBytes: 16 * MiB,
      maxConnections: 2,
      limitBytesPerSec: null,
      priority: 0,
      error: null,
    });
    expect(slow.doneBytes).toBeGreaterThan(0);
    expect(slow.connections).toBeGreaterThanOrEqual(1);
    expect(slow.connections).toBeLessThanOrEqual(2);
    expect(slow.etaSec).toBeGreaterThan(0);
    expect(byId.get(okId)).toMatchObject({ state: 'completed', doneBytes: 64 * 1024, error: null });
    expect(byId.get(missingId)).toMatchObject({
      state: 'failed',
      error: { code: 'ERR_HTTP_STATUS', message: expect.stringContaining('404') },
    });
    for (const job of status.jobs) {
      expect(Object.keys(job).sort()).toEqual(
        [
          'id',
          'state',
          'url',
          'path',
          'sizeBytes',
          'doneBytes',
          'rateBytesPerSec',
          'etaSec',
          'connections',
          'maxConnections',
          'limitBytesPerSec',
          'priority',
          'segments',
          'mirrors',
          'why',
          'error',
        ].sort(),
      );
    }

    // wait blocks while the job runs and ends (non-zero) when another process cancels it.
    const waiter = sb.spawn(['wait', String(slowId)]);
    await sb.ok(['cancel', String(slowId)]);
    const waited = await waiter.done();
    expect(waited.exitCode).toBe(1);
    expect((await sb.job(slowId)).state).toBe('canceled');
  }, 60_000);
});

describe('pause, resume and cancel say what state the job is in', () => {
  for (const where of ['offline', 'via a running engine'] as const) {
    test(`completed, paused, queued and canceled jobs (${where})`, async () => {
      await using server = await startTestServer({ files: [{ path: '/s.bin', body: generatedBody(64 * 1024, 9) }] });
      await using sb = new Sandbox();
      const done = await sb.run(['get', server.url('/s.bin'), '-d', sb.dir]);
      expect(done.exitCode).toBe(0);
      const completedId = (await sb.status()).jobs[0]?.id as number;
      const pausedId = await sb.add('http://127.0.0.1:9/never.bin');
      await sb.ok(['pause', String(pausedId)]);
      const canceledId = await sb.add('http://127.0.0.1:9/never2.bin');
      await sb.ok(['cancel', String(canceledId)]);
      if (where === 'via a running engine') await sb.startEngine(['--watch']);

      for (const verb of ['pause', 'resume', 'cancel']) {
        const result = await sb.run([verb, String(completedId)]);
        expect(result.exitCode).toBe(2);
        expect(result.stderr).toContain(`Job ${completedId} is already complete`);
      }
      const pausedAgain = await sb.run(['pause', String(pausedId)]);
      expect(pausedAgain.exitCode).toBe(0);
      expect(pausedAgain.stdout).toContain(`Job ${pausedId} is already paused`);
      const canceledAgain = await sb.run(['cancel', String(canceledId)]);
      expect(canceledAgain.exitCode).toBe(0);
      expect(canceledAgain.stdout).toContain(`Job ${canceledId} is already canceled`);
      const pauseCanceled = await sb.run(['pause', String(canceledId)]);
      expect(pauseCanceled.exitCode).toBe(2);
      expect(pauseCanceled.stderr).toContain(`Job ${canceledId} is canceled: nothing to pause`);
      if (where === 'offline') {
        await sb.ok(['resume', String(pausedId)]);
        const resumedAgain = await sb.run(['resume', String(pausedId)]);
        expect(resumedAgain.exitCode).toBe(0);
        expect(resumedAgain.stdout).toContain(`Job ${pausedId} is already queued`);
      }
      const states = new Map((await sb.status()).jobs.map((j) => [j.id, j.state]));
      expect(states.get(completedId)).toBe('completed');
      expect(states.get(canceledId)).toBe('canceled');
    }, 60_000);
  }
});
