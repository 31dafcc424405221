import {
  formatBytes,
  type Har,
  type HarEntrySummary,
  harEntries,
  pickHarDownload,
  redactUrl,
  requestFromHar,
} from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { assertSecretsCanRun, describePick, pickOptions, readHarFile } from '../har-input.ts';
import { type JobFlags, jobOptions } from '../job-options.ts';
import { jobJson, type Output } from '../output.ts';
import { reportJobs } from '../report-jobs.ts';

export interface ImportHarFlags extends JobFlags {
  list?: boolean;
  pick?: string | number;
  match?: string | number;
  allowCookies?: boolean;
  rememberCookies?: boolean;
  start?: boolean;
}

function listRow(
  mark: string,
  index: string,
  score: string,
  status: string,
  method: string,
  size: string,
  type: string,
  url: string,
): string {
  return `${mark}${index.padStart(3)}  ${score.padStart(5)}  ${status.padEnd(3)}  ${method.padEnd(4)}  ${size.padStart(9)}  ${type.padEnd(24)}  ${url}`;
}

function listLine(entry: HarEntrySummary, chosen: number | null): string {
  const url = redactUrl(entry.url);
  const row = listRow(
    entry.index === chosen ? '*' : ' ',
    String(entry.index),
    String(entry.score),
    entry.status === 0 ? '-' : String(entry.status),
    entry.method,
    entry.sizeBytes === null ? '-' : formatBytes(entry.sizeBytes),
    entry.mimeType ?? '-',
    url.length > 160 ? `${url.slice(0, 159)}…` : url,
  );
  const why = entry.reasons[0];
  return why === undefined ? row : `${row}\n${' '.repeat(13)}${why}`;
}

/** `ddm import-har <file>`: pick the download in a browser's HAR export and queue it with its request context. */
export async function importHarCommand(
  ctx: Context,
  out: Output,
  file: string,
  flags: ImportHarFlags,
): Promise<ExitCode> {
  const har = readHarFile(String(file));
  if (flags.list) return listCommand(out, har);
  const picked = pickHarDownload(har, pickOptions(flags));
  const request = requestFromHar(picked, {
    allowCookies: flags.allowCookies === true,
    rememberCookies: flags.rememberCookies === true,
  });
  const isStarting = flags.start === true;
  assertSecretsCanRun(ctx, request, isStarting);
  const options = jobOptions(ctx, flags);
  // A -H Cookie without --remember-cookies lives in this process, like the HAR's own cookies.
  assertSecretsCanRun(ctx, { ...request, secrets: options.secrets ?? null }, isStarting);
  const withheld = [...(request.settings.withheldHeaders ?? []), ...(options.settings?.withheldHeaders ?? [])];
  const secrets =
    request.secrets || options.secrets
      ? { ...request.secrets, headers: { ...options.secrets?.headers, ...request.secrets?.headers } }
      : null;
  const engine = ctx.createEngine();
  const id = engine.addJob(request.url, {
    ...options,
    settings: { ...request.settings, withheldHeaders: withheld.length > 0 ? withheld : undefined },
    ...(secrets ? { secrets } : {}),
  });
  // Redacted by the logger: header values of credentials, signatures in URLs.
  ctx.log.info('job imported', {
    jobId: id,
    source: 'har',
    entry: picked.entryIndex,
    url: request.url,
    finalUrl: request.finalUrl,
    headers: request.headers,
    cookies: request.cookies,
  });
  const summary = {
    id,
    entry: picked.entryIndex,
    url: redactUrl(picked.url),
    requestUrl: redactUrl(request.url),
    reasons: picked.reasons,
    headers: Object.keys(request.headers),
    cookies: request.cookies,
    notes: request.notes,
  };
  if (!out.isJson) {
    for (const line of describePick(picked, request)) out.line(line);
    for (const note of request.notes) out.note(`note: ${note}`);
  }
  if (!isStarting) {
    if (out.isJson) out.json(summary);
    else if (out.isQuiet) out.data(String(id));
    else out.line(`Queued job ${id}; download it with: ddm run (or import with --start)`);
    return EXIT.ok;
  }
  if (!out.isJson) out.line(`Downloading as job ${id}`);
  const result = await runInForeground(ctx, out, { jobIds: [id], engine });
  const jobs = result.jobs.filter((j) => j.id === id);
  if (out.isJson) {
    // One JSON document: the import summary with the job's outcome.
    const code = reportJobs({ ...out, json: () => {} }, jobs, result.isInterrupted);
    out.json({ ...summary, job: jobs[0] ? jobJson(jobs[0]) : null });
    return code;
  }
  return reportJobs(out, jobs, result.isInterrupted, result.doneLines);
}

function listCommand(out: Output, har: Har): ExitCode {
  const entries = harEntries(har);
  let chosen: number | null = null;
  try {
    chosen = pickHarDownload(har).entryIndex;
  } catch {
    // No entry qualifies on its own: the listing is how the user picks one.
  }
  if (out.isJson) {
    out.json({
      pick: chosen,
      entries: entries.map((e) => ({
        index: e.index,
        method: e.method,
        url: redactUrl(e.url),
        status: e.status,
        mimeType: e.mimeType,
        sizeBytes: e.sizeBytes,
        redirectUrl: e.redirectURL === null ? null : redactUrl(e.redirectURL),
        score: e.score,
        reasons: e.reasons,
      })),
    });
    return EXIT.ok;
  }
  out.data(listRow(' ', '#', 'SCORE', 'ST', 'METH', 'SIZE', 'TYPE', 'URL'));
  for (const entry of entries) out.data(listLine(entry, chosen));
  out.note(
    chosen === null
      ? 'No entry looks like a download on its own: choose one with --pick <n> or --match <text>'
      : `* the entry ddm imports without --pick or --match (${chosen})`,
  );
  return EXIT.ok;
}
