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

/** One plain progress line (a log, a pipe): bytes, %, rate, ETA when known, connections. */
export function progressLine(job: JobSnapshot): string {
  const size = job.sizeBytes === null ? '?' : formatBytes(job.sizeBytes);
  return [
    `#${job.id} ${job.fileName}`,
    `${formatBytes(job.doneBytes)}/${size}`,
    percent(job),
    formatRate(job.rateBytesPerSec),
    job.etaSec === null ? '' : `ETA ${formatDuration(job.etaSec)}`,
    connectionsPart(job, 0),
    job.state === 'downloading' ? '' : job.state,
  ]
    .filter(Boolean)
    .join('  ');
}

/**
 * Why the job runs on one connection, from its `why` ("single connection: the server does not
 * support Range requests" becomes "server does not support Range requests"), or null when it
 * does not say so.
 */
export function singleConnectionReason(job: Pick<JobSnapshot, 'why'>): string | null {
  const clause = job.why
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('single connection'));
  if (!clause) return null;
  return clause.replace(/^single connection:\s*/, '').replace(/^the server /, 'server ');
}

/** `8/8 conn`, or `1 conn (<why>)` with the why cut to `reasonWidth` columns (0: none). */
function connectionsPart(job: JobSnapshot, reasonWidth: number): string {
  const reason = singleConnectionReason(job);
  if (reason === null) return `${job.connections}/${job.maxConnections} conn`;
  if (reasonWidth < 8) return '1 conn';
  return `1 conn (${truncateToWidth(reason, reasonWidth)})`;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Terminal columns of `text` (wide CJK and emoji count 2). */
export function textWidth(text: string): number {
  return Bun.stringWidth(text);
}

/**
 * `text` cut to at most `width` terminal columns, ending in `…` when cut; never splits a
 * grapheme (an emoji, a letter with its accents) or a wide character.
 */
export function truncateToWidth(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return '';
  let used = 0;
  let kept = '';
  for (const { segment } of segmenter.segment(text)) {
    const w = textWidth(segment);
    if (used + w > width - 1) break;
    kept += segment;
    used += w;
  }
  return `${kept}…`;
}

/** A file name cut to `width` columns in the middle, keeping a short extension: `ubuntu-24.04-des….iso`. */
export function truncateName(name: string, width: number): string {
  if (textWidth(name) <= width) return name;
  const ext = /\.[A-Za-z0-9]{1,5}$/.exec(name)?.[0] ?? '';
  if (ext && width >= ext.length + 4) {
    return `${truncateToWidth(name.slice(0, -ext.length), width - ext.length)}${ext}`;
  }
  return truncateToWidth(name, width);
}

/** The name keeps at least this many columns until everything else that may go has gone. */
const NAME_MIN_COLUMNS = 12;

/**
 * The live (TTY) progress line of one job in at most `columns - 1` columns (the last column
 * would wrap on some terminals). The name is cut first, then the one-connection reason, then
 * the byte counts and the connection count; the id, percentage, rate, ETA and state always
 * stay (they take about 40 columns, so any width from 60 fits them whole).
 */
export function fitProgressLine(job: JobSnapshot, columns: number): string {
  const max = Math.max(1, columns - 1);
  const size = job.sizeBytes === null ? '?' : formatBytes(job.sizeBytes);
  const fixed = {
    id: `#${job.id}`,
    bytes: `${formatBytes(job.doneBytes)}/${size}`,
    percent: percent(job),
    rate: formatRate(job.rateBytesPerSec),
    eta: `ETA ${formatDuration(job.etaSec)}`,
    state: job.state === 'downloading' ? '' : job.state,
  };
  const reason = singleConnectionReason(job);
  const build = (nameWidth: number, reasonWidth: number, hasBytes: boolean, hasConn: boolean) => {
    const head = nameWidth > 0 ? `${fixed.id} ${truncateName(job.fileName, nameWidth)}` : fixed.id;
    return [
      head,
      hasBytes ? fixed.bytes : '',
      fixed.percent,
      fixed.rate,
      fixed.eta,
      hasConn ? connectionsPart(job, reasonWidth) : '',
      fixed.state,
    ]
      .filter(Boolean)
      .join('  ');
  };
  const nameFull = textWidth(job.fileName);
  const reasonFull = reason === null ? 0 : textWidth(reason);
  const nameMin = Math.min(nameFull, NAME_MIN_COLUMNS);
  const fitName = (reasonWidth: number, hasBytes: boolean, hasConn: boolean): string | null => {
    const room = max - textWidth(build(0, reasonWidth, hasBytes, hasConn)) - 1;
    return room >= nameMin ? build(Math.min(nameFull, room), reasonWidth, hasBytes, hasConn) : null;
  };
  // The whole reason with the name cut; else the reason cut to what is left beside the shortest name.
  const whole = fitName(reasonFull, true, true);
  if (whole !== null) return whole;
  if (reason !== null) {
    const reasonRoom = max - textWidth(build(nameMin, 0, true, true)) - ' ()'.length;
    if (reasonRoom >= 8) return build(nameMin, reasonRoom, true, true);
  }
  // Then the byte counts go, then the connection count.
  for (const [hasBytes, hasConn] of [
    [true, true],
    [false, true],
    [false, false],
  ] as const) {
    const line = fitName(0, hasBytes, hasConn);
    if (line !== null) return line;
  }
  const bare = textWidth(build(0, 0, false, false));
  const room = max - bare - 1;
  if (room >= 2) return build(room, 0, false, false);
  return truncateToWidth(build(0, 0, false, false), max);
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
    `  Conns      ${job.connections} open, up to ${job.maxConnections}; ${job.segmentCount} segment(s)`,
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
    segments: job.segmentCount,
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

/** What the progress printer needs from its surroundings (the real ones by default; tests pass their own). */
export interface ProgressPrinterOptions {
  /** Least time between two plain (non-TTY) lines, and before the first. @default 3000 */
  intervalMs?: number;
  now?: () => number;
  write?: (text: string) => void;
  /** Terminal width. @default process.stderr.columns, else 100 */
  columns?: () => number;
}

/**
 * Prints snapshot progress: one live line on a TTY (fit to the width by {@link fitProgressLine}),
 * a plain line every `intervalMs` otherwise. Plain lines go to a log or a pipe and stay there:
 * the first comes only after `intervalMs` (a download that ends sooner prints its outcome
 * alone), and only while bytes flow (never a `0 B/s` line: a download that fails early, a bad
 * URL, a refused port or a 404, prints its outcome alone too).
 */
export function createProgressPrinter(out: Output, options: ProgressPrinterOptions = {}) {
  const intervalMs = options.intervalMs ?? 3000;
  const now = options.now ?? Date.now;
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const columns = options.columns ?? (() => process.stderr.columns || 100);
  let lastPlain = now();
  let lastWidth = 0;
  return {
    update(jobs: readonly JobSnapshot[]): void {
      if (out.isQuiet || out.isJson) return;
      const active = jobs.filter((j) => ['probing', 'downloading', 'verifying'].includes(j.state));
      if (active.length === 0) return;
      if (out.isTty) {
        const cols = columns();
        const text =
          active.length === 1
            ? fitProgressLine(active[0] as JobSnapshot, cols)
            : truncateToWidth(summaryLine(active), cols - 1);
        const width = textWidth(text);
        write(`\r${text}${' '.repeat(Math.max(0, lastWidth - width))}`);
        lastWidth = width;
        return;
      }
      const flowing = active.filter((j) => j.rateBytesPerSec > 0);
      if (flowing.length === 0 || now() - lastPlain < intervalMs) return;
      lastPlain = now();
      write(`${flowing.length === 1 ? progressLine(flowing[0] as JobSnapshot) : summaryLine(flowing)}\n`);
    },
    done(): void {
      if (out.isTty && lastWidth > 0) write(`\r${' '.repeat(lastWidth)}\r`);
      lastWidth = 0;
    },
  };
}

function summaryLine(jobs: readonly JobSnapshot[]): string {
  const rate = jobs.reduce((s, j) => s + j.rateBytesPerSec, 0);
  const conns = jobs.reduce((s, j) => s + j.connections, 0);
  return `${jobs.length} jobs  ${formatRate(rate)}  ${conns} conn  ${jobs.map((j) => `#${j.id} ${percent(j)}`).join(' ')}`;
}

/** What one foreground run saw of a job, for its summary line. */
export interface JobRunStats {
  /** From when this process started (or first saw) the job to its end. */
  elapsedMs: number;
  /** Bytes this run fetched (less than the size when it continued a checkpoint). */
  fetchedBytes: number;
  /** Most connections seen open at once. */
  connectionsUsed: number;
}

/** `3.2s` below 10 s, else `formatDuration` (`42s`, `3m05s`). */
function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms / 1000);
}

/**
 * The one line on stderr when a download ends, as wget and aria2 print one:
 * `big.iso: 64.0 MiB in 3.2s, 20.0 MiB/s average, 8 connections, sha256 verified`.
 * `verifiedAlgo` names the checksum that was checked, null when none was.
 */
export function doneLine(job: JobSnapshot, stats: JobRunStats, verifiedAlgo: string | null): string {
  const size = formatBytes(job.sizeBytes ?? job.doneBytes);
  const continued =
    stats.fetchedBytes < (job.sizeBytes ?? job.doneBytes)
      ? ` (continued; ${formatBytes(stats.fetchedBytes)} fetched)`
      : '';
  const rate = stats.elapsedMs > 0 ? formatRate((stats.fetchedBytes * 1000) / stats.elapsedMs) : '--';
  const conns = `${stats.connectionsUsed} connection${stats.connectionsUsed === 1 ? '' : 's'}`;
  const reason = stats.connectionsUsed === 1 ? singleConnectionReason(job) : null;
  return [
    `${job.fileName}: ${size}${continued} in ${formatElapsed(stats.elapsedMs)}`,
    `${rate} average`,
    reason === null ? conns : `${conns} (${reason})`,
    verifiedAlgo === null ? '' : `${verifiedAlgo} verified`,
  ]
    .filter(Boolean)
    .join(', ');
}
