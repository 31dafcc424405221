import {
  BENCH_TOLERANCE,
  type BenchReport,
  type BenchRow,
  buildRequestContext,
  DdmError,
  DEFAULT_BENCH_MAX_CONNECTIONS,
  DEFAULT_BENCH_SAMPLE_BYTES,
  formatBytes,
  measureConnections,
} from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

const MiB = 1024 * 1024;

/** `ddm bench <url> [--max 16]`: measure 1..N connections against the host and remember the best. */
export async function benchCommand(
  ctx: Context,
  out: Output,
  url: string,
  flags: { max?: string | number },
): Promise<ExitCode> {
  const limit = ctx.settings.maxConnectionsPerJob;
  const max = flags.max === undefined ? Math.min(DEFAULT_BENCH_MAX_CONNECTIONS, limit) : Number(flags.max);
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw new DdmError(`--max must be a whole number from 1 to ${limit} (the per-job connection limit): ${flags.max}`, {
      code: 'ERR_USAGE',
    });
  }
  // What the engine would send for a job without extra headers: user agent, proxy, netrc.
  const context = buildRequestContext(ctx.requestEnvironment());
  const aborter = new AbortController();
  const onSigint = () => aborter.abort(new DdmError('Benchmark interrupted', { code: 'ERR_CANCELED' }));
  process.once('SIGINT', onSigint);
  let report: BenchReport;
  try {
    if (!out.isJson) {
      out.note(`Fetching the first ${formatBytes(DEFAULT_BENCH_SAMPLE_BYTES)} (or less) with 1..${max} connections`);
      out.line(BENCH_HEADER);
    }
    report = await measureConnections({
      url: String(url),
      context,
      maxConnections: max,
      signal: aborter.signal,
      onRow: (row) => {
        if (!out.isJson) out.line(benchRowLine(row));
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  ctx.store.recordHostBenchmark({
    host: report.host,
    bestConnections: report.bestConnections,
    results: report.results.map((r) => ({ connections: r.connections, bytesPerSec: r.bytesPerSec })),
    measuredAt: Date.now(),
  });
  if (out.isJson) {
    out.json(report);
    return EXIT.ok;
  }
  out.data(
    `${report.host}: ${report.bestConnections} connection(s) (the fewest within ${BENCH_TOLERANCE * 100}% of the top rate; ` +
      `sample ${formatBytes(report.sampleBytes)}); new jobs to this host use it unless -c is given`,
  );
  return EXIT.ok;
}

const BENCH_HEADER = `${'CONNECTIONS'.padStart(11)}  ${'SECONDS'.padStart(8)}  ${'MiB/s'.padStart(9)}`;

/** One table row: connections, seconds, MiB/s, right-aligned under BENCH_HEADER. */
export function benchRowLine(row: BenchRow): string {
  return `${String(row.connections).padStart(11)}  ${row.seconds.toFixed(3).padStart(8)}  ${(row.bytesPerSec / MiB).toFixed(1).padStart(9)}`;
}
