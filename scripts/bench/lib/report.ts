/** Results, their derived figures, and the tables (terminal and Markdown). */
import type { Measurement } from './measure.ts';
import { median } from './measure.ts';
import type { Tool } from './tools.ts';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface RowResult {
  tool: Tool;
  /** Connections per download (scenarios 1-3) or jobs at once (scenario 4). */
  connections: number;
  runs: Measurement[];
  /** One reason per failed run: exit status, or a SHA-256 mismatch. */
  failures: string[];
  /** Bytes one run downloads. */
  bytes: number;
  files: number;
  /** Size / sum of the per-connection caps, when the server caps connections. */
  idealSeconds: number | null;
}

export interface ScenarioResult {
  id: number;
  title: string;
  /** How it was run, one line each. */
  setup: string[];
  kind: 'single' | 'many';
  rows: RowResult[];
  notes: string[];
}

export interface Derived {
  seconds: number;
  /** ddm only: median seconds in the downloading state (NaN for other tools). */
  transferSeconds: number;
  mibPerSec: number;
  filesPerSec: number;
  rssMiB: number;
  cpuSeconds: number;
  cpuSecondsPerGiB: number;
  isOk: boolean;
}

export function derive(row: RowResult): Derived {
  const seconds = median(row.runs.map((r) => r.seconds));
  const cpuSeconds = median(row.runs.map((r) => r.userSeconds + r.systemSeconds));
  const transfers = row.runs.map((r) => r.transferSeconds).filter((t): t is number => t !== undefined);
  return {
    seconds,
    transferSeconds: transfers.length > 0 ? median(transfers) : Number.NaN,
    mibPerSec: row.bytes / MiB / seconds,
    filesPerSec: row.files / seconds,
    rssMiB: median(row.runs.map((r) => r.maxRssBytes)) / MiB,
    cpuSeconds,
    cpuSecondsPerGiB: cpuSeconds / (row.bytes / GiB),
    isOk: row.failures.length === 0 && row.runs.length > 0,
  };
}

/** ddm's time over aria2c's for the same connection count (<1: ddm is faster). */
export function ratioToAria2(rows: RowResult[], row: RowResult): number | null {
  if (row.tool !== 'ddm') return null;
  const aria = rows.find((r) => r.tool === 'aria2c' && r.connections === row.connections);
  if (!aria || !derive(aria).isOk || !derive(row).isOk) return null;
  return derive(row).seconds / derive(aria).seconds;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export interface Table {
  headers: string[];
  rows: string[][];
}

export function scenarioTable(s: ScenarioResult): Table {
  const hasIdeal = s.rows.some((r) => r.idealSeconds !== null);
  const isMany = s.kind === 'many';
  const headers = [
    isMany ? 'jobs' : 'conn',
    'tool',
    'seconds',
    ...(isMany ? ['files/s'] : []),
    'MiB/s',
    ...(isMany ? [] : ['ddm transfer s']),
    ...(hasIdeal ? ['ideal s', '% of ideal rate', 'transfer % of ideal'] : []),
    'peak RSS MiB',
    'CPU s',
    ...(isMany ? [] : ['CPU s/GiB']),
    'ddm/aria2c',
    'check',
  ];
  const rows = s.rows.map((row) => {
    const d = derive(row);
    const ratio = ratioToAria2(s.rows, row);
    return [
      String(row.connections),
      row.tool,
      fixed(d.seconds, 2),
      ...(isMany ? [fixed(d.filesPerSec, 1)] : []),
      fixed(d.mibPerSec, 1),
      ...(isMany ? [] : [fixed(d.transferSeconds, 2)]),
      ...(hasIdeal
        ? [
            row.idealSeconds === null ? '-' : fixed(row.idealSeconds, 2),
            row.idealSeconds === null ? '-' : `${fixed((row.idealSeconds / d.seconds) * 100, 0)}%`,
            row.idealSeconds === null || !Number.isFinite(d.transferSeconds)
              ? '-'
              : `${fixed((row.idealSeconds / d.transferSeconds) * 100, 0)}%`,
          ]
        : []),
      fixed(d.rssMiB, 0),
      fixed(d.cpuSeconds, 2),
      ...(isMany ? [] : [fixed(d.cpuSecondsPerGiB, 2)]),
      ratio === null ? '-' : fixed(ratio, 2),
      d.isOk ? 'OK' : `FAIL (${row.failures[0] ?? 'no run'})`,
    ];
  });
  return { headers, rows };
}

/** Fixed-width text for the terminal; numbers right-aligned. */
export function textTable(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const isNumeric = (i: number) => t.rows.every((r) => /^[-\d.%]+$/.test(r[i] ?? ''));
  const cell = (text: string, i: number) =>
    isNumeric(i) ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0);
  const lines = [t.headers.map(cell).join('  '), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of t.rows) lines.push(r.map(cell).join('  ').trimEnd());
  return lines.join('\n');
}

export function markdownTable(t: Table): string {
  const isNumeric = (i: number) => t.rows.every((r) => /^[-\d.%]+$/.test(r[i] ?? ''));
  const lines = [
    `| ${t.headers.join(' | ')} |`,
    `|${t.headers.map((_, i) => (isNumeric(i) ? '---:' : '---')).join('|')}|`,
  ];
  for (const r of t.rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export interface TargetResult {
  name: string;
  isMet: boolean | null;
  detail: string;
}

/** The targets, checked against what was measured (null: not measured in this run). */
export function evaluateTargets(scenarios: ScenarioResult[], capMiBPerSec: number): TargetResult[] {
  const out: TargetResult[] = [];
  const find = (id: number) => scenarios.find((s) => s.id === id);
  const rowOf = (s: ScenarioResult | undefined, tool: Tool, n: number) =>
    s?.rows.find((r) => r.tool === tool && r.connections === n);
  const okRate = (r: RowResult | undefined) => (r && derive(r).isOk ? derive(r).mibPerSec : null);

  const s1 = find(1);
  if (s1) {
    const curl = okRate(rowOf(s1, 'curl', 1));
    for (const n of [8, 16]) {
      const ddm = okRate(rowOf(s1, 'ddm', n));
      const aria = okRate(rowOf(s1, 'aria2c', n));
      if (ddm === null || curl === null || aria === null) {
        out.push({ name: `1. nginx, ${n} connections`, isMet: false, detail: 'a tool failed or was not measured' });
        continue;
      }
      const isMet = ddm >= curl && ddm > 2 * aria;
      const curlSync = okRate(rowOf(s1, 'curl-sync', 1));
      const durable =
        curlSync === null ? '' : `; curl+sync ${curlSync.toFixed(0)} (${((ddm / curlSync) * 100).toFixed(0)}%)`;
      out.push({
        name: `1. nginx, ${n} connections: ddm >= curl and > 2x aria2c`,
        isMet,
        detail: `ddm ${ddm.toFixed(0)} MiB/s; curl ${curl.toFixed(0)} (${((ddm / curl) * 100).toFixed(0)}%)${durable}; aria2c ${aria.toFixed(0)} (ddm = ${(ddm / aria).toFixed(2)}x)`,
      });
    }
    const ddm16 = rowOf(s1, 'ddm', 16);
    if (ddm16 && derive(ddm16).isOk) {
      const rss = derive(ddm16).rssMiB;
      out.push({
        name: `5a. peak RSS <= 128 MiB (${(ddm16.bytes / GiB).toFixed(2)} GiB, 16 connections)`,
        isMet: rss <= 128,
        detail: `ddm ${rss.toFixed(0)} MiB`,
      });
    }
    for (const n of [1, 4, 8, 16]) {
      const d = rowOf(s1, 'ddm', n);
      const a = rowOf(s1, 'aria2c', n);
      if (!d || !a || !derive(d).isOk || !derive(a).isOk) continue;
      const dc = derive(d).cpuSecondsPerGiB;
      const ac = derive(a).cpuSecondsPerGiB;
      out.push({
        name: `5b. CPU s per GiB <= aria2c's (nginx, ${n} connections)`,
        isMet: dc <= ac,
        detail: `ddm ${dc.toFixed(2)}, aria2c ${ac.toFixed(2)}`,
      });
    }
  }
  const s2 = find(2);
  const ddm2 = okRate(rowOf(s2, 'ddm', 16));
  if (s2) {
    const want = 0.95 * 16 * capMiBPerSec;
    out.push({
      name: `2. capped server, 16 connections >= 95% of 16 x ${capMiBPerSec} MiB/s`,
      isMet: ddm2 === null ? false : ddm2 >= want,
      detail:
        ddm2 === null
          ? 'ddm failed or was not measured'
          : `ddm ${ddm2.toFixed(1)} MiB/s = ${((ddm2 / (16 * capMiBPerSec)) * 100).toFixed(1)}% end to end (need ${want.toFixed(1)})`,
    });
    const row16 = rowOf(s2, 'ddm', 16);
    const transfer = row16 ? derive(row16).transferSeconds : Number.NaN;
    if (row16 && Number.isFinite(transfer)) {
      const rate = row16.bytes / MiB / transfer;
      out.push({
        name: '2b. the same, download phase only (ddm event log: downloading -> verifying)',
        isMet: rate >= want,
        detail: `ddm ${rate.toFixed(1)} MiB/s = ${((rate / (16 * capMiBPerSec)) * 100).toFixed(1)}% while downloading (${transfer.toFixed(2)} s)`,
      });
    }
  }
  const s3 = find(3);
  for (const row of s3?.rows.filter((r) => r.tool === 'ddm') ?? []) {
    const d = derive(row);
    if (row.idealSeconds === null) continue;
    const ratio = d.seconds / row.idealSeconds;
    out.push({
      name: `3. slow tail, ${row.connections} connections: time <= 1.15x ideal`,
      isMet: d.isOk && ratio <= 1.15,
      detail:
        `ddm ${d.seconds.toFixed(2)} s vs ideal ${row.idealSeconds.toFixed(2)} s = ${ratio.toFixed(2)}x` +
        (Number.isFinite(d.transferSeconds)
          ? ` (download phase ${d.transferSeconds.toFixed(2)} s = ${(d.transferSeconds / row.idealSeconds).toFixed(2)}x)`
          : ''),
    });
  }
  const s4 = find(4);
  if (s4) {
    const d = s4.rows.find((r) => r.tool === 'ddm');
    const a = s4.rows.find((r) => r.tool === 'aria2c');
    if (d && a && derive(d).isOk && derive(a).isOk) {
      out.push({
        name: '4. many small files: files/s >= aria2c',
        isMet: derive(d).filesPerSec >= derive(a).filesPerSec,
        detail: `ddm ${derive(d).filesPerSec.toFixed(1)} files/s, aria2c ${derive(a).filesPerSec.toFixed(1)}`,
      });
    }
  }
  return out;
}

export function targetLines(targets: TargetResult[]): string[] {
  return targets.map((t) => `${t.isMet === null ? 'n/a ' : t.isMet ? 'MET ' : 'MISS'}  ${t.name}: ${t.detail}`);
}
