import {
  assertRefreshable,
  DdmError,
  formatBytes,
  type ImportedRequest,
  pickHarDownload,
  redactUrl,
  requestForNewUrl,
  requestFromHar,
} from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import { assertSecretsCanRun, describePick, pickOptions, readHarFile } from '../har-input.ts';
import { parseIntFlag } from '../job-options.ts';
import { jobJson, type Output } from '../output.ts';
import { reportJobs } from '../report-jobs.ts';

export interface RefreshFlags {
  url?: string;
  har?: string;
  pick?: string | number;
  match?: string | number;
  allowCookies?: boolean;
  rememberCookies?: boolean;
}

/**
 * `ddm refresh <id> --url <new> | --har <file>`: gives a job a new URL and request for the same
 * file. Probes the new request, refuses with ERR_RESOURCE_CHANGED when size or validators differ,
 * then updates only the job's URL, final URL and request settings, so its finished segments are
 * kept. A job an engine may be running must be paused first. When the new request carries cookies
 * kept in memory (no --remember-cookies), this process is the only one that has them, so it
 * downloads the job in the foreground right away.
 */
export async function refreshCommand(
  ctx: Context,
  out: Output,
  id: string | number,
  flags: RefreshFlags,
): Promise<ExitCode> {
  const jobId = parseIntFlag('job id', id, 1, Number.MAX_SAFE_INTEGER);
  const hasUrl = flags.url !== undefined && String(flags.url) !== '';
  const hasHar = flags.har !== undefined && String(flags.har) !== '';
  if (hasUrl === hasHar) throw new DdmError('Give exactly one of --url <new> or --har <file>', { code: 'ERR_USAGE' });
  if (
    hasUrl &&
    (flags.pick !== undefined || flags.match !== undefined || flags.allowCookies || flags.rememberCookies)
  ) {
    throw new DdmError('--pick, --match and the cookie options go with --har', { code: 'ERR_USAGE' });
  }
  const job = ctx.store.job(jobId);
  if (!job) throw new DdmError(`No such job: ${jobId}`, { code: 'ERR_NOT_FOUND' });
  assertRefreshable(job, ctx.store.runningEngine());

  let request: ImportedRequest;
  if (hasHar) {
    const picked = pickHarDownload(readHarFile(String(flags.har)), pickOptions(flags));
    request = requestFromHar(picked, {
      allowCookies: flags.allowCookies === true,
      rememberCookies: flags.rememberCookies === true,
    });
    if (!out.isJson) for (const line of describePick(picked, request)) out.line(line);
  } else {
    request = requestForNewUrl(job, String(flags.url));
  }
  // In-memory cookies: this process downloads the job, so no other engine may hold the DB.
  assertSecretsCanRun(ctx, request, true);

  const check = await ctx.store.verifyReplacement(
    job,
    request,
    ctx.requestEnvironment(),
    AbortSignal.timeout(ctx.settings.connectTimeoutMs * 4),
  );
  ctx.store.applyRefresh(job, request, check.info);
  ctx.log.info('job refreshed', { jobId, url: request.url, keptBytes: check.keptBytes });
  const notes = [...request.notes, ...check.notes];
  const summary = {
    id: jobId,
    url: redactUrl(request.url),
    finalUrl: redactUrl(check.info.finalUrl),
    sizeBytes: check.info.sizeBytes,
    keptBytes: check.keptBytes,
    cookies: request.cookies,
    notes,
  };
  if (!out.isJson) {
    for (const note of notes) out.note(`note: ${note}`);
    out.line(
      `Job ${jobId} now fetches ${redactUrl(request.url)}; ${formatBytes(check.keptBytes)} already downloaded kept`,
    );
  }

  if (request.secrets !== null) {
    const engine = ctx.createEngine();
    engine.setSecrets(jobId, request.secrets);
    await engine.resume(jobId);
    const result = await runInForeground(ctx, out, { jobIds: [jobId], engine });
    const jobs = result.jobs.filter((j) => j.id === jobId);
    if (!out.isJson) return reportJobs(out, jobs, result.isInterrupted, result.doneLines);
    const code = reportJobs({ ...out, json: () => {} }, jobs, result.isInterrupted);
    out.json({ ...summary, job: jobs[0] ? jobJson(jobs[0]) : null });
    return code;
  }

  const state = ctx.store.job(jobId)?.state ?? job.state;
  let next: string;
  if (state === 'failed' || state === 'canceled') {
    const { via } = await ctx.store.send('resume', jobId);
    next = via === 'engine' ? 'the running engine resumes it' : 'queued again; download it with: ddm run';
  } else if (state === 'paused') {
    next = `still paused; continue with: ddm resume ${jobId}`;
  } else {
    next = 'download it with: ddm run';
  }
  if (out.isJson) out.json({ ...summary, state: ctx.store.job(jobId)?.state ?? state });
  else out.line(`Job ${jobId}: ${next}`);
  return EXIT.ok;
}
