import {
  continueOrAddJob,
  DdmError,
  type ImportedRequest,
  readCurlCommand,
  redactUrl,
  requestFromCurl,
} from '@ddm/core';
import type { Context } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { assertSecretsCanRun } from '../har-input.ts';
import {
  asList,
  downloadSpecs,
  type JobAddOptions,
  type JobFlags,
  jobOptions,
  type ListFlags,
  withMirrors,
} from '../job-options.ts';
import type { Output } from '../output.ts';

export interface AddFlags extends JobFlags, ListFlags {
  /** "Copy as cURL" text (repeatable). */
  curl?: string | string[];
  allowCookies?: boolean;
  rememberCookies?: boolean;
}

/**
 * `ddm add <url...>` or `ddm add --curl '<command>'`: queue jobs and print their ids. Validates
 * every URL (and parses every command) before adding any.
 */
export async function addCommand(ctx: Context, out: Output, urls: string[], flags: AddFlags): Promise<ExitCode> {
  const commands = asList(flags.curl);
  if (commands.length > 0 && (urls.length > 0 || flags.inputFile !== undefined)) {
    throw new DdmError('Give URLs (or -i) or --curl, not both', { code: 'ERR_USAGE' });
  }
  if (commands.length === 0) {
    if (flags.allowCookies) throw new DdmError('--allow-cookies applies to --curl', { code: 'ERR_USAGE' });
    return addUrls(ctx, out, urls, flags);
  }
  const requests = commands.map((command) =>
    requestFromCurl(readCurlCommand(command), {
      allowCookies: flags.allowCookies === true,
      rememberCookies: flags.rememberCookies === true,
    }),
  );
  // `add` only queues: cookies kept in memory would be gone before `ddm run` starts.
  for (const request of requests) assertSecretsCanRun(ctx, request, false);
  const engine = ctx.createEngine();
  const options = jobOptions(ctx, flags);
  assertQueuedCanRun(options);
  const ids = engine.addJobs(
    requests.map((request) => ({ url: request.url, options: { ...options, settings: request.settings } })),
  );
  requests.forEach((request, i) => {
    ctx.log.info('job imported', {
      jobId: ids[i],
      source: 'curl',
      url: request.url,
      headers: request.headers,
      cookies: request.cookies,
    });
  });
  if (out.isJson) {
    out.json({ ids, jobs: requests.map((request, i) => curlJson(ids[i] as number, request)) });
    return EXIT.ok;
  }
  for (const request of requests) for (const note of request.notes) out.note(`note: ${note}`);
  for (const id of ids) out.data(String(id));
  return EXIT.ok;
}

function curlJson(id: number, request: ImportedRequest) {
  return {
    id,
    url: redactUrl(request.url),
    headers: Object.keys(request.headers),
    cookies: request.cookies,
    notes: request.notes,
  };
}

async function addUrls(ctx: Context, out: Output, urls: string[], flags: AddFlags): Promise<ExitCode> {
  if (urls.length === 0 && flags.inputFile === undefined) {
    throw new DdmError('Nothing to add: give at least one URL, -i <file>, or --curl with a copied command', {
      code: 'ERR_USAGE',
    });
  }
  const specs = await downloadSpecs(urls, flags);
  const engine = ctx.createEngine();
  const prepared = specs.map((spec) => {
    try {
      new URL(spec.url);
    } catch {
      throw new DdmError(`Invalid URL: ${spec.url}`, { code: 'ERR_INVALID_URL' });
    }
    const options = jobOptions(ctx, spec.flags);
    assertQueuedCanRun(options);
    return { spec, options: withMirrors(options, spec.mirrors) };
  });
  if (flags.continue) {
    // -c checks partial files over the network, one at a time; the rest is one transaction below.
    const ids: number[] = [];
    for (const { spec, options } of prepared) {
      const result = await continueOrAddJob(engine, spec.url, {
        ...options,
        isContinuingPartial: true,
        environment: ctx.requestEnvironment(),
      });
      if (result.message) out.note(result.message);
      ids.push(result.jobId);
    }
    return printIds(out, ids);
  }
  const ids = engine.addJobs(prepared.map(({ spec, options }) => ({ url: spec.url, options })));
  return printIds(out, ids);
}

function printIds(out: Output, ids: number[]): ExitCode {
  if (out.isJson) out.json({ ids });
  else for (const id of ids) out.data(String(id));
  return EXIT.ok;
}

/**
 * `add` only queues: a `-H Cookie` kept in memory would be gone before `ddm run` starts.
 * @throws DdmError ERR_USAGE explaining the choices.
 */
function assertQueuedCanRun(options: JobAddOptions): void {
  if (!options.secrets) return;
  throw new DdmError(
    'A -H Cookie header kept in memory would be gone before the job runs: download now with ddm get, or add --remember-cookies to store it in the job database (mode 0600) until the job completes',
    { code: 'ERR_USAGE' },
  );
}
