/**
 * Scenario 10: the job DB at scale. How `ddm status` and one download cost with N jobs in the
 * DB (issue #11: status of 10,000 jobs ≤ 150 ms median with start-up; engine CPU with 10,000
 * idle jobs within 1.5× of an empty DB).
 *
 * Fills a DDM_HOME with N jobs (paused with 4 stored segments each, every tenth completed),
 * then measures the median wall time of `ddm status --json` and `ddm status` over `runs` runs
 * (start-up included, the output read through a pipe), and the CPU and peak RSS of one
 * `ddm get` of a throttled 32 MiB file with those N idle jobs in the DB against an empty DB.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer } from '@ddm/core/testing';
import { openDb, reposFor } from '@ddm/db';
import { runMeasured } from './measure.ts';

const MiB = 1024 * 1024;
export const STATUS_GOAL_MS = 150;
export const ENGINE_CPU_GOAL_RATIO = 1.5;

export interface StatusScaleOptions {
  ddm: string[];
  scratchDir: string;
  jobs: number;
  runs: number;
  log: (line: string) => void;
}

export interface StatusScaleResult {
  statusJsonMs: number;
  statusTableMs: number;
  emptyStatusJsonMs: number;
  emptyCpuSeconds: number;
  fullCpuSeconds: number;
  /** One line per measurement and one per goal, for the report. */
  lines: string[];
}

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

async function timeStatus(ddm: string[], home: string, args: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const proc = Bun.spawn([...ddm, ...args], {
      env: { ...process.env, DDM_HOME: home },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    await new Response(proc.stdout).arrayBuffer();
    if ((await proc.exited) !== 0)
      throw new Error(`ddm ${args.join(' ')} failed: ${await new Response(proc.stderr).text()}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function runStatusScaleScenario(options: StatusScaleOptions): Promise<StatusScaleResult> {
  const { ddm, jobs: jobCount, runs, log } = options;
  log(`\nScenario 10: the job DB at scale (${jobCount} jobs)`);
  const root = mkdtempSync(join(options.scratchDir, 'status-scale-'));
  const lines: string[] = [];
  const say = (line: string) => {
    log(`  ${line}`);
    lines.push(line);
  };
  try {
    const full = join(root, 'full');
    const empty = join(root, 'empty');
    const dir = join(root, 'downloads');
    for (const d of [full, empty, dir]) mkdirSync(d, { recursive: true });
    fill(full, dir, jobCount);
    fill(empty, dir, 0);

    const statusJsonMs = await timeStatus(ddm, full, ['status', '--json'], runs);
    const statusTableMs = await timeStatus(ddm, full, ['status'], runs);
    const emptyStatusJsonMs = await timeStatus(ddm, empty, ['status', '--json'], runs);
    say(`status --json, ${jobCount} jobs: ${statusJsonMs.toFixed(0)} ms median of ${runs} (start-up included)`);
    say(`status, ${jobCount} jobs: ${statusTableMs.toFixed(0)} ms median of ${runs}`);
    say(`status --json, empty DB: ${emptyStatusJsonMs.toFixed(0)} ms median of ${runs} (start-up alone)`);

    await using server = await startTestServer({
      files: [{ path: '/one.bin', body: new Uint8Array(32 * MiB), knobs: { throttleBytesPerSec: 4 * MiB } }],
    });
    const cpu: Record<string, number> = {};
    for (const [name, home] of [
      ['empty DB', empty],
      [`${jobCount} idle jobs`, full],
    ] as const) {
      const m = await runMeasured(
        [...ddm, 'get', server.url('/one.bin'), '-d', dir, '-o', `one-${name}.bin`, '-x', '2', '-q'],
        { env: { ...process.env, DDM_HOME: home }, scratchDir: root },
      );
      if (m.exitCode !== 0) throw new Error(`ddm get failed (${name}): ${m.stderrTail}`);
      cpu[name] = m.userSeconds + m.systemSeconds;
      say(
        `get 32 MiB, 2 connections at 4 MiB/s each, ${name}: ${m.seconds.toFixed(2)} s wall, ${(m.userSeconds + m.systemSeconds).toFixed(2)} s CPU, ${(m.maxRssBytes / MiB).toFixed(0)} MiB RSS`,
      );
    }
    const emptyCpuSeconds = cpu['empty DB'] as number;
    const fullCpuSeconds = cpu[`${jobCount} idle jobs`] as number;
    const ratio = fullCpuSeconds / emptyCpuSeconds;
    say(
      `goal status --json ≤ ${STATUS_GOAL_MS} ms: ${statusJsonMs <= STATUS_GOAL_MS ? 'met' : 'missed'} (${statusJsonMs.toFixed(0)} ms)`,
    );
    say(
      `goal engine CPU with ${jobCount} idle jobs ≤ ${ENGINE_CPU_GOAL_RATIO}× an empty DB: ${ratio <= ENGINE_CPU_GOAL_RATIO ? 'met' : 'missed'} (${ratio.toFixed(2)}×)`,
    );
    return { statusJsonMs, statusTableMs, emptyStatusJsonMs, emptyCpuSeconds, fullCpuSeconds, lines };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
