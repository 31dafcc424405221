#!/usr/bin/env bun
/**
 * Scale of the job DB: how `ddm status` and one download cost with 10,000 jobs in the DB.
 *
 *   bun run build && bun scripts/bench/status-scale.ts [--ddm dist/ddm] [--jobs 10000] [--runs 10]
 *
 * Fills a temp DDM_HOME with N jobs (paused with 4 stored segments each, every tenth
 * completed), then prints the median wall time of `ddm status --json` and `ddm status` over
 * `--runs` runs (start-up included), and the CPU and peak RSS (/usr/bin/time) of one
 * `ddm get` of a throttled 32 MiB file with those N idle jobs in the DB against an empty DB.
 * Goals (issue #11): status ≤ 150 ms; engine CPU with N idle jobs within 1.5× of an empty DB.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestServer } from '@ddm/core/testing';
import { openDb, reposFor } from '@ddm/db';
import { runMeasured } from './lib/measure.ts';

const REPO = resolve(import.meta.dir, '..', '..');
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    ddm: { type: 'string', default: join(REPO, 'dist', 'ddm') },
    jobs: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '10' },
  },
});
const ddm = resolve(values.ddm as string);
const jobCount = Number(values.jobs);
const runs = Number(values.runs);

function fill(home: string, dir: string, count: number): void {
  const repos = reposFor(openDb(join(home, 'ddm.db')));
  repos.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const isDone = i % 10 === 0;
      const job = repos.jobs.insert({
        url: `http://127.0.0.1:9/files/file-${i}.bin`,
        dir,
        fileName: `file-${i}.bin`,
        connections: 4,
        state: isDone ? 'completed' : 'paused',
      });
      repos.jobs.update(job.id, { sizeBytes: 4 * MiB, isResumable: true, acceptsRanges: true });
      repos.segments.replace(
        job.id,
        [0, 1, 2, 3].map((k) => ({
          index: k,
          start: k * MiB,
          end: (k + 1) * MiB,
          writtenBytes: isDone ? MiB : k * 1000,
          splitFrom: null,
        })),
      );
    }
  })();
  repos.db.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timeStatus(home: string, args: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const proc = Bun.spawn([ddm, ...args], { env: { ...process.env, DDM_HOME: home }, stdout: 'pipe', stderr: 'pipe' });
    await new Response(proc.stdout).arrayBuffer();
    if ((await proc.exited) !== 0)
      throw new Error(`ddm ${args.join(' ')} failed: ${await new Response(proc.stderr).text()}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const root = mkdtempSync(join(tmpdir(), 'ddm-status-scale-'));
try {
  const full = join(root, 'full');
  const empty = join(root, 'empty');
  const dir = join(root, 'downloads');
  for (const d of [full, empty, dir]) mkdirSync(d, { recursive: true });
  fill(full, dir, jobCount);
  fill(empty, dir, 0);

  const json = await timeStatus(full, ['status', '--json']);
  const table = await timeStatus(full, ['status']);
  const bare = await timeStatus(empty, ['status', '--json']);
  console.log(`ddm: ${ddm}`);
  console.log(`status --json, ${jobCount} jobs: ${json.toFixed(0)} ms median of ${runs}`);
  console.log(`status,        ${jobCount} jobs: ${table.toFixed(0)} ms median of ${runs}`);
  console.log(`status --json, empty DB:   ${bare.toFixed(0)} ms median of ${runs}`);

  await using server = await startTestServer({
    files: [{ path: '/one.bin', body: new Uint8Array(32 * MiB), knobs: { throttleBytesPerSec: 4 * MiB } }],
  });
  for (const [name, home] of [
    ['empty DB', empty],
    [`${jobCount} idle jobs`, full],
  ] as const) {
    const m = await runMeasured(
      [ddm, 'get', server.url('/one.bin'), '-d', dir, '-o', `one-${name}.bin`, '-c', '2', '-q'],
      {
        env: { ...process.env, DDM_HOME: home },
        scratchDir: root,
      },
    );
    if (m.exitCode !== 0) throw new Error(`ddm get failed (${name}): ${m.stderrTail}`);
    console.log(
      `get 32 MiB, 2 connections at 4 MiB/s each, ${name}: ${m.seconds.toFixed(2)} s wall, ${(m.userSeconds + m.systemSeconds).toFixed(2)} s CPU, ${(m.maxRssBytes / MiB).toFixed(0)} MiB RSS`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
