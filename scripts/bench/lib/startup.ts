/**
 * Scenario 8, start-up: wall time of `ddm --help`, `ddm --version` and `ddm status` on an empty
 * DDM_HOME. With hyperfine on PATH: `hyperfine -N -w 3 -r RUNS` (no shell, warm-ups first) and its
 * median; without it, the same warm-ups and runs timed by our own clock around Bun.spawnSync.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './measure.ts';
import type { Table } from './report.ts';
import { which } from './system.ts';
import { cleanEnv } from './tools.ts';

export interface StartupRow {
  /** `--help`, `--version`, `status`. */
  args: string[];
  medianMs: number;
  userMs: number;
  systemMs: number;
  runs: number;
  failure: string | null;
}

export interface StartupResult {
  setup: string[];
  rows: StartupRow[];
}

const WARMUPS = 3;
export const STARTUP_CASES: string[][] = [['--help'], ['--version'], ['status']];

interface HyperfineJson {
  results: { median: number; user: number; system: number; times: number[]; exit_codes: number[] }[];
}

const quote = (s: string) => (/^[\w./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function runStartupScenario(ddm: string[], scratchDir: string, runs: number): StartupResult {
  const home = mkdtempSync(join(scratchDir, 'startup-home-'));
  const env = cleanEnv({ DDM_HOME: home });
  const useHyperfine = which('hyperfine') !== null;
  const rows: StartupRow[] = [];
  try {
    for (const args of STARTUP_CASES) {
      const argv = [...ddm, ...args];
      if (useHyperfine) {
        const jsonFile = join(scratchDir, 'startup.json');
        const r = Bun.spawnSync(
          [
            'hyperfine',
            '-N',
            '-w',
            String(WARMUPS),
            '-r',
            String(runs),
            '--export-json',
            jsonFile,
            argv.map(quote).join(' '),
          ],
          { env, stdout: 'ignore', stderr: 'pipe' },
        );
        if (r.exitCode !== 0) {
          rows.push({
            args,
            medianMs: Number.NaN,
            userMs: Number.NaN,
            systemMs: Number.NaN,
            runs,
            failure: r.stderr.toString().trim().split('\n').pop() ?? `hyperfine exit ${r.exitCode}`,
          });
          continue;
        }
        const result = (JSON.parse(readFileSync(jsonFile, 'utf8')) as HyperfineJson).results[0];
        rmSync(jsonFile, { force: true });
        rows.push({
          args,
          medianMs: (result?.median ?? Number.NaN) * 1000,
          userMs: (result?.user ?? Number.NaN) * 1000,
          systemMs: (result?.system ?? Number.NaN) * 1000,
          runs,
          failure: null,
        });
        continue;
      }
      const times: number[] = [];
      let failure: string | null = null;
      for (let i = 0; i < WARMUPS + runs; i++) {
        const t0 = performance.now();
        const r = Bun.spawnSync(argv, { env, stdout: 'ignore', stderr: 'ignore' });
        if (r.exitCode !== 0) failure = `exit ${r.exitCode}`;
        if (i >= WARMUPS) times.push(performance.now() - t0);
      }
      rows.push({ args, medianMs: median(times), userMs: Number.NaN, systemMs: Number.NaN, runs, failure });
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return {
    setup: [
      useHyperfine
        ? `\`hyperfine -N -w ${WARMUPS} -r ${runs} 'ddm ARGS'\` with DDM_HOME an empty temp dir; median wall time (user and sys are hyperfine's means)`
        : `${WARMUPS} warm-ups, then ${runs} runs timed around Bun.spawnSync (hyperfine not installed); DDM_HOME an empty temp dir`,
    ],
    rows,
  };
}

export function startupTable(result: StartupResult): Table {
  const fixed = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  return {
    headers: ['command', 'median ms', 'user ms', 'sys ms', 'runs', 'check'],
    rows: result.rows.map((r) => [
      `ddm ${r.args.join(' ')}`,
      fixed(r.medianMs),
      fixed(r.userMs),
      fixed(r.systemMs),
      String(r.runs),
      r.failure ? `FAIL (${r.failure})` : 'OK',
    ]),
  };
}
