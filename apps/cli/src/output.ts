/** All human and --json output of the CLI, in one place. */
import { formatBytes, formatDuration, formatRate, type JobSnapshot, redactText, redactUrl } from '@ddm/core';

export interface Output {
  isJson: boolean;
  isQuiet: boolean;
  isTty: boolean;
  hasColor: boolean;
  /** A result line on stdout (suppressed by --quiet unless it is the requested data). */
  line(text: string): void;
  /** Data on stdout, printed even with --quiet. */
  data(text: string): void;
  json(value: unknown): void;
  /** A note on stderr (suppressed by --quiet). */
  note(text: string): void;
  /** The one-line error on stderr. */
  error(text: string): void;
}

export function createOutput(flags: { json?: boolean; quiet?: boolean }): Output {
  const isTty = Boolean(process.stderr.isTTY);
  const hasColor = isTty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return {
    isJson: Boolean(flags.json),
    isQuiet: Boolean(flags.quiet),
    isTty,
    hasColor,
    line: (text) => {
      if (!flags.quiet) process.stdout.write(`${text}\n`);
    },
    data: (text) => process.stdout.write(`${text}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    note: (text) => {
      if (!flags.quiet) process.stderr.write(`${text}\n`);
    },
    error: (text) => process.stderr.write(`ddm: ${redactText(text)}\n`),
  };
}

/**
 * Ends stdout and stderr and resolves once every byte written to them has been handed to the
 * reader: `process.exit` drops what a pipe has not taken yet (a `| (sleep 1; cat)` or a slow
 * `| jq` got exactly 64 KiB). A closed reader (EPIPE, `| head`) ends the wait too. Call it
 * only right before exiting: nothing can be written after.
 */
export function drainOutput(): Promise<void> {
  const end = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      stream.once('error', () => resolve());
      stream.end(() => resolve());
    });
  return Promise.all([end(process.stdout), end(process.stderr)]).then(() => undefined);
}

export function percent(job: Pick<JobSnapshot, 'doneBytes' | 'sizeBytes' | 'state'>): string {
  if (job.state === 'completed') return '100%';
  if (!job.sizeBytes) return '--';
  return `${Math.min(100, (job.doneBytes / job.sizeBytes) * 100).toFixed(1)}%`;
}

/** One live progress line: bytes, %, rate, ETA, connections. */
export function progressLine(job: JobSnapshot): string {
  const size = job.sizeBytes === null ? '?' : formatBytes(job.sizeBytes);
  return [
    `#${job.id} ${job.fileName}`,
    `${formatBytes(job.doneBytes)}/${size}`,
    percent(job),
    formatRate(job.rateBytesPerSec),
    `ETA ${formatDuration(job.etaSec)}`,
    `${job.connections}/${job.maxConnections} conn`,
    job.state === 'downloading' ? '' : job.state,
  ]
    .filter(Boolean)
    .join('  ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The `ddm status` table. */
export function statusTable(jobs: readonly JobSnapshot[]): string {
  if (jobs.length === 0) return 'No jobs. Add one with: ddm add <url>';
  const header = ['ID', 'STATE', 'DONE', 'SIZE', 'RATE', 'ETA', 'CONN', 'FILE'];
  const rows = jobs.map((j) => [
    String(j.id),
    j.state,
    percent(j),
    j.sizeBytes === null ? '?' : formatBytes(j.sizeBytes),
    j.rateBytesPerSec > 0 ? formatRate(j.rateBytesPerSec) : '-',
    j.etaSec === null ? '-' : formatDuration(j.etaSec),
    `${j.connections}/${j.maxConnections}`,
    j.path,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const lines = [header, ...rows].map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] as number))).join('  '),
  );
  for (const j of jobs) {
    if (j.errorCode) lines.push(`  #${j.id} ${j.errorCode}: ${redactText(j.errorMessage ?? '')}`);
  }
  return lines.join('\n');
}

/** `ddm status <id>`: everything about one job, including why. */
export function jobDetail(
  job: JobSnapshot,
  events: { at: number; type: string; data: Record<string, unknown> }[],
): string {
  const lines = [
    `Job #${job.id}: ${job.state}`,
    `  URL        ${redactUrl(job.url)}`,
    `  File       ${job.path}`,
    `  Progress   ${formatBytes(job.doneBytes)} of ${job.sizeBytes === null ? 'unknown size' : formatBytes(job.sizeBytes)} (${percent(job)})`,
    `  Rate       ${formatRate(job.rateBytesPerSec)}, ETA ${formatDuration(job.etaSec)}`,
    `  Conns      ${job.connections} open, up to ${job.maxConnections}; ${job.segments.length} segment(s)`,
    `  Limit      ${job.limitBytesPerSec === null ? 'none' : formatRate(job.limitBytesPerSec)}`,
  ];
  if (job.mirrors.length > 0) {
    lines.push('  Mirrors');
    for (const m of job.mirrors) lines.push(`    ${mirrorLine(m)}`);
  }
  if (job.why) lines.push(`  Why        ${redactText(job.why)}`);
  if (job.errorCode) lines.push(`  Error      ${job.errorCode}: ${redactText(job.errorMessage ?? '')}`);
  if (events.length > 0) {
    lines.push('  Events');
    for (const e of events)
      lines.push(`    ${new Date(e.at).toISOString()}  ${redactText(describeEvent(e.type, e.data))}`);
  }
  return lines.join('\n');
}

/** One mirror of `ddm status <id>`: its rate and bytes while usable, its why once dropped. */
export function mirrorLine(m: JobSnapshot['mirrors'][number]): string {
  const url = redactUrl(m.url);
  // The why names the mirror already: "mirror <url> dropped: <reason>".
  if (m.state === 'dropped') return m.why ? redactText(m.why) : `dropped  ${url}`;
  return `${m.state.padEnd(8)} ${url}  ${formatRate(m.rateBytesPerSec)}, ${formatBytes(m.bytes)} this run`;
}

export function describeEvent(type: string, data: Record<string, unknown>): string {
  switch (type) {
    case 'job-state':
      return `${data.from} -> ${data.to}${data.reason ? ` (${data.reason})` : ''}`;
    case 'segment-split':
      return `split segment #${data.from} at byte ${data.atByte} into #${data.to}`;
    case 'segment-retry':
      return `segment #${data.index} retry ${data.attempt} in ${data.delayMs} ms: ${data.code} ${data.message}`;
    case 'segments-planned':
      return `planned ${data.count} segment(s)`;
    case 'job-restarted':
      return `restarted from zero: ${data.reason}`;
    case 'job-why':
      return String(data.why);
    case 'limit-changed':
      return `limit ${data.bytesPerSec === null ? 'off' : formatRate(Number(data.bytesPerSec))}`;
    case 'connections-changed':
      return `connections set to ${data.connections}`;
    case 'job-added':
      return `added ${data.url}`;
    default:
      return type;
  }
}

/** JSON shape of a job for `status --json` (secrets are never part of a snapshot). */
export function jobJson(job: JobSnapshot) {
  return {
    id: job.id,
    state: job.state,
    url: redactUrl(job.url),
    path: job.path,
    sizeBytes: job.sizeBytes,
    doneBytes: job.doneBytes,
    rateBytesPerSec: Math.round(job.rateBytesPerSec),
    etaSec: job.etaSec === null ? null : Math.round(job.etaSec),
    connections: job.connections,
    maxConnections: job.maxConnections,
    limitBytesPerSec: job.limitBytesPerSec,
    priority: job.priority,
    segments: job.segments.length,
    mirrors: job.mirrors.map((m) => ({
      url: redactUrl(m.url),
      state: m.state,
      rateBytesPerSec: Math.round(m.rateBytesPerSec),
      bytes: m.bytes,
      why: m.why ? redactText(m.why) : null,
    })),
    why: job.why ? redactText(job.why) : null,
    error: job.errorCode ? { code: job.errorCode, message: redactText(job.errorMessage ?? '') } : null,
  };
}

/**
 * Prints snapshot progress: one live line on a TTY, a plain line every few seconds otherwise.
 * Plain lines go to a log or a pipe and stay there: the first comes only after `intervalMs`, and
 * only once bytes flow, so a download that fails early (bad URL, refused port, 404) or ends
 * quickly prints its outcome alone.
 */
export function createProgressPrinter(out: Output, intervalMs = 3000) {
  let lastPlain = Date.now();
  let lastWidth = 0;
  return {
    update(jobs: readonly JobSnapshot[]): void {
      if (out.isQuiet || out.isJson) return;
      const active = jobs.filter((j) => ['probing', 'downloading', 'verifying'].includes(j.state));
      if (active.length === 0) return;
      const text = active.length === 1 ? progressLine(active[0] as JobSnapshot) : summaryLine(active);
      if (!out.isTty && !active.some((j) => j.doneBytes > 0)) return;
      if (out.isTty) {
        const cols = process.stderr.columns || 100;
        const clipped = text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text;
        process.stderr.write(`\r${clipped}${' '.repeat(Math.max(0, lastWidth - clipped.length))}`);
        lastWidth = clipped.length;
      } else if (Date.now() - lastPlain >= intervalMs) {
        lastPlain = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
    done(): void {
      if (out.isTty && lastWidth > 0) process.stderr.write(`\r${' '.repeat(lastWidth)}\r`);
      lastWidth = 0;
    },
  };
}

function summaryLine(jobs: readonly JobSnapshot[]): string {
  const rate = jobs.reduce((s, j) => s + j.rateBytesPerSec, 0);
  const conns = jobs.reduce((s, j) => s + j.connections, 0);
  return `${jobs.length} jobs  ${formatRate(rate)}  ${conns} conn  ${jobs.map((j) => `#${j.id} ${percent(j)}`).join(' ')}`;
}
