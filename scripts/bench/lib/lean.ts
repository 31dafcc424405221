/**
 * Issue 14 ("lean") in one table: every target with ddm's figure, the reference it is held
 * against, and whether it is met. Built from the scenarios that ran; a target whose scenario
 * did not run is left out (and listed as not measured).
 */
import { derive, MiB, type RowResult, type ScenarioResult, type Table } from './report.ts';
import type { StartupResult } from './startup.ts';
import type { Tool } from './tools.ts';
import { type TuiResult, tuiTable } from './tui.ts';

export interface LeanRow {
  target: string;
  ddm: string;
  reference: string;
  /** ddm over the reference (or the figure over the limit): what the goal is checked on. */
  ratio: string;
  goal: string;
  isMet: boolean | null;
}

const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');

export interface LeanInputs {
  scenarios: ScenarioResult[];
  startup: StartupResult | null;
  tui: TuiResult | null;
}

export function leanRows({ scenarios, startup, tui }: LeanInputs): LeanRow[] {
  const out: LeanRow[] = [];
  const find = (id: number) => scenarios.find((s) => s.id === id);
  const ok = (s: ScenarioResult | undefined, tool: Tool, n: number, bytes?: number) => {
    const r = s?.rows.find(
      (row: RowResult) => row.tool === tool && row.connections === n && (bytes === undefined || row.bytes === bytes),
    );
    return r && derive(r).isOk ? derive(r) : null;
  };

  for (const row of startup?.rows ?? []) {
    out.push({
      target: `start-up: ddm ${row.args.join(' ')}${row.args[0] === 'status' ? ' (empty DB)' : ''}`,
      ddm: `${f(row.medianMs, 1)} ms`,
      reference: '40 ms',
      ratio: f(row.medianMs / 40),
      goal: '<= 1.00',
      isMet: row.failure === null ? row.medianMs <= 40 : false,
    });
  }

  const s1 = find(1);
  for (const [n, limit] of [
    [4, 80],
    [16, 100],
  ] as const) {
    const d = ok(s1, 'ddm', n);
    if (!s1) break;
    out.push({
      target: `peak RSS, nginx, ${n} connections`,
      ddm: d ? `${f(d.rssMiB, 0)} MiB` : 'FAIL',
      reference: `${limit} MiB`,
      ratio: d ? f(d.rssMiB / limit) : '-',
      goal: '<= 1.00',
      isMet: d ? d.rssMiB <= limit : false,
    });
  }
  const s9 = find(9);
  if (s9) {
    const sizes = [...new Set(s9.rows.map((r) => r.bytes))].sort((a, b) => a - b);
    const small = sizes[0];
    const big = sizes[sizes.length - 1];
    const a = small === undefined ? null : ok(s9, 'ddm', 16, small);
    const b = big === undefined ? null : ok(s9, 'ddm', 16, big);
    out.push({
      target: `peak RSS flat in size: ${f((big ?? 0) / MiB, 0)} MiB vs ${f((small ?? 0) / MiB, 0)} MiB, 16 connections`,
      ddm: b ? `${f(b.rssMiB, 0)} MiB` : 'FAIL',
      reference: a ? `${f(a.rssMiB, 0)} MiB` : 'FAIL',
      ratio: a && b ? f(b.rssMiB / a.rssMiB) : '-',
      goal: '<= 1.05',
      isMet: a && b ? b.rssMiB <= a.rssMiB * 1.05 : false,
    });
  }
  if (s1) {
    for (const n of [1, 4, 8, 16]) {
      const d = ok(s1, 'ddm', n);
      const a = ok(s1, 'aria2c', n);
      out.push({
        target: `CPU s/GiB, nginx, ${n} connection${n === 1 ? '' : 's'}, vs aria2c`,
        ddm: d ? f(d.cpuSecondsPerGiB) : 'FAIL',
        reference: a ? f(a.cpuSecondsPerGiB) : 'FAIL',
        ratio: d && a ? f(d.cpuSecondsPerGiB / a.cpuSecondsPerGiB) : '-',
        goal: '<= 1.00',
        isMet: d && a ? d.cpuSecondsPerGiB <= a.cpuSecondsPerGiB : false,
      });
    }
    const curlSync = ok(s1, 'curl-sync', 1);
    const curl = ok(s1, 'curl', 1);
    for (const n of [1, 4, 8, 16]) {
      const d = ok(s1, 'ddm', n);
      const a = ok(s1, 'aria2c', n);
      out.push({
        target: `throughput, nginx, ${n} conn: ddm vs curl+sync (durable)`,
        ddm: d ? `${f(d.mibPerSec, 0)} MiB/s` : 'FAIL',
        reference: curlSync ? `${f(curlSync.mibPerSec, 0)} MiB/s` : 'FAIL',
        ratio: d && curlSync ? f(d.mibPerSec / curlSync.mibPerSec) : '-',
        goal:
          `>= 1.00${n >= 8 ? '' : ' (not a target)'}` +
          (d && curl ? `; vs curl ${f(d.mibPerSec / curl.mibPerSec)}` : '') +
          (d && a ? `; vs aria2c ${f(d.mibPerSec / a.mibPerSec)}` : ''),
        isMet: n >= 8 ? (d && curlSync ? d.mibPerSec >= curlSync.mibPerSec : false) : null,
      });
    }
  }
  const s7 = find(7);
  if (s7) {
    const curl = ok(s7, 'curl', 1);
    for (const n of [1, 4, 8, 16]) {
      const d = ok(s7, 'ddm', n);
      const a = ok(s7, 'aria2c', n);
      if (!s7.rows.some((r) => r.tool === 'ddm' && r.connections === n)) continue;
      out.push({
        target: `throughput, tmpfs, ${n} conn: ddm vs curl`,
        ddm: d ? `${f(d.mibPerSec, 0)} MiB/s` : 'FAIL',
        reference: curl ? `${f(curl.mibPerSec, 0)} MiB/s` : 'FAIL',
        ratio: d && curl ? f(d.mibPerSec / curl.mibPerSec) : '-',
        goal: `>= 1.00${n >= 8 ? '' : ' (not a target)'}${d && a ? `; vs aria2c ${f(d.mibPerSec / a.mibPerSec)}` : ''}`,
        isMet: n >= 8 ? (d && curl ? d.mibPerSec >= curl.mibPerSec : false) : null,
      });
    }
  }
  if (tui) {
    const [headless, attached] = tuiTable(tui).rows;
    const cpu = Number(attached?.[6]);
    const time = Number(attached?.[5]);
    out.push({
      target: 'TUI attached: engine CPU vs headless',
      ddm: `${attached?.[3] ?? '-'} s`,
      reference: `${headless?.[3] ?? '-'} s`,
      ratio: f(cpu),
      goal: '<= 1.30',
      isMet: Number.isFinite(cpu) ? cpu <= 1.3 : false,
    });
    out.push({
      target: 'TUI attached: time vs headless (throughput loss)',
      ddm: `${attached?.[1] ?? '-'} s`,
      reference: `${headless?.[1] ?? '-'} s`,
      ratio: f(time),
      goal: '<= 1.05',
      isMet: Number.isFinite(time) ? time <= 1.05 : false,
    });
  }
  return out;
}

export function leanTable(rows: LeanRow[]): Table {
  return {
    headers: ['target', 'ddm', 'reference', 'ratio', 'goal', 'met'],
    rows: rows.map((r) => [
      r.target,
      r.ddm,
      r.reference,
      r.ratio,
      r.goal,
      r.isMet === null ? '-' : r.isMet ? 'yes' : 'NO',
    ]),
  };
}
