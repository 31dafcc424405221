/**
 * `on_complete` / `on_error` hooks: a shell command run after a job ends. A hook is a
 * notification, never part of the download: its failure is logged and otherwise ignored.
 */
import { join } from 'node:path';
import type { JobRow } from '@ddm/db';
import { isOwnFile } from './job-files.ts';
import type { Logger } from './log.ts';
import { redactText, redactUrl } from './redact.ts';

/** Variables a hook receives on top of ddm's own environment. */
export interface HookEnv {
  DDM_JOB_ID: string | number;
  /** Absolute path of the downloaded (or partial) file; unset when there is no file. */
  DDM_JOB_PATH?: string | undefined;
  /** Final job state: `completed`, `failed` or `canceled`. */
  DDM_JOB_STATE: string;
  /** The job's URL; redacted again here, so a caller cannot leak a signed URL by mistake. */
  DDM_JOB_URL: string;
  /** `CODE: message` of the failure, for `on_error`. */
  DDM_JOB_ERROR?: string | undefined;
}

export interface HookOptions {
  /**
   * Kill the hook (its whole process group) after this long.
   * @default 60_000
   */
  timeoutMs?: number;
  /**
   * Environment the hook variables are added to.
   * @default process.env
   */
  baseEnv?: Record<string, string | undefined>;
  /** Working folder of the hook; default the current one. */
  cwd?: string;
  /** Name for the log records (`on_complete`, `on_error`). */
  name?: string;
}

export interface HookResult {
  /** The command's exit code; null when it could not start, was killed or timed out. */
  exitCode: number | null;
}

export const HOOK_TIMEOUT_MS = 60_000;
/** Output kept per stream for the log; the rest is read and dropped. */
const HOOK_OUTPUT_MAX_BYTES = 4096;
/** Time between SIGTERM and SIGKILL when a hook overstays. */
const HOOK_KILL_GRACE_MS = 2000;

/** Output settles this long after the hook exits; background children may keep pipes open. */
const HOOK_OUTPUT_SETTLE_MS = 200;

interface Capture {
  /** Resolves when the stream ends (or breaks). */
  done: Promise<void>;
  /** What arrived so far, with a marker when more was dropped. */
  text(): string;
}

/** Reads a stream to the end in the background, keeping only its first `maxBytes`. */
function captureHead(stream: ReadableStream<Uint8Array>, maxBytes: number): Capture {
  const chunks: Uint8Array[] = [];
  let keptBytes = 0;
  let isTruncated = false;
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        if (keptBytes < maxBytes) {
          const slice = chunk.subarray(0, maxBytes - keptBytes);
          chunks.push(slice);
          keptBytes += slice.byteLength;
          if (slice.byteLength < chunk.byteLength) isTruncated = true;
        } else {
          isTruncated = true;
        }
      }
    } catch {
      // The pipe broke (the process group was killed): keep what arrived.
    }
  })();
  return {
    done,
    text() {
      const text = Buffer.concat(chunks).toString('utf8');
      return isTruncated ? `${text}… [truncated]` : text;
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the hook's whole process group, so `sh -c 'a; sleep 100'` dies with sh.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Runs `sh -c command` with the job's variables added to the environment, stdin closed, and
 * stdout/stderr captured (first 4 KiB each, redacted) into the log. Processes the hook leaves
 * running in the background are not waited for and not killed (unless it times out). Resolves when the command
 * exits or, after `timeoutMs` (default 60 s), when its process group has been killed. Never
 * throws and never rejects: a hook that cannot start, exits non-zero or times out is logged
 * at `warn`; success is logged at `info`.
 */
export async function runHook(
  command: string,
  env: HookEnv,
  log: Logger,
  options: HookOptions = {},
): Promise<HookResult> {
  const name = options.name ?? 'hook';
  const timeoutMs = options.timeoutMs ?? HOOK_TIMEOUT_MS;
  const startedAt = performance.now();
  const hookEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.baseEnv ?? process.env)) {
    if (value !== undefined) hookEnv[key] = value;
  }
  hookEnv.DDM_JOB_ID = String(env.DDM_JOB_ID);
  // Never an inherited value: the hook must not act on a path that is not this job's file.
  if (env.DDM_JOB_PATH === undefined) delete hookEnv.DDM_JOB_PATH;
  else hookEnv.DDM_JOB_PATH = env.DDM_JOB_PATH;
  hookEnv.DDM_JOB_STATE = env.DDM_JOB_STATE;
  hookEnv.DDM_JOB_URL = redactUrl(env.DDM_JOB_URL);
  if (env.DDM_JOB_ERROR !== undefined) hookEnv.DDM_JOB_ERROR = redactText(env.DDM_JOB_ERROR);
  const fields = { hook: name, command, jobId: hookEnv.DDM_JOB_ID };

  let child: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>>;
  try {
    child = Bun.spawn(['sh', '-c', command], {
      env: hookEnv,
      cwd: options.cwd,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      detached: true,
    });
  } catch (error) {
    log.warn('hook could not start', { ...fields, error });
    return { exitCode: null };
  }

  const pid = child.pid;
  let isTimedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timeoutTimer = setTimeout(() => {
    isTimedOut = true;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), HOOK_KILL_GRACE_MS);
  }, timeoutMs);

  try {
    const stdoutCapture = captureHead(child.stdout, HOOK_OUTPUT_MAX_BYTES);
    const stderrCapture = captureHead(child.stderr, HOOK_OUTPUT_MAX_BYTES);
    const exitCode = await child.exited;
    if (isTimedOut) killGroup(pid, 'SIGKILL');
    // A child the hook left running in the background may hold the pipes open: give the output
    // a moment to settle, then log what arrived without waiting for (or killing) that child.
    let settleTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([stdoutCapture.done, stderrCapture.done]),
      new Promise<void>((resolve) => {
        settleTimer = setTimeout(resolve, HOOK_OUTPUT_SETTLE_MS);
      }),
    ]);
    clearTimeout(settleTimer);
    const stdout = redactText(stdoutCapture.text());
    const stderr = redactText(stderrCapture.text());
    const durationMs = Math.round(performance.now() - startedAt);
    const record = {
      ...fields,
      exitCode: isTimedOut ? null : exitCode,
      signal: child.signalCode ?? null,
      durationMs,
      stdout,
      stderr,
    };
    if (isTimedOut) {
      log.warn('hook timed out', { ...record, timeoutMs });
      return { exitCode: null };
    }
    if (exitCode !== 0) {
      log.warn('hook failed', record);
      return { exitCode: child.signalCode ? null : exitCode };
    }
    log.info('hook finished', record);
    return { exitCode };
  } catch (error) {
    log.warn('hook failed', { ...fields, error });
    return { exitCode: null };
  } finally {
    clearTimeout(timeoutTimer);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}

/** Runs the `on_complete` or `on_error` hook for a job that ended (see `runHook`). */
export async function runJobHook(
  command: string,
  job: JobRow,
  outcome: 'completed' | 'failed',
  log: Logger,
): Promise<void> {
  const path = join(job.dir, job.state === 'completed' ? job.fileName : `${job.fileName}.part`);
  await runHook(
    command,
    {
      DDM_JOB_ID: job.id,
      // Only a path that names the job's file: a failed job may have none (a 404 creates nothing).
      DDM_JOB_PATH: isOwnFile(path, job) ? path : undefined,
      DDM_JOB_STATE: job.state,
      DDM_JOB_URL: job.url,
      DDM_JOB_ERROR: job.errorCode ? `${job.errorCode}: ${job.errorMessage ?? ''}` : undefined,
    },
    log,
    { name: outcome === 'completed' ? 'on_complete' : 'on_error' },
  );
}
