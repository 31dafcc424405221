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
  /** Size of scenario 7's file (`--mirror-size 128M`); null: the plan's (1 GiB, 256 MiB with --quick). */
  mirrorBytes: number | null;
  isHelp: boolean;
}

export const USAGE = `bun run bench [--quick] [--scenario N[,N...]] [--runs N] [--no-write]

  --quick        256 MiB instead of 1 GiB, 64 MiB instead of 256 MiB, 50 files, 1 run
  --scenario N   run only scenario N (1-7; repeat or use a comma list); 7 = one file from 2 mirrors
  --mirror-size S  size of scenario 7's file, e.g. 128M (default 1G, 256M with --quick)
  --runs N       runs per row, the median is reported (default 3, --quick 1)
  --no-write     print the tables but do not touch docs/BENCHMARKS.md
  --ddm PATH     measure this ddm executable instead of dist/ddm

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
    if (!Number.isInteger(n) || n < 1 || n > 7) throw new Error(`--scenario must be 1 to 7: ${n}`);
  }
  const isQuick = values.quick === true;
  const runs = values.runs === undefined ? (isQuick ? 1 : 3) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number: ${values.runs}`);
  return {
    isQuick,
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
