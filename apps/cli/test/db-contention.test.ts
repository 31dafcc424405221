/**
 * The job DB under load: many CLI processes write it while an engine runs. Ordinary contention
 * must never fail a command: writers take the lock up front (BEGIN IMMEDIATE), wait and retry.
 */
import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import { type DdmResult, MiB, Sandbox } from './helpers.ts';

const JOBS = 200;
const PROCESSES = 16;

describe('the job DB under contention', () => {
  test('200 ddm add from 16 parallel processes while an engine runs: 200 distinct ids, no failure', async () => {
    const body = generatedBody(MiB, 7);
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body, knobs: { throttleBytesPerSec: 4 * MiB } }],
    });
    await using sb = new Sandbox();
    // The engine downloads what is added meanwhile: checkpoints, events and state changes keep
    // it writing the DB while the adds come in.
    await sb.add(server.url('/f.bin'), '-o', 'first.bin');
    const engine = await sb.startEngine(['--watch', '--jobs', '4']);

    const results: DdmResult[] = [];
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= JOBS) return;
        results.push(
          await sb.run(['add', `${server.url('/f.bin')}?n=${i}`, '-o', `job-${i}.bin`, '-d', sb.dir, '--json'], {
            timeoutMs: 60_000,
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: PROCESSES }, worker));

    const failures = results.filter((r) => r.exitCode !== 0);
    expect(failures.map((r) => r.stderr)).toEqual([]);
    const ids = results.flatMap((r) => (JSON.parse(r.stdout) as { ids: number[] }).ids);
    expect(ids).toHaveLength(JOBS);
    expect(new Set(ids).size).toBe(JOBS);
    expect(engine.proc.exitCode).toBeNull();

    engine.proc.kill('SIGTERM');
    expect((await engine.done()).exitCode).not.toBe(1);
    const db = new Database(join(sb.home, 'ddm.db'), { readonly: true });
    try {
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
      expect((db.query('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n).toBe(JOBS + 1);
    } finally {
      db.close();
    }
  }, 240_000);
});
