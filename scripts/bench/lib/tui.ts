/**
 * Scenario 5, TUI overhead: the same download through an engine started by `ddm tui` (in a
 * tmux pane of its own tmux server) and by a headless `ddm run --watch`. Both engines are
 * started first and idle; the clock runs from `ddm add` to the finished file, and the
 * engine process's CPU and peak RSS come from /usr/bin/time around it.
 *
 * The job DB is created before the engine starts: the first open of a fresh DDM_HOME migrates
 * it, and a `status --json` poll migrating at the same moment as the engine made one of them
 * fail (ERR_DB_OPEN, "table jobs already exists"). When that hit the engine, `ddm tui` exited,
 * its tmux pane closed, and the scenario waited 60 s for an engine that was gone. Now an engine
 * that exits before it runs fails the run at once with its exit status and stderr.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFile } from './data.ts';
import { hashFile } from './data.ts';
import { hasGnuTime, median, parseTimeOutput, runMeasured, TIME_BIN } from './measure.ts';
import { MiB, type Table } from './report.ts';
import { firstLine, which } from './system.ts';
import { cleanEnv } from './tools.ts';

export type TuiMode = 'headless' | 'tui';

export interface TuiRun {
  mode: TuiMode;
  /** From `ddm add` to the finished file. */
  seconds: number;
  /** The engine process over its whole life (idle start included); null without /usr/bin/time. */
  cpuSeconds: number | null;
  maxRssBytes: number | null;
  failure: string | null;
}

export interface TuiResult {
  setup: string[];
  sizeBytes: number;
  runs: TuiRun[];
}

/** null when scenario 5 can run, else why not. */
export function tuiAvailability(ddm: string[]): string | null {
  if (!which('tmux')) return 'tmux is not installed (apt-get install -y tmux)';
  const help = Bun.spawnSync([...ddm, '--help'], { stdout: 'pipe', stderr: 'pipe' }).stdout.toString();
  if (!/^\s+tui\b/m.test(help)) return '`ddm tui` does not exist in this build';
  if (!hasGnuTime())
    return '/usr/bin/time is missing (apt-get install -y time): the engine CPU inside tmux cannot be measured';
  return null;
}

interface Options {
  ddm: string[];
  scratchDir: string;
  runsDir: string;
  url: string;
  file: DataFile;
  connections: number;
  runs: number;
  beforeRun: () => void;
  log: (text: string) => void;
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function engineRunning(ddm: string[], home: string): Promise<boolean> {
  const proc = Bun.spawn([...ddm, 'status', '--json'], {
    env: cleanEnv({ DDM_HOME: home }),
    stdout: 'pipe',
    stderr: 'ignore',
    stdin: 'ignore',
  });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  try {
    return (JSON.parse(text) as { engineRunning?: boolean }).engineRunning === true;
  } catch {
    return false;
  }
}

/**
 * Creates and migrates the job DB of `home` before any engine starts, so the engine and the
 * `status --json` polls never race to migrate a fresh DB.
 */
function createDb(ddm: string[], home: string): void {
  const result = Bun.spawnSync([...ddm, 'status', '--json'], {
    env: cleanEnv({ DDM_HOME: home }),
    stdout: 'ignore',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  if (result.exitCode !== 0)
    throw new Error(`ddm status (creating the job DB) failed: ${result.stderr.toString().trim()}`);
}

/** Children of a process, from /proc (GNU time forks ddm as its only child). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function oneRun(options: Options, mode: TuiMode, runId: string): Promise<TuiRun> {
  const { ddm, scratchDir, file } = options;
  const home = join(scratchDir, `tui-home-${runId}`);
  const outDir = join(options.runsDir, `s5-${mode}-${runId}`);
  const timeFile = join(scratchDir, `tui-time-${runId}.txt`);
  const stderrFile = join(scratchDir, `tui-stderr-${runId}.txt`);
  mkdirSync(outDir, { recursive: true });
  const socket = `ddm-bench-${process.pid}-${runId}`;
  const engineArgs = mode === 'tui' ? ['tui'] : ['run', '--watch', '-q'];
  const timed = [TIME_BIN, '-o', timeFile, '-f', '%e %M %U %S', ...ddm, ...engineArgs];
  let headless: ReturnType<typeof Bun.spawn> | null = null;
  /** GNU time writes its file when the engine process ends; null while it runs. */
  const engineEnded = (): string | null => {
    if (mode === 'headless') return headless?.exitCode == null ? null : `exit status ${headless.exitCode}`;
    const text = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim() : '';
    return text === '' ? null : (text.split('\n').find((line) => line.startsWith('Command ')) ?? 'exit status 0');
  };
  const stderrTail = (): string =>
    existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
  try {
    createDb(ddm, home);
    if (mode === 'tui') {
      const env = `env -u CI DDM_HOME=${sh(home)} NO_COLOR= TERM=xterm-256color`;
      const r = Bun.spawnSync(
        [
          'tmux',
          '-L',
          socket,
          'new-session',
          '-d',
          '-s',
          'bench',
          '-x',
          '160',
          '-y',
          '48',
          `${env} ${timed.map(sh).join(' ')} 2>${sh(stderrFile)}`,
        ],
        { stdout: 'pipe', stderr: 'pipe' },
      );
      if (r.exitCode !== 0) throw new Error(`tmux failed: ${r.stderr.toString().trim()}`);
    } else {
      headless = Bun.spawn(timed, {
        env: cleanEnv({ DDM_HOME: home }),
        stdin: 'ignore',
        stdout: 'ignore',
        stderr: Bun.file(stderrFile),
      });
    }
    try {
      await waitFor(
        'the engine to start',
        async () => {
          const ended = engineEnded();
          if (ended !== null) {
            throw new Error(
              `ddm ${engineArgs[0]} ended before its engine ran (${ended}): ${stderrTail() || 'no stderr'}`,
            );
          }
          return engineRunning(ddm, home);
        },
        60_000,
      );
    } catch (error) {
      const pane =
        mode === 'tui'
          ? Bun.spawnSync(['tmux', '-L', socket, 'capture-pane', '-p', '-t', 'bench'], {
              stdout: 'pipe',
              stderr: 'pipe',
            })
              .stdout.toString()
              .trim()
              .split('\n')
              .slice(-3)
              .join(' | ')
          : '';
      throw new Error(`${error instanceof Error ? error.message : String(error)}${pane ? ` (pane: ${pane})` : ''}`);
    }
    options.beforeRun();
    const startedAt = performance.now();
    const added = await runMeasured(
      [...ddm, 'add', options.url, '-x', String(options.connections), '-d', outDir, '-q'],
      { env: cleanEnv({ DDM_HOME: home }), scratchDir },
    );
    if (added.exitCode !== 0) throw new Error(`ddm add failed: ${added.stderrTail}`);
    const target = join(outDir, file.name);
    await waitFor('the download', () => existsSync(target) && !existsSync(`${target}.part`), 600_000);
    const seconds = (performance.now() - startedAt) / 1000;
    if (mode === 'tui') {
      Bun.spawnSync(['tmux', '-L', socket, 'send-keys', '-t', 'bench', 'q']);
    } else if (headless?.pid !== undefined) {
      // GNU time ignores SIGINT while it waits; the engine is its child.
      for (const pid of childPids(headless.pid)) process.kill(pid, 'SIGINT');
    }
    await waitFor(
      'the engine to exit',
      () => existsSync(timeFile) && readFileSync(timeFile, 'utf8').trim() !== '',
      15_000,
    );
    const usage = parseTimeOutput(readFileSync(timeFile, 'utf8'));
    const got = hashFile(target);
    return {
      mode,
      seconds,
      cpuSeconds: usage ? usage.userSeconds + usage.systemSeconds : null,
      maxRssBytes: usage?.maxRssBytes ?? null,
      failure: got === file.sha256 ? null : 'SHA-256 mismatch',
    };
  } catch (error) {
    return {
      mode,
      seconds: Number.NaN,
      cpuSeconds: null,
      maxRssBytes: null,
      failure: error instanceof Error ? error.message : String(error),
    };
  } finally {
    if (mode === 'tui') Bun.spawnSync(['tmux', '-L', socket, 'kill-server'], { stdout: 'ignore', stderr: 'ignore' });
    if (headless && headless.exitCode === null) {
      headless.kill('SIGKILL');
      await headless.exited;
    }
    for (const p of [home, outDir, timeFile, stderrFile]) rmSync(p, { recursive: true, force: true });
    Bun.spawnSync(['sync']);
  }
}

export async function runTuiScenario(options: Options): Promise<TuiResult> {
  options.log(
    `\nScenario 5: TUI overhead (${(options.file.sizeBytes / MiB).toFixed(0)} MiB, capped server, ${options.connections} connections)`,
  );
  const runs: TuiRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    for (const mode of ['headless', 'tui'] as const) {
      const run = await oneRun(options, mode, `${i}-${mode}`);
      runs.push(run);
      options.log(
        `  ${`${mode} run ${i + 1}/${options.runs}`.padEnd(28)} ${run.seconds.toFixed(2).padStart(7)} s  ` +
          `${run.cpuSeconds === null ? '-' : run.cpuSeconds.toFixed(2)} s CPU  ${run.failure ? `FAIL ${run.failure}` : 'OK'}`,
      );
    }
  }
  return {
    setup: [
      `${(options.file.sizeBytes / MiB).toFixed(0)} MiB from the capped test server (8 MiB/s per connection), ddm add -c ${options.connections}`,
      `headless: \`ddm run --watch -q\`; tui: \`ddm tui\` in a 160x48 tmux pane (${firstLine(['tmux', '-V']) ?? 'tmux'}); both started idle, then \`ddm add\``,
      'seconds: from `ddm add` to the finished file; CPU and peak RSS: the engine process over its whole life (GNU time)',
    ],
    sizeBytes: options.file.sizeBytes,
    runs,
  };
}

export function tuiTable(result: TuiResult): Table {
  const modes: TuiMode[] = ['headless', 'tui'];
  const stats = modes.map((mode) => {
    const runs = result.runs.filter((r) => r.mode === mode);
    const ok = runs.filter((r) => r.failure === null);
    const cpu = ok.map((r) => r.cpuSeconds).filter((c): c is number => c !== null);
    const rss = ok.map((r) => r.maxRssBytes).filter((c): c is number => c !== null);
    return {
      mode,
      seconds: median(ok.map((r) => r.seconds)),
      cpu: cpu.length > 0 ? median(cpu) : Number.NaN,
      rss: rss.length > 0 ? median(rss) / MiB : Number.NaN,
      failure: runs.find((r) => r.failure !== null)?.failure ?? null,
    };
  });
  const base = stats[0];
  const fixed = (n: number, d: number) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  return {
    headers: [
      'mode',
      'seconds',
      'MiB/s',
      'engine CPU s',
      'peak RSS MiB',
      'time vs headless',
      'CPU vs headless',
      'check',
    ],
    rows: stats.map((s) => [
      s.mode,
      fixed(s.seconds, 2),
      fixed(result.sizeBytes / MiB / s.seconds, 1),
      fixed(s.cpu, 2),
      fixed(s.rss, 0),
      base ? fixed(s.seconds / base.seconds, 2) : '-',
      base ? fixed(s.cpu / base.cpu, 2) : '-',
      s.failure ? `FAIL (${s.failure})` : 'OK',
    ]),
  };
}
