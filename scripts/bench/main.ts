#!/usr/bin/env bun
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestServer, type TestServer } from '@ddm/core/testing';
import { type BenchArgs, parseBenchArgs, USAGE } from './lib/args.ts';
import { type DataFile, hashFile, writeDataFile } from './lib/data.ts';
import { leanRows, leanTable } from './lib/lean.ts';
/**
 * `bun run bench`: ddm against aria2c and curl on the same files, on this machine.
 *
 * Generates files into a temp dir (never the repo), serves them from nginx and from the
 * per-connection throttling test server of @ddm/core/testing, downloads them with each tool,
 * checks every download's SHA-256, and prints (and writes to docs/BENCHMARKS.md) medians of
 * time, rate, peak RSS and CPU time. Installs nothing; see `bun run bench --help`.
 */
import { runLimitScenario } from './lib/limit.ts';
import { hasGnuTime, type Measurement } from './lib/measure.ts';
import { type Nginx, startNginx } from './lib/nginx.ts';
import {
  evaluateTargets,
  GiB,
  MiB,
  markdownTable,
  type RowResult,
  type ScenarioResult,
  scenarioTable,
  type TargetResult,
  targetLines,
  textTable,
} from './lib/report.ts';
import { runStartupScenario, type StartupResult, startupTable } from './lib/startup.ts';
import { runStatusScaleScenario } from './lib/status-scale.ts';
import { firstLine, type MachineInfo, machineInfo, which } from './lib/system.ts';
import { describeMany, describeSingle, downloadMany, downloadOne, type Tool, type ToolEnv } from './lib/tools.ts';
import { runTuiScenario, type TuiResult, tuiAvailability, tuiTable } from './lib/tui.ts';
import { runMirrorsScenario } from './mirrors.ts';

const REPO = resolve(import.meta.dir, '..', '..');
const DIST_DDM = join(REPO, 'dist', 'ddm');
const DOC = join(REPO, 'docs', 'BENCHMARKS.md');
const KEEP_MARKER = '<!-- Everything below this line is kept by `bun run bench` when it rewrites this file. -->';
const REQUIRED = [
  { bin: 'aria2c', pkg: 'aria2' },
  { bin: 'nginx', pkg: 'nginx' },
  { bin: 'curl', pkg: 'curl' },
];
const CAP_BYTES_PER_SEC = 8 * MiB;
const SLOW_BYTES_PER_SEC = 1 * MiB;
const PARALLEL_JOBS = 8;

interface Plan {
  bigBytes: number;
  /** The large file of scenario 9 (peak RSS flat in file size). */
  hugeBytes: number;
  cappedBytes: number;
  smallFiles: number;
  runs: number;
  scenarios: number[];
}

function planFor(args: BenchArgs): Plan {
  return {
    bigBytes: (args.sizeMiB ?? (args.isQuick ? 256 : 1024)) * MiB,
    hugeBytes: (args.bigSizeMiB ?? (args.isQuick ? 512 : 4096)) * MiB,
    cappedBytes: args.isQuick ? 64 * MiB : 256 * MiB,
    smallFiles: args.isQuick ? 50 : 200,
    runs: args.runs,
    scenarios: args.scenarios.length > 0 ? args.scenarios : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  };
}

const log = (text: string) => process.stdout.write(`${text}\n`);

/** The argv that runs ddm: dist/ddm, built first when missing; else the sources, said loudly. */
function resolveDdm(args: BenchArgs, notes: string[]): string[] {
  if (args.ddmPath !== null) {
    const path = resolve(args.ddmPath);
    if (!existsSync(path)) throw new Error(`--ddm: no such file: ${path}`);
    notes.push(`ddm was the executable given with --ddm (${path}), not dist/ddm.`);
    return [path];
  }
  if (existsSync(DIST_DDM)) return [DIST_DDM];
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const build = pkg.scripts?.build;
  const buildFile = build?.match(/bun (\S+\.ts)/)?.[1];
  if (build && (!buildFile || existsSync(join(REPO, buildFile)))) {
    log(`dist/ddm is missing: running \`bun run build\` (${build})`);
    const r = Bun.spawnSync(['bun', 'run', 'build'], { cwd: REPO, stdout: 'inherit', stderr: 'inherit' });
    if (r.exitCode === 0 && existsSync(DIST_DDM)) return [DIST_DDM];
    const why = `\`bun run build\` failed (exit ${r.exitCode}) or made no dist/ddm`;
    log(`${why}: falling back to \`bun apps/cli/src/main.ts\``);
    notes.push(
      `${why}; ddm ran from source (\`bun apps/cli/src/main.ts\`), which adds its start-up time to every run.`,
    );
    return ['bun', join(REPO, 'apps', 'cli', 'src', 'main.ts')];
  }
  const why = `no build script yet (${buildFile ?? 'scripts.build'} is missing), so no dist/ddm`;
  log(`${why}: running ddm from source with \`bun apps/cli/src/main.ts\``);
  notes.push(
    `${why}; ddm ran from source (\`bun apps/cli/src/main.ts\`), which adds its transpile and start-up time to every run.`,
  );
  return ['bun', join(REPO, 'apps', 'cli', 'src', 'main.ts')];
}

interface Ctx {
  plan: Plan;
  env: ToolEnv;
  root: string;
  runsDir: string;
  counter: number;
}

function nextRunId(ctx: Ctx): string {
  ctx.counter++;
  return String(ctx.counter).padStart(4, '0');
}

/** Deletes a run's output and flushes, so the next run does not pay for this one's writeback. */
function cleanRun(...paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
  Bun.spawnSync(['sync']);
}

/** Other work on the machine skews wall times: the 1-minute load average around a scenario says how much. */
function loadNote(before: number): string {
  const after = loadavg()[0] ?? 0;
  return `1-minute load average ${before.toFixed(1)} before, ${after.toFixed(1)} after (on ${availableParallelism()} CPUs; above that, other processes competed for the CPUs).`;
}

function failureOf(m: Measurement): string | null {
  if (m.exitCode === 0) return null;
  const tail = m.stderrTail.split('\n').pop()?.slice(0, 120) ?? '';
  return `exit ${m.exitCode}${tail ? `: ${tail}` : ''}`;
}

function progress(label: string, m: Measurement, bytes: number, failure: string | null): void {
  const rate = bytes / MiB / m.seconds;
  log(
    `  ${label.padEnd(28)} ${m.seconds.toFixed(2).padStart(7)} s ${rate.toFixed(1).padStart(8)} MiB/s ` +
      `${(m.maxRssBytes / MiB).toFixed(0).padStart(5)} MiB RSS ${(m.userSeconds + m.systemSeconds).toFixed(2).padStart(6)} s CPU  ${failure ? `FAIL ${failure}` : 'OK'}`,
  );
}

/** One file, each count, each tool; runs interleaved so drift hits every tool alike. */
async function runSingleScenario(
  ctx: Ctx,
  options: {
    id: number;
    title: string;
    setup: string[];
    file: DataFile;
    url: string;
    counts: number[];
    curlAt: number[];
    /** Tools beside ddm at every count. @default ['aria2c'] */
    others?: Tool[];
    /** Also run `curl && sync FILE`, the durable equivalent of what ddm does. */
    isCurlSynced?: boolean;
    ideal: (connections: number) => number | null;
    beforeRun?: () => void;
    notes: string[];
  },
): Promise<ScenarioResult> {
  const { file, url } = options;
  log(`\nScenario ${options.id}: ${options.title}`);
  const loadBefore = loadavg()[0] ?? 0;
  const rows: RowResult[] = [];
  for (const n of options.counts) {
    const curls: Tool[] = options.curlAt.includes(n)
      ? ['curl', ...(options.isCurlSynced ? (['curl-sync'] as const) : [])]
      : [];
    const tools: Tool[] = ['ddm', ...(options.others ?? ['aria2c']), ...curls];
    const byTool = new Map<Tool, RowResult>();
    for (const tool of tools) {
      const row: RowResult = {
        tool,
        connections: n,
        runs: [],
        failures: [],
        bytes: file.sizeBytes,
        files: 1,
        idealSeconds: options.ideal(tool === 'curl' || tool === 'curl-sync' ? 1 : n),
      };
      byTool.set(tool, row);
      rows.push(row);
    }
    for (let i = 0; i < ctx.plan.runs; i++) {
      for (const tool of tools) {
        const row = byTool.get(tool) as RowResult;
        const runId = nextRunId(ctx);
        const outDir = join(ctx.runsDir, `s${options.id}-${tool}-${n}-${runId}`);
        options.beforeRun?.();
        const m = await downloadOne(tool, ctx.env, { url, name: file.name }, n, outDir, runId);
        let failure = failureOf(m);
        if (!failure) {
          const got = hashFile(join(outDir, file.name));
          if (got !== file.sha256) failure = got === null ? 'no output file' : 'SHA-256 mismatch';
        }
        row.runs.push(m);
        if (failure) row.failures.push(failure);
        progress(`${tool} c=${n} run ${i + 1}/${ctx.plan.runs}`, m, file.sizeBytes, failure);
        cleanRun(outDir, join(ctx.env.scratchDir, `home-${runId}`));
      }
    }
  }
  const result: ScenarioResult = {
    id: options.id,
    title: options.title,
    setup: options.setup,
    kind: 'single',
    rows,
    notes: [...options.notes, loadNote(loadBefore)],
  };
  log(`\n${textTable(scenarioTable(result))}`);
  for (const note of result.notes) log(`  note: ${note}`);
  return result;
}

async function runManyScenario(ctx: Ctx, files: DataFile[], origin: string): Promise<ScenarioResult> {
  const title = `${files.length} files of 1 MiB from nginx, ${PARALLEL_JOBS} at a time`;
  log(`\nScenario 4: ${title}`);
  const loadBefore = loadavg()[0] ?? 0;
  const tools: Tool[] = ['ddm', 'aria2c', 'curl'];
  const totalBytes = files.reduce((s, f) => s + f.sizeBytes, 0);
  const rows = tools.map(
    (tool): RowResult => ({
      tool,
      connections: PARALLEL_JOBS,
      runs: [],
      failures: [],
      bytes: totalBytes,
      files: files.length,
      idealSeconds: null,
    }),
  );
  const downloads = files.map((f) => ({ url: `${origin}/${f.name}`, name: f.name }));
  for (let i = 0; i < ctx.plan.runs; i++) {
    for (const row of rows) {
      const runId = nextRunId(ctx);
      const outDir = join(ctx.runsDir, `s4-${row.tool}-${runId}`);
      const m = await downloadMany(row.tool, ctx.env, downloads, PARALLEL_JOBS, outDir, runId);
      let failure = failureOf(m);
      if (!failure) {
        const bad = files.filter((f) => hashFile(join(outDir, f.name)) !== f.sha256);
        if (bad.length > 0) failure = `${bad.length} of ${files.length} files missing or wrong`;
      }
      row.runs.push(m);
      if (failure) row.failures.push(failure);
      progress(`${row.tool} jobs=${PARALLEL_JOBS} run ${i + 1}/${ctx.plan.runs}`, m, totalBytes, failure);
      cleanRun(outDir, join(ctx.env.scratchDir, `home-${runId}`));
    }
  }
  const result: ScenarioResult = {
    id: 4,
    title,
    setup: tools.map((t) => `${t}: \`${describeMany(t, PARALLEL_JOBS)}\``),
    kind: 'many',
    rows,
    notes: [loadNote(loadBefore)],
  };
  log(`\n${textTable(scenarioTable(result))}`);
  for (const note of result.notes) log(`  note: ${note}`);
  return result;
}

/**
 * Scenario 7: the big file with the output dir and DDM_HOME on tmpfs (/dev/shm), where
 * fdatasync costs nothing, so ddm's durable path is held against plain curl's.
 */
async function runTmpfsScenario(
  ctx: Ctx,
  file: DataFile,
  url: string,
  setupSingle: string[],
  nginxVersion: string,
): Promise<ScenarioResult> {
  const shm = '/dev/shm';
  if (!existsSync(shm)) throw new Error('scenario 7 needs /dev/shm (tmpfs)');
  const root = mkdtempSync(join(shm, 'ddm-bench-'));
  const tmpfsCtx: Ctx = {
    ...ctx,
    runsDir: join(root, 'runs'),
    env: { ...ctx.env, scratchDir: join(root, 'scratch') },
  };
  for (const d of [tmpfsCtx.runsDir, tmpfsCtx.env.scratchDir]) mkdirSync(d, { recursive: true });
  try {
    return await runSingleScenario(tmpfsCtx, {
      id: 7,
      title: `${(file.sizeBytes / MiB).toFixed(0)} MiB from nginx to tmpfs (-d and DDM_HOME under /dev/shm)`,
      setup: [
        `nginx ${nginxVersion} as in scenario 1; every tool writes to /dev/shm, ddm's DDM_HOME is there too`,
        ...setupSingle,
      ],
      file,
      url,
      counts: [1, 4, 8, 16],
      curlAt: [1],
      ideal: () => null,
      notes: ['On tmpfs fdatasync is free: ddm and plain curl both end with the file in memory.'],
    });
  } finally {
    ctx.counter = tmpfsCtx.counter;
    rmSync(root, { recursive: true, force: true });
  }
}

interface Report {
  args: BenchArgs;
  plan: Plan;
  machine: MachineInfo;
  versions: Record<string, string>;
  ddmCommand: string;
  startedAt: Date;
  elapsedSec: number;
  scenarios: ScenarioResult[];
  tui: TuiResult | null;
  startup: StartupResult | null;
  skipped: string[];
  notes: string[];
  targets: TargetResult[];
}

function commandLine(args: BenchArgs): string {
  const parts = ['bun run bench'];
  if (args.isQuick) parts.push('--quick');
  if (args.scenarios.length > 0) parts.push(`--scenario ${args.scenarios.join(',')}`);
  if (args.runs !== (args.isQuick ? 1 : 3)) parts.push(`--runs ${args.runs}`);
  if (args.sizeMiB !== null) parts.push(`--size ${args.sizeMiB}`);
  if (args.bigSizeMiB !== null) parts.push(`--big-size ${args.bigSizeMiB}`);
  if (args.startupRuns !== 20) parts.push(`--startup-runs ${args.startupRuns}`);
  if (args.ddmPath !== null) parts.push(`--ddm ${args.ddmPath}`);
  return parts.join(' ');
}

function markdown(report: Report, kept: string): string {
  const { machine, plan } = report;
  const lines: string[] = [];
  lines.push('# Benchmarks');
  lines.push('');
  lines.push(
    'Generated by `bun run bench` (scripts/bench/main.ts). ddm against aria2c and curl on the same files, ' +
      'served on loopback; every download is checked against the SHA-256 of the generated file (a wrong file is FAIL). ' +
      `Seconds, peak RSS and CPU seconds are medians of ${plan.runs} run(s); the ddm/aria2c column is ddm's time over ` +
      'aria2c\'s at the same connection count (< 1: ddm is faster). "ddm transfer s" is the time ddm\'s own event log ' +
      'shows in the downloading state (without process start, probe and the final fdatasync and rename).',
  );
  lines.push('');
  lines.push(`- Date: ${report.startedAt.toISOString()} (took ${(report.elapsedSec / 60).toFixed(1)} min)`);
  lines.push(`- Command: \`${commandLine(report.args)}\``);
  lines.push(
    `- Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${(machine.ramBytes / GiB).toFixed(1)} GiB RAM, ${machine.kernel}, ` +
      `${(machine.diskFreeBytes / GiB).toFixed(0)} GiB free on the disk of ${machine.tempDir}`,
  );
  lines.push(
    `- Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
  );
  lines.push(`- ddm ran as: \`${report.ddmCommand}\``);
  lines.push(
    `- Measured with: ${hasGnuTime() ? "`/usr/bin/time -f '%e %M %U %S'` (peak RSS, CPU); wall time from the bench's own clock around the process" : "Bun.spawn's resourceUsage() (peak RSS, CPU) and the bench's own clock"}`,
  );
  for (const t of ['ddm', 'aria2c', 'curl'] as const) lines.push(`- ${t}: \`${describeSingle(t)}\``);
  for (const note of report.notes) lines.push(`- Note: ${note}`);
  lines.push('');
  const lean = leanRows(report);
  lines.push('## Issue 14 (lean): every target in one table');
  lines.push('');
  if (lean.length === 0) lines.push('Not evaluated: the scenarios they need were not run.');
  else lines.push(markdownTable(leanTable(lean)));
  lines.push('');
  if (report.startup) {
    lines.push('## Scenario 8: start-up');
    lines.push('');
    for (const line of report.startup.setup) lines.push(`- ${line}`);
    lines.push('');
    lines.push(markdownTable(startupTable(report.startup)));
    lines.push('');
  }
  for (const s of report.scenarios) {
    lines.push(`## Scenario ${s.id}: ${s.title}`);
    lines.push('');
    for (const line of s.setup) lines.push(`- ${line}`);
    for (const note of s.notes) lines.push(`- ${note}`);
    lines.push('');
    lines.push(markdownTable(scenarioTable(s)));
    lines.push('');
  }
  if (report.tui) {
    lines.push(`## Scenario 5: TUI overhead`);
    lines.push('');
    for (const line of report.tui.setup) lines.push(`- ${line}`);
    lines.push('');
    lines.push(markdownTable(tuiTable(report.tui)));
    lines.push('');
  }
  for (const skipped of report.skipped) lines.push(`- Skipped: ${skipped}`);
  if (report.skipped.length > 0) lines.push('');
  lines.push('## Targets (issue 5)');
  lines.push('');
  if (report.targets.length === 0) lines.push('Not evaluated: the scenarios they need were not run.');
  for (const t of report.targets) {
    lines.push(`- ${t.isMet === null ? 'n/a' : t.isMet ? '**met**' : '**missed**'}: ${t.name}: ${t.detail}`);
  }
  lines.push('');
  lines.push(KEEP_MARKER);
  lines.push(kept.length > 0 ? kept : '');
  return `${lines.join('\n').trimEnd()}\n`;
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.isHelp) {
    log(USAGE);
    return 0;
  }
  const missing = REQUIRED.filter((r) => which(r.bin) === null);
  if (missing.length > 0) {
    process.stderr.write(
      `Missing ${missing.map((m) => m.bin).join(', ')}. Install the tools the benchmark compares against with:\n` +
        `  apt-get install -y aria2 nginx curl\n`,
    );
    return 1;
  }
  if (!hasGnuTime()) log('/usr/bin/time not found (apt package "time"): peak RSS and CPU come from resourceUsage()');

  const startedAt = new Date();
  const plan = planFor(args);
  const notes: string[] = [];
  const ddm = resolveDdm(args, notes);
  const root = mkdtempSync(join(tmpdir(), 'ddm-bench-'));
  const dataDir = join(root, 'bench-data');
  const runsDir = join(root, 'runs');
  const scratchDir = join(root, 'scratch');
  for (const d of [dataDir, runsDir, scratchDir]) mkdirSync(d, { recursive: true });
  // nginx workers started by root run as "nobody": they must be able to read the data dir.
  for (const d of [root, dataDir]) chmodSync(d, 0o755);
  const ctx: Ctx = { plan, env: { ddm, scratchDir }, root, runsDir, counter: 0 };

  let nginx: Nginx | null = null;
  let capped: TestServer | null = null;
  const cleanup = async () => {
    await nginx?.stop();
    await capped?.stop();
    rmSync(root, { recursive: true, force: true });
  };
  const onSigint = () => {
    log('\nInterrupted: stopping servers and deleting generated data');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);

  const machine = machineInfo(root);
  const versions: Record<string, string> = {
    ddm: firstLine([...ddm, '--version']) ?? '?',
    bun: Bun.version,
    aria2c: firstLine(['aria2c', '--version'])?.replace(/^aria2 version /, '') ?? '?',
    nginx: firstLine(['nginx', '-v'])?.replace(/^nginx version: nginx\//, '') ?? '?',
    curl: firstLine(['curl', '--version'])?.split(' ').slice(1, 3).join(' ') ?? '?',
  };
  log(`ddm bench: ${commandLine(args)}`);
  log(
    `machine: ${machine.cpus} CPUs, ${(machine.ramBytes / GiB).toFixed(1)} GiB RAM, ${machine.kernel}, ${(machine.diskFreeBytes / GiB).toFixed(0)} GiB free`,
  );
  log(
    `versions: ${Object.entries(versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
  );
  log(`data and downloads under ${root} (deleted at the end)`);

  const scenarios: ScenarioResult[] = [];
  const skipped: string[] = [];
  let tui: TuiResult | null = null;
  let startup: StartupResult | null = null;
  try {
    const wants = (n: number) => plan.scenarios.includes(n);
    const t0 = performance.now();
    const big =
      wants(1) || wants(6) || wants(7) || wants(9) ? writeDataFile(dataDir, 'big.bin', plan.bigBytes, 1) : null;
    const huge = wants(9) ? writeDataFile(dataDir, 'huge.bin', plan.hugeBytes, 3) : null;
    const cappedFile =
      wants(2) || wants(3) || wants(5) ? writeDataFile(dataDir, 'capped.bin', plan.cappedBytes, 2) : null;
    const small = wants(4)
      ? Array.from({ length: plan.smallFiles }, (_, i) =>
          writeDataFile(dataDir, `small-${String(i + 1).padStart(3, '0')}.bin`, MiB, 100 + i),
        )
      : [];
    // Write the generated files back now, so their writeback does not land in the first runs.
    Bun.spawnSync(['sync']);
    log(`generated data in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    if (wants(8)) {
      log(`\nScenario 8: start-up (${args.startupRuns} runs each)`);
      startup = runStartupScenario(ddm, scratchDir, args.startupRuns);
      log(`\n${textTable(startupTable(startup))}`);
    }

    if (big || small.length > 0) {
      nginx = await startNginx({
        prefix: join(root, 'nginx'),
        root: dataDir,
        probePath: `/${big?.name ?? small[0]?.name}`,
      });
      log(`nginx on ${nginx.origin}`);
    }
    if (cappedFile) {
      // One in-memory copy of the generated file, served by the test server of @ddm/core/testing.
      const body = new Uint8Array(readFileSync(cappedFile.path));
      capped = await startTestServer({
        files: [
          { path: '/capped.bin', body, knobs: { throttleBytesPerSec: CAP_BYTES_PER_SEC } },
          {
            path: '/slow-tail/capped.bin',
            body,
            knobs: {
              throttleBytesPerSec: CAP_BYTES_PER_SEC,
              slowRequest: { nth: 1, bytesPerSec: SLOW_BYTES_PER_SEC },
            },
          },
        ],
      });
      log(`capped test server on ${capped.origin}`);
    }
    const cap = CAP_BYTES_PER_SEC / MiB;
    const setupSingle = (['ddm', 'aria2c', 'curl'] as const).map((t) => `${t}: \`${describeSingle(t)}\``);

    if (big && nginx && wants(1)) {
      scenarios.push(
        await runSingleScenario(ctx, {
          id: 1,
          title: `${(big.sizeBytes / MiB).toFixed(0)} MiB from nginx (uncapped loopback)`,
          setup: [
            `nginx ${versions.nginx} (worker_processes auto), sendfile on, access_log off, served from the page cache`,
            ...setupSingle,
          ],
          file: big,
          url: `${nginx.origin}/${big.name}`,
          counts: [1, 4, 8, 16],
          curlAt: [1],
          isCurlSynced: true,
          ideal: () => null,
          notes: [
            'curl is single-stream: its row is at 1 connection.',
            "ddm's time includes making the file durable (fdatasync at every checkpoint and before the rename); aria2c and curl leave the data in the page cache. curl-sync (curl, then sync FILE) is the like-for-like durable row.",
          ],
        }),
      );
    }
    if (cappedFile && capped) {
      const server = capped;
      const size = cappedFile.sizeBytes;
      if (wants(2)) {
        scenarios.push(
          await runSingleScenario(ctx, {
            id: 2,
            title: `${(size / MiB).toFixed(0)} MiB, each connection capped at ${cap} MiB/s`,
            setup: [
              `@ddm/core/testing test server (node:http on Bun), throttleBytesPerSec ${cap} MiB/s per response`,
              ...setupSingle,
            ],
            file: cappedFile,
            url: server.url('/capped.bin'),
            counts: [1, 4, 8, 16],
            curlAt: [1],
            ideal: (n) => size / (n * CAP_BYTES_PER_SEC),
            beforeRun: () => server.reset({ knobCounters: true }),
            notes: ['ideal = size / (connections x cap).'],
          }),
        );
      }
      if (wants(3)) {
        const slow = SLOW_BYTES_PER_SEC / MiB;
        scenarios.push(
          await runSingleScenario(ctx, {
            id: 3,
            title: `${(size / MiB).toFixed(0)} MiB, each connection capped at ${cap} MiB/s, the first ranged request at ${slow} MiB/s (slow tail)`,
            setup: [
              `same server and file; slowRequest {nth: 1, bytesPerSec: ${slow} MiB/s}: the first GET with a Range header of each run is capped at ${slow} MiB/s (counters reset before every run)`,
              ...setupSingle,
            ],
            file: cappedFile,
            url: server.url('/slow-tail/capped.bin'),
            counts: [4, 8, 16],
            curlAt: [],
            ideal: (n) => size / ((n - 1) * CAP_BYTES_PER_SEC + SLOW_BYTES_PER_SEC),
            beforeRun: () => server.reset({ knobCounters: true }),
            notes: [
              'ideal = size / sum of the caps ((connections - 1) x cap + the slow one).',
              'No 1-connection row: with one connection the slow request is the whole download (no tail to fix, and ~256 s per run).',
              'No curl row: curl sends no Range header, so the slow request never applies; its time equals scenario 2.',
            ],
          }),
        );
      }
    }
    if (big && nginx && wants(7)) {
      scenarios.push(
        await runTmpfsScenario(ctx, big, `${nginx.origin}/${big.name}`, setupSingle, versions.nginx ?? '?'),
      );
    }
    if (big && huge && nginx && wants(9)) {
      const sizes = `${(big.sizeBytes / MiB).toFixed(0)} MiB and ${(huge.sizeBytes / MiB).toFixed(0)} MiB`;
      const rows: RowResult[] = [];
      const notes: string[] = [];
      for (const file of [big, huge]) {
        const s = await runSingleScenario(ctx, {
          id: 9,
          title: `peak RSS flat in file size: ${(file.sizeBytes / MiB).toFixed(0)} MiB from nginx, ddm at 16 connections`,
          setup: [],
          file,
          url: `${nginx.origin}/${file.name}`,
          counts: [16],
          curlAt: [],
          others: [],
          ideal: () => null,
          notes: [],
        });
        rows.push(...s.rows);
        notes.push(...s.notes);
      }
      scenarios.push({
        id: 9,
        title: `peak RSS flat in file size: ${sizes} from nginx, ddm at 16 connections`,
        setup: [`ddm: \`${describeSingle('ddm')}\`; the same nginx; one row per size`],
        kind: 'single',
        rows,
        notes,
      });
    }
    if (small.length > 0 && nginx) scenarios.push(await runManyScenario(ctx, small, nginx.origin));
    if (big && nginx && wants(6)) {
      const limitMiBPerSec = args.isQuick ? 32 : 64;
      notes.push(
        ...(await runLimitScenario({
          ddm,
          scratchDir,
          runsDir,
          url: `${nginx.origin}/${big.name}`,
          file: big,
          limitMiBPerSec,
          log,
        })),
      );
    }
    if (wants(10)) {
      const scale = await runStatusScaleScenario({
        ddm,
        scratchDir,
        jobs: 10_000,
        runs: Math.max(5, plan.runs * 3),
        log,
      });
      notes.push(...scale.lines.map((line) => `scenario 10 (job DB at scale): ${line}`));
    }
    if (wants(11)) {
      const sizeBytes = args.mirrorBytes ?? (args.isQuick ? 256 * MiB : GiB);
      const { runs } = plan;
      const common = { ddm, scratchDir, runsDir, capBytesPerSec: CAP_BYTES_PER_SEC, runs, log };
      notes.push(...(await runMirrorsScenario({ ...common, sizeBytes })));
    }
    if (wants(5)) {
      const availability = tuiAvailability(ddm);
      if (availability !== null) {
        skipped.push(`scenario 5 (TUI overhead): ${availability}`);
        log(`\nScenario 5 skipped: ${availability}`);
      } else if (cappedFile && capped) {
        tui = await runTuiScenario({
          ddm,
          scratchDir,
          runsDir,
          url: capped.url('/capped.bin'),
          file: cappedFile,
          connections: 8,
          runs: plan.runs,
          beforeRun: () => capped?.reset({ knobCounters: true }),
          log,
        });
        log(`\n${textTable(tuiTable(tui))}`);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    await cleanup();
  }

  const targets = evaluateTargets(scenarios, CAP_BYTES_PER_SEC / MiB);
  const lean = leanRows({ scenarios, startup, tui });
  if (lean.length > 0) log(`\nIssue 14 (lean), every target:\n${textTable(leanTable(lean))}`);
  log('\nTargets (issue 5):');
  for (const line of targetLines(targets)) log(`  ${line}`);
  for (const note of notes) log(`note: ${note}`);

  const report: Report = {
    args,
    plan,
    machine,
    versions,
    ddmCommand: ddm.map((p) => p.replace(`${REPO}/`, '')).join(' '),
    startedAt,
    elapsedSec: (Date.now() - startedAt.getTime()) / 1000,
    scenarios,
    tui,
    startup,
    skipped,
    notes,
    targets,
  };
  if (args.shouldWrite) {
    const existing = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
    const at = existing.indexOf(KEEP_MARKER);
    const kept = at >= 0 ? existing.slice(at + KEEP_MARKER.length).trim() : '';
    writeFileSync(DOC, markdown(report, kept));
    log(`\nwrote ${DOC.replace(`${REPO}/`, '')}`);
  }
  const anyFail = scenarios.some((s) => s.rows.some((r) => r.tool === 'ddm' && r.failures.length > 0));
  return anyFail ? 1 : 0;
}

process.exitCode = await main();
