/**
 * The rule "which job does this command continue?", so that re-running `ddm get URL` after an
 * interruption (Ctrl+C, kill, pause, a failure) continues the job from its checkpoint, as
 * `wget -c`, `curl -C -` and `aria2c -c` users expect, instead of saving `name (1).ext`.
 *
 * A job continues a request when it has the same URL (as parsed), the same folder, and the same
 * name rule: both take the name from the server (no `-o`), or both fixed it to the same name.
 */
import { lstatSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JobPatch, JobRow, JobSettings, Repos } from '@ddm/db';
import { checkPartialFile } from './adopt-partial.ts';
import type { Engine, JobSecrets } from './engine.ts';
import { fileNameFromResponse, sanitizeFileName } from './filename.ts';
import { parseHttpUrl } from './http.ts';
import { ACTIVE_STATES } from './job.ts';
import type { JobOptionsPatch } from './jobs-service.ts';
import { buildRequestContext, type RequestEnvironment } from './request-context.ts';
import { planSegments } from './segment-plan.ts';
import type { AddOptions } from './types.ts';

/** What a request (`ddm get URL -d DIR [-o NAME]`) is, for matching it with existing jobs. */
export interface JobRequest {
  url: string;
  /** Absolute or relative to the working directory. */
  dir: string;
  /** `-o`: a fixed name; absent = the name comes from the URL or the server. */
  fileName?: string;
}

export type ContinueDecision =
  /** No job to continue: add a new one. */
  | { kind: 'new' }
  /** An unfinished job (queued, running, paused, failed, canceled): run it from its checkpoint. */
  | { kind: 'continue'; job: JobRow }
  /** A completed job whose file is still there. */
  | { kind: 'complete'; job: JobRow };

function isSameRequest(job: JobRow, href: string, dir: string, fileName: string | undefined): boolean {
  if (job.url !== href || job.dir !== dir) return false;
  const isFixed = job.settings.isFileNameFixed === true;
  return fileName === undefined ? !isFixed : isFixed && job.fileName === fileName;
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the job `request` continues: the newest unfinished one, else the newest completed one
 * whose file still exists. Reads the DB and stats files; changes nothing.
 * @throws DdmError ERR_INVALID_URL
 */
export function findJobToContinue(repos: Repos, request: JobRequest): ContinueDecision {
  const href = parseHttpUrl(request.url).href;
  const dir = resolve(request.dir);
  const same = repos.jobs
    .listByUrl(href)
    .filter((job) => isSameRequest(job, href, dir, request.fileName))
    .sort((a, b) => b.id - a.id);
  const unfinished = same.find((job) => job.state !== 'completed');
  if (unfinished) return { kind: 'continue', job: unfinished };
  const complete = same.find((job) => isFile(join(job.dir, job.fileName)));
  return complete ? { kind: 'complete', job: complete } : { kind: 'new' };
}

export type ContinueAction =
  /** A new job was added. */
  | 'added'
  /** An existing unfinished job will run from its checkpoint. */
  | 'continued'
  /** A completed job already has the file. */
  | 'complete'
  /** A partial file another tool left was checked and adopted (`-c`). */
  | 'adopted'
  /** A partial file did not match the server: a new job downloads from zero and replaces it. */
  | 'restarted';

export interface ContinueResult {
  jobId: number;
  action: ContinueAction;
  /** For the user: what was found, and why it is (not) used. */
  message: string | null;
}

export interface ContinueOptions extends AddOptions {
  /** `-c/--continue`: adopt a partial file another tool left at the target, after checking it. */
  isContinuingPartial?: boolean;
  secrets?: JobSecrets;
  settings?: JobSettings;
  /** For the checks of a partial file: the request environment of this process. */
  environment?: RequestEnvironment;
  signal?: AbortSignal;
}

/**
 * Continues the job `url` names (see {@link findJobToContinue}), or adopts a partial file with
 * `isContinuingPartial`, or adds a new job. With `overwrite` a completed job is forgotten and a
 * new one downloads its file again. A continued paused, failed or canceled job is
 * queued again; new connections, limit or checksum given now replace the stored ones.
 * @throws DdmError as Engine.addJob; and from the partial-file check: network, TLS, HTTP, ERR_IO.
 */
export async function continueOrAddJob(engine: Engine, url: string, options: ContinueOptions): Promise<ContinueResult> {
  const repos = engine.repos;
  const dir = resolve(options.dir ?? process.cwd());
  const decision = findJobToContinue(repos, {
    url,
    dir,
    ...(options.fileName !== undefined ? { fileName: options.fileName } : {}),
  });
  if (decision.kind === 'complete' && options.overwrite !== true) {
    return { jobId: decision.job.id, action: 'complete', message: null };
  }
  if (decision.kind === 'complete') {
    // --overwrite: the finished job is forgotten (its file stays until the new download replaces
    // it), so its row does not push the new job to "name (1)".
    await engine.remove(decision.job.id, { deleteFiles: false });
  }
  if (decision.kind === 'continue') {
    const job = decision.job;
    const patch: JobOptionsPatch = {};
    if (options.connections !== undefined) patch.connections = options.connections;
    if (options.limitBytesPerSec !== undefined) patch.limitBytesPerSec = options.limitBytesPerSec;
    if (options.checksum !== undefined) patch.checksum = options.checksum;
    engine.jobs.setOptions(job.id, patch);
    if (options.secrets) engine.setSecrets(job.id, options.secrets);
    if (job.state === 'paused' || job.state === 'failed' || job.state === 'canceled') await engine.resume(job.id);
    const isRunning = ACTIVE_STATES.includes(job.state);
    return {
      jobId: job.id,
      action: 'continued',
      message: `Continuing job ${job.id} (${job.state}${isRunning ? '' : ' before'}) from its checkpoint: ${join(job.dir, job.fileName)}`,
    };
  }
  if (options.isContinuingPartial) {
    const adopted = await adoptPartial(engine, url, dir, options);
    if (adopted) return adopted;
  }
  return { jobId: engine.addJob(url, { ...options, dir }), action: 'added', message: null };
}

async function adoptPartial(
  engine: Engine,
  url: string,
  dir: string,
  options: ContinueOptions,
): Promise<ContinueResult | null> {
  const href = parseHttpUrl(url).href;
  const name = sanitizeFileName(options.fileName ?? fileNameFromResponse({ url: href }).name);
  const path = join(dir, name);
  if (!isFile(path) || isFile(`${path}.part`)) return null;
  if (engine.repos.jobs.targetPaths().some((t) => join(t.dir, t.fileName) === path)) return null;
  const ctx = buildRequestContext(options.environment ?? { settings: engine.settings, env: {} }, {
    headers: { ...options.settings?.headers, ...options.headers, ...options.secrets?.headers },
    cookieHeaderFor: options.secrets?.cookieHeaderFor,
  });
  const check = await checkPartialFile(ctx, href, path, { signal: options.signal ?? new AbortController().signal });
  const isFixed = options.fileName !== undefined;
  // The name is the existing file's: overwrite keeps addJob from picking "name (1)", and is what
  // a restart needs (the finished download replaces the bytes that did not match).
  const addFixed = () => engine.addJob(href, { ...options, dir, fileName: name, overwrite: true });
  if (!check.isMatch) {
    const jobId = engine.jobs.atomically(() => {
      const id = addFixed();
      const job = engine.jobs.require(id);
      engine.jobs.update(id, { settings: { ...job.settings, isFileNameFixed: isFixed } });
      return id;
    });
    return {
      jobId,
      action: 'restarted',
      message: `Not continuing ${path}: ${check.reason}; downloading from the start (the file is replaced when the download completes)`,
    };
  }
  const info = check.info;
  const size = info.sizeBytes as number;
  const have = check.existingBytes;
  const jobId = engine.jobs.atomically(() => {
    const id = addFixed();
    const job = engine.jobs.require(id);
    const rest = have < size ? planSegments(size - have, job.connections, engine.settings.minSplitBytes) : [];
    const rows = [
      { index: 0, start: 0, end: have, writtenBytes: have, splitFrom: null },
      ...rest.map((r, i) => ({
        index: i + 1,
        start: r.start + have,
        end: r.end + have,
        writtenBytes: 0,
        splitFrom: null,
      })),
    ];
    const patch = {
      settings: { ...job.settings, isFileNameFixed: isFixed, overwrite: options.overwrite ? 'overwrite' : 'rename' },
      finalUrl: info.finalUrl,
      sizeBytes: size,
      etag: info.etag,
      lastModified: info.lastModified,
      acceptsRanges: true,
      isResumable: true,
      hasCreatedFile: true,
    } satisfies JobPatch;
    // ddm downloads into `<name>.part`. Moved before the commit, so no engine ever sees the job
    // without its bytes; a failed move rolls the job back.
    engine.jobs.adoptBytes(id, rows, patch, () => renameSync(path, `${path}.part`));
    return id;
  });
  return {
    jobId,
    action: 'adopted',
    message: `Continuing ${path} from byte ${have} of ${size} (its bytes match the server's)`,
  };
}
