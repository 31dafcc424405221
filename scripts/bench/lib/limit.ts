/**
 * Scenario 6: the speed limit. The same file from nginx with a limit of LIMIT per download,
 * for ddm (`--limit`), aria2c (`--max-download-limit`) and curl (`--limit-rate`); the achieved
 * rate over the whole download against the limit.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFile } from './data.ts';
import { runMeasured } from './measure.ts';
import { ARIA2_COMMON, cleanEnv } from './tools.ts';

const MiB = 1024 * 1024;

export interface LimitOptions {
  ddm: string[];
  scratchDir: string;
  runsDir: string;
  url: string;
  file: DataFile;
  limitMiBPerSec: number;
  log: (line: string) => void;
}

/** Returns one line per tool for the report. */
export async function runLimitScenario(options: LimitOptions): Promise<string[]> {
  const { file, url, limitMiBPerSec: limit } = options;
  options.log(`\nScenario 6: speed limit ${limit} MiB/s, ${(file.sizeBytes / MiB).toFixed(0)} MiB from nginx`);
  const lines: string[] = [];
  const tools: [string, (out: string, home: string) => string[]][] = [
    ['ddm', (out) => [...options.ddm, 'get', url, '-x', '8', '--limit', `${limit}M`, '-d', out, '-q']],
    [
      'aria2c',
      (out) => [
        'aria2c',
        '-x8',
        '-s8',
        '-k1M',
        `--max-download-limit=${limit}M`,
        ...ARIA2_COMMON,
        '-d',
        out,
        '-o',
        file.name,
        url,
      ],
    ],
    ['curl', (out) => ['curl', '-s', '--limit-rate', `${limit}M`, '-o', join(out, file.name), url]],
  ];
  for (const [tool, argv] of tools) {
    const out = join(options.runsDir, `s6-${tool}`);
    const home = join(options.scratchDir, `home-s6-${tool}`);
    mkdirSync(out, { recursive: true });
    const m = await runMeasured(argv(out, home), { scratchDir: options.scratchDir, env: cleanEnv({ DDM_HOME: home }) });
    const rate = file.sizeBytes / MiB / m.seconds;
    const line =
      m.exitCode === 0
        ? `${tool}: ${m.seconds.toFixed(2)} s, ${rate.toFixed(2)} MiB/s = ${((rate / limit) * 100).toFixed(1)}% of the ${limit} MiB/s limit`
        : `${tool}: FAIL (exit ${m.exitCode})`;
    options.log(`  ${line}`);
    lines.push(
      `Scenario 6 (speed limit ${limit} MiB/s, ${(file.sizeBytes / MiB).toFixed(0)} MiB, 8 connections, 1 run): ${line}`,
    );
    rmSync(out, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
  return lines;
}
