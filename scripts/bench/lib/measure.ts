/**
 * Runs one command and measures it: wall seconds (our own clock around the process), peak RSS
 * and CPU seconds (`/usr/bin/time -f '%e %M %U %S'` when present, else the child's
 * `resourceUsage()` from Bun.spawn).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Measurement {
  seconds: number;
  maxRssBytes: number;
  userSeconds: number;
  systemSeconds: number;
  exitCode: number;
  /** The tail of stderr, for a failure message. */
  stderrTail: string;
  /** ddm only: seconds in the `downloading` state, from its event log (no start-up, probe or final sync). */
  transferSeconds?: number;
}

export const TIME_BIN = '/usr/bin/time';

export function hasGnuTime(): boolean {
  return existsSync(TIME_BIN);
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Scratch dir for /usr/bin/time's output file. */
  scratchDir: string;
  /** Killed (SIGKILL) after this long; counts as a failure. @default 600_000 */
  timeoutMs?: number;
}

/** `%e %M %U %S` as GNU time writes it (after an optional "Command exited with non-zero status" line). */
export function parseTimeOutput(
  text: string,
): { maxRssBytes: number; userSeconds: number; systemSeconds: number } | null {
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => /^[\d.]+ \d+ [\d.]+ [\d.]+$/.test(l.trim()));
  if (!line) return null;
  const [, rssKiB, user, system] = line.trim().split(' ').map(Number);
  return { maxRssBytes: (rssKiB ?? 0) * 1024, userSeconds: user ?? 0, systemSeconds: system ?? 0 };
}

export async function runMeasured(cmd: string[], options: RunOptions): Promise<Measurement> {
  const useTime = hasGnuTime();
  const timeFile = join(options.scratchDir, `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const argv = useTime ? [TIME_BIN, '-o', timeFile, '-f', '%e %M %U %S', ...cmd] : cmd;
  const startedAt = performance.now();
  const proc = Bun.spawn(argv, {
    env: options.env,
    cwd: options.cwd,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const [stderr, exitCode] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  const seconds = (performance.now() - startedAt) / 1000;
  clearTimeout(timer);
  let usage = { maxRssBytes: 0, userSeconds: 0, systemSeconds: 0 };
  if (useTime) {
    usage = parseTimeOutput(existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '') ?? usage;
    rmSync(timeFile, { force: true });
  } else {
    const ru = proc.resourceUsage();
    if (ru) {
      usage = {
        maxRssBytes: ru.maxRSS,
        userSeconds: Number(ru.cpuTime.user) / 1e6,
        systemSeconds: Number(ru.cpuTime.system) / 1e6,
      };
    }
  }
  return { seconds, ...usage, exitCode, stderrTail: stderr.trim().split('\n').slice(-5).join('\n') };
}

/** Several processes that together are one download (ddm add + ddm run): times and CPU add up, RSS is the peak. */
export function combine(parts: Measurement[]): Measurement {
  const failed = parts.find((p) => p.exitCode !== 0);
  return {
    seconds: parts.reduce((s, p) => s + p.seconds, 0),
    maxRssBytes: Math.max(0, ...parts.map((p) => p.maxRssBytes)),
    userSeconds: parts.reduce((s, p) => s + p.userSeconds, 0),
    systemSeconds: parts.reduce((s, p) => s + p.systemSeconds, 0),
    exitCode: failed?.exitCode ?? 0,
    stderrTail: failed?.stderrTail ?? '',
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
