/**
 * Scenario 11: one file from two mirrors. Two servers (@ddm/core/testing, separate ports, so two
 * hosts) serve the same generated file, each connection capped at CAP; ddm gets it with
 * `--mirror`, aria2c with the two URIs on one command line (aria2's mirrors of one file). Both
 * use 16 connections in all, 8 per mirror (ddm `-x 16`, aria2c `-x16 -s16`). Reports the median time of each, the share each
 * mirror served, and the ideal (size over the sum of the caps).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import type { DataFile } from './lib/data.ts';
import { hashFile } from './lib/data.ts';
import { runMeasured } from './lib/measure.ts';
import { ARIA2_COMMON, cleanEnv } from './lib/tools.ts';

const MiB = 1024 * 1024;
const PER_MIRROR_CONNECTIONS = 8;

export interface MirrorsOptions {
  ddm: string[];
  scratchDir: string;
  runsDir: string;
  sizeBytes: number;
  /** Cap of every response (each connection) of both servers. */
  capBytesPerSec: number;
  runs: number;
  log: (line: string) => void;
}

interface Row {
  tool: 'ddm' | 'aria2c';
  seconds: number[];
  /** Share of the bytes the first mirror served, per run. */
  firstShare: number[];
  failures: string[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};

/** Runs the scenario; returns one line per tool (and the ideal) for the report's notes. */
export async function runMirrorsScenario(o: MirrorsOptions): Promise<string[]> {
  const body = generatedBody(o.sizeBytes, 7);
  const file: Pick<DataFile, 'name' | 'sha256' | 'sizeBytes'> = {
    name: 'mirrored.bin',
    sha256: body.sha256Hex(),
    sizeBytes: o.sizeBytes,
  };
  const knobs = { throttleBytesPerSec: o.capBytesPerSec };
  await using a = await startTestServer({ files: [{ path: `/${file.name}`, body, knobs }] });
  await using b = await startTestServer({ files: [{ path: `/${file.name}`, body, knobs }] });
  const urls = [a.url(`/${file.name}`), b.url(`/${file.name}`)] as const;
  const sizeMiB = (o.sizeBytes / MiB).toFixed(0);
  const cap = (o.capBytesPerSec / MiB).toFixed(0);
  const total = 2 * PER_MIRROR_CONNECTIONS;
  o.log(`\nScenario 11: ${sizeMiB} MiB from 2 mirrors, each connection capped at ${cap} MiB/s, ${total} connections`);
  const commands: Record<Row['tool'], (out: string) => string[]> = {
    ddm: (out) => [...o.ddm, 'get', urls[0], '--mirror', urls[1], '-x', String(total), '-d', out, '-q'],
    aria2c: (out) => [
      'aria2c',
      // -x8 -s16 opens only 4 per server (measured); -x16 -s16 spreads 16 as 8 + 8, like ddm.
      `-x${total}`,
      `-s${total}`,
      '-k1M',
      ...ARIA2_COMMON,
      '-d',
      out,
      '-o',
      file.name,
      ...urls,
    ],
  };
  const rows: Row[] = (['ddm', 'aria2c'] as const).map((tool) => ({ tool, seconds: [], firstShare: [], failures: [] }));
  for (let run = 1; run <= o.runs; run++) {
    for (const row of rows) {
      const out = join(o.runsDir, `s7-${row.tool}-${run}`);
      const home = join(o.scratchDir, `home-s7-${row.tool}-${run}`);
      mkdirSync(out, { recursive: true });
      a.reset();
      b.reset();
      const m = await runMeasured(commands[row.tool](out), {
        scratchDir: o.scratchDir,
        env: cleanEnv({ DDM_HOME: home }),
      });
      let failure = m.exitCode === 0 ? null : `exit ${m.exitCode}: ${m.stderrTail.split('\n').pop()?.slice(0, 120)}`;
      if (!failure && hashFile(join(out, file.name)) !== file.sha256) failure = 'missing or wrong file';
      const served = a.bytesServed() + b.bytesServed();
      const share = served > 0 ? a.bytesServed() / served : 0;
      row.seconds.push(m.seconds);
      row.firstShare.push(share);
      if (failure) row.failures.push(failure);
      o.log(
        `  ${`${row.tool} run ${run}/${o.runs}`.padEnd(20)} ${m.seconds.toFixed(2).padStart(7)} s ` +
          `${(o.sizeBytes / MiB / m.seconds).toFixed(1).padStart(7)} MiB/s  mirror 1 served ${(share * 100).toFixed(0)}%  ${failure ? `FAIL ${failure}` : 'OK'}`,
      );
      rmSync(out, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }
  const idealSeconds = o.sizeBytes / (total * o.capBytesPerSec);
  const title = `Scenario 11 (${sizeMiB} MiB from 2 mirrors, each connection capped at ${cap} MiB/s, ${total} connections, 8 per mirror, ${o.runs} run(s))`;
  const lines = rows.map((row) => {
    const seconds = median(row.seconds);
    const text = row.failures.length
      ? `FAIL (${row.failures.join('; ')})`
      : `${seconds.toFixed(2)} s, ${(o.sizeBytes / MiB / seconds).toFixed(1)} MiB/s, mirror 1 served ${(median(row.firstShare) * 100).toFixed(0)}%`;
    return `${title}: ${row.tool}: ${text}`;
  });
  const [ddm, aria2c] = rows.map((r) => median(r.seconds));
  lines.push(
    `${title}: ideal ${idealSeconds.toFixed(2)} s (size / (connections x cap)); ddm/aria2c ${((ddm as number) / (aria2c as number)).toFixed(2)}`,
  );
  for (const line of lines.slice(-1)) o.log(`  ${line}`);
  return lines;
}
