/**
 * Spawns the real CLI (`bun src/main.ts`) as separate processes against a throwaway DDM_HOME, the
 * way a user's shell would. Every spawned process is tracked and killed when the sandbox is
 * disposed, so a failing test never leaves an engine behind.
 */
import { Database } from 'bun:sqlite';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

/** The CLI entry, relative to this file so the tests run from any working directory. */
export const CLI_MAIN = join(import.meta.dir, '..', 'src', 'main.ts');

export interface DdmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A CLI process running in the background (an engine, a `ddm wait`). */
export interface DdmProcess {
  readonly proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  readonly pid: number;
  /** Output so far (collected as it arrives, so the pipes never fill up). */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process ended, with everything it printed. */
  done(): Promise<DdmResult>;
}

/** One job as `ddm status --json` prints it. */
export interface StatusJob {
  id: number;
  state: string;
  url: string;
  path: string;
  sizeBytes: number | null;
  doneBytes: number;
  rateBytesPerSec: number;
  etaSec: number | null;
  connections: number;
  maxConnections: number;
  limitBytesPerSec: number | null;
  priority: number;
  segments: number;
  /** Empty for a job with a single URL. */
  mirrors: { url: string; state: string; rateBytesPerSec: number; bytes: number; why: string | null }[];
  why: string | null;
  error: { code: string; message: string } | null;
}

export interface StatusJson {
  engineRunning: boolean;
  jobs: StatusJob[];
}

export interface RunOptions {
  /** Kill the process (SIGKILL) and fail after this long. @default 20_000 */
  timeoutMs?: number;
  env?: Record<string, string>;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.text += decoder.decode(chunk, { stream: true });
  sink.text += decoder.decode();
}

/**
 * A DDM_HOME (config, DB, log) and a download directory in a fresh temp dir, plus the CLI
 * processes started in it. Dispose it (`await using`) to kill them and delete the files.
 */
export class Sandbox implements AsyncDisposable {
  readonly root: string;
  readonly home: string;
  /** Where the tests download to (`-d`). */
  readonly dir: string;
  private readonly processes = new Set<DdmProcess>();

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'ddm-cli-test-'));
    this.home = join(this.root, 'home');
    this.dir = join(this.root, 'downloads');
    mkdirSync(this.home, { recursive: true });
    mkdirSync(this.dir, { recursive: true });
  }

  /** The environment of every CLI process: this DDM_HOME, and no DDM_* or proxy settings of the caller. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value === undefined || key.startsWith('DDM_') || /_proxy$/i.test(key)) continue;
      env[key] = value;
    }
    return { ...env, DDM_HOME: this.home, NO_COLOR: '1', ...extra };
  }

  /** Starts `ddm <args>` in the background. */
  spawn(args: readonly string[], env: Record<string, string> = {}): DdmProcess {
    const proc = Bun.spawn(['bun', CLI_MAIN, ...args], {
      cwd: this.dir,
      env: this.env(env),
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const out = { text: '' };
    const err = { text: '' };
    const reading = Promise.all([collect(proc.stdout, out), collect(proc.stderr, err)]);
    const finished = (async (): Promise<DdmResult> => {
      const exitCode = await proc.exited;
      await reading;
      return { exitCode, stdout: out.text, stderr: err.text };
    })();
    const handle: DdmProcess = {
      proc,
      pid: proc.pid,
      stdout: () => out.text,
      stderr: () => err.text,
      done: () => finished,
    };
    this.processes.add(handle);
    void finished.then(() => this.processes.delete(handle));
    return handle;
  }

  /**
   * Starts an engine (`ddm run <args>`) in the background and waits until it holds the lock, so
   * that a later `ddm wait` or control command finds it running.
   */
  async startEngine(args: readonly string[] = ['--watch'], env: Record<string, string> = {}): Promise<DdmProcess> {
    const engine = this.spawn(['run', ...args], env);
    await this.waitForStatus((s) => {
      if (engine.proc.exitCode !== null) throw new Error(`ddm run exited ${engine.proc.exitCode}: ${engine.stderr()}`);
      return s.engineRunning;
    }, 'the engine to take the lock');
    return engine;
  }

  /** Runs `ddm <args>` to the end. @throws Error when it outlives `timeoutMs`. */
  async run(args: readonly string[], options: RunOptions = {}): Promise<DdmResult> {
    const handle = this.spawn(args, options.env);
    const timeoutMs = options.timeoutMs ?? 20_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([handle.done(), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      handle.proc.kill('SIGKILL');
      throw new Error(`ddm ${args.join(' ')} did not end within ${timeoutMs} ms; stderr: ${handle.stderr()}`);
    }
    return result;
  }

  /** Runs `ddm <args>` and expects exit code 0. */
  async ok(args: readonly string[], options: RunOptions = {}): Promise<DdmResult> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0) {
      throw new Error(`ddm ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}${result.stdout}`);
    }
    return result;
  }

  /** `ddm add <url> -d <dir> ... --json` and returns the new job's id. */
  async add(url: string, ...flags: string[]): Promise<number> {
    const { stdout } = await this.ok(['add', url, '-d', this.dir, '--json', ...flags]);
    const ids = (JSON.parse(stdout) as { ids: number[] }).ids;
    if (ids.length !== 1) throw new Error(`ddm add printed ${stdout}`);
    return ids[0] as number;
  }

  async status(): Promise<StatusJson> {
    const { stdout } = await this.ok(['status', '--json']);
    return JSON.parse(stdout) as StatusJson;
  }

  async job(id: number): Promise<StatusJob> {
    const job = (await this.status()).jobs.find((j) => j.id === id);
    if (!job) throw new Error(`ddm status --json has no job ${id}`);
    return job;
  }

  /**
   * Polls `ddm status --json` until `condition` holds (each poll is one CLI process, ~0.2 s).
   * @throws Error naming `what` and the last status when the time runs out.
   */
  async waitForStatus(
    condition: (status: StatusJson) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<StatusJson> {
    const deadline = performance.now() + timeoutMs;
    let last: StatusJson | null = null;
    for (;;) {
      last = await this.status();
      if (condition(last)) return last;
      if (performance.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; last status: ${JSON.stringify(last.jobs.map(brief))}`);
      }
      await Bun.sleep(50);
    }
  }

  /**
   * When the engine was asked to apply a command and when it had, read from the `commands` table
   * (wall-clock ms), or null while it is not there. The one look into the DB the tests take: the
   * CLI does not print when its command reached the engine.
   */
  commandTimes(kind: string, jobId: number | null): { createdAt: number; doneAt: number | null } | null {
    const db = new Database(join(this.home, 'ddm.db'), { readonly: true });
    try {
      const row = db
        .query('SELECT created_at, done_at FROM commands WHERE kind = ? AND job_id IS ? ORDER BY id DESC LIMIT 1')
        .get(kind, jobId) as { created_at: number; done_at: number | null } | null;
      return row ? { createdAt: row.created_at, doneAt: row.done_at } : null;
    } finally {
      db.close();
    }
  }

  /** Kills (SIGKILL) every process still running and deletes the temp dir. */
  async [Symbol.asyncDispose](): Promise<void> {
    const left = [...this.processes];
    for (const p of left) p.proc.kill('SIGKILL');
    await Promise.allSettled(left.map((p) => p.done()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

function brief(job: StatusJob) {
  return { id: job.id, state: job.state, doneBytes: job.doneBytes, error: job.error?.code ?? null };
}

/** A wall-clock time (`Date.now()` ms, as stored in the DB) on the test process's `performance.now()` clock, which `server.now()` uses. */
export function wallToPerformanceMs(wallMs: number): number {
  return wallMs - (Date.now() - performance.now());
}

/** SHA-256 of a file on disk, hex. */
export async function fileSha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}

export const MiB = 1024 * 1024;
export const KiB = 1024;
