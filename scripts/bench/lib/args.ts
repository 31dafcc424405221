/** Command line of `bun run bench`. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Smaller files and one run per row. */
  isQuick: boolean;
  /** Scenarios to run; all when empty. */
  scenarios: number[];
  /** Leave docs/BENCHMARKS.md alone. */
  shouldWrite: boolean;
  /** Runs per row (median reported). @default 3, 1 with --quick */
  runs: number;
  /** A ddm executable to measure instead of dist/ddm (e.g. a scratch build of a branch). */
  ddmPath: string | null;
  /** Size of the big file (scenarios 1, 6, 7 and the small size of 9), MiB. @default 1024, 256 with --quick */
  sizeMiB: number | null;
  /** The large size of scenario 9 (peak RSS flat in file size), MiB. @default 4096, 512 with --quick */
  bigSizeMiB: number | null;
  /** Runs of each start-up command (scenario 8). @default 20 */
  startupRuns: number;
  /** Size of scenario 11's file (`--mirror-size 128M`); null: the plan's (1 GiB, 256 MiB with --quick). */
  mirrorBytes: number | null;
  isHelp: boolean;
}

export const USAGE = `bun run bench [--quick] [--scenario N[,N...]] [--runs N] [--size MiB] [--big-size MiB] [--no-write]

Scenarios (all by default; every download is checked by SHA-256):
  1  big file from nginx (uncapped loopback): ddm and aria2c at 1, 4, 8, 16 connections, curl and
     curl+sync (durable) at 1; time, MiB/s, peak RSS, CPU s and CPU s per GiB
  2  256 MiB, each connection capped at 8 MiB/s (test server): 1, 4, 8, 16 connections
  3  the same with a slow first ranged request (slow tail): 4, 8, 16 connections
  4  200 files of 1 MiB from nginx, 8 at a time
  5  TUI cost: the 256 MiB capped download with \`ddm tui\` attached vs headless (needs tmux)
  6  speed limit (64 MiB/s) on the big file, 8 connections, 1 run
  7  tmpfs: the big file from nginx with -d and DDM_HOME under /dev/shm (fdatasync is free),
     ddm and aria2c at 1, 4, 8, 16 vs plain curl
  8  start-up: ddm --help, --version and status on an empty DDM_HOME (hyperfine -N -w 3 when
     installed), median wall time
  9  peak RSS flat in file size: ddm at 16 connections on the big file and on --big-size
  10 the job DB at scale: \`ddm status\` (table and --json) and the CPU of one download with
     10,000 jobs stored (also alone: bun scripts/bench/status-scale.ts)
  11 one file from 2 mirrors (test servers), each connection capped at 8 MiB/s: ddm -x 16 with
     --mirror vs aria2c -x16 -s16 with the same two URIs

At the end, one table holds every target of issue 14 (start-up, RSS, CPU/GiB, throughput vs
curl, curl+sync and aria2c, tmpfs, TUI cost) from the scenarios that ran.

  --quick          256 MiB instead of 1 GiB, 64 MiB instead of 256 MiB, 512 MiB instead of
                   4 GiB, 50 files, 1 run
  --scenario N     run only scenario N (1-11; repeat or use a comma list)
  --runs N         runs per row, the median is reported (default 3, --quick 1)
  --size MiB       size of the big file (scenarios 1, 6, 7, 9; default 1024)
  --big-size MiB   the large size of scenario 9 (default 4096)
  --startup-runs N runs of each start-up command (default 20)
  --mirror-size S  size of scenario 11's file, e.g. 128M (default 1G, 256M with --quick)
  --no-write       print the tables but do not touch docs/BENCHMARKS.md
  --ddm PATH       measure this ddm executable instead of dist/ddm

Needs aria2c, nginx and curl (apt-get install -y aria2 nginx curl); /usr/bin/time (apt
package "time") is used when present for peak RSS and CPU time.`;

/** @throws Error with a usage message on unknown flags or bad values. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      runs: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      ddm: { type: 'string' },
      size: { type: 'string' },
      'big-size': { type: 'string' },
      'startup-runs': { type: 'string' },
      'mirror-size': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const scenarios = (values.scenario ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => Number(s.trim()))
    .filter((n, i, all) => all.indexOf(n) === i);
  for (const n of scenarios) {
    if (!Number.isInteger(n) || n < 1 || n > 11) throw new Error(`--scenario must be 1 to 11: ${n}`);
  }
  const isQuick = values.quick === true;
  const runs = values.runs === undefined ? (isQuick ? 1 : 3) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number: ${values.runs}`);
  const positive = (flag: string, value: string | undefined): number | null => {
    if (value === undefined) return null;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive whole number: ${value}`);
    return n;
  };
  return {
    isQuick,
    sizeMiB: positive('--size', values.size),
    bigSizeMiB: positive('--big-size', values['big-size']),
    startupRuns: positive('--startup-runs', values['startup-runs']) ?? 20,
    scenarios: scenarios.sort((a, b) => a - b),
    shouldWrite: values['no-write'] !== true,
    runs,
    ddmPath: values.ddm ?? null,
    mirrorBytes: values['mirror-size'] === undefined ? null : parseMirrorSize(values['mirror-size']),
    isHelp: values.help === true,
  };
}

/** `128M`, `1G`, `64MiB` or a byte count. @throws Error naming the value. */
function parseMirrorSize(text: string): number {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m?.[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G'];
  if (!m || unit === undefined || Number(m[1]) <= 0) throw new Error(`--mirror-size must be a size like 128M: ${text}`);
  return Number(m[1]) * unit;
}
