/**
 * The two servers the RPC suite drives with the npm `aria2` client: `ddm serve` (spawned as a
 * real process with a throwaway DDM_HOME, on a port it picks and prints) and, when installed,
 * `aria2c --enable-rpc`, so the suite checks aria2's protocol and not ddm's reading of it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@ddm/core/testing';
import Aria2 from 'aria2';
import { type DdmProcess, Sandbox } from './helpers.ts';

export type TargetKind = 'ddm' | 'aria2c';

export interface RpcTarget extends AsyncDisposable {
  readonly kind: TargetKind;
  readonly port: number;
  readonly secret: string;
  /** Download directory given to every addUri. */
  readonly dir: string;
  /** The ddm sandbox (ddm only): run CLI commands against the same DDM_HOME. */
  readonly sandbox: Sandbox | null;
  readonly process: DdmProcess | null;
  /** A client (HTTP until `open()`ed for WebSocket). */
  client(options?: { secret?: string }): Aria2Client;
  url(query?: string): string;
}

/** The parts of the npm client the tests use. */
export interface Aria2Client {
  call(method: string, ...params: unknown[]): Promise<unknown>;
  multicall(calls: unknown[][]): Promise<unknown[]>;
  batch(calls: unknown[][]): Promise<Promise<unknown>[]>;
  open(): Promise<void>;
  close(): Promise<void>;
  on(event: string, listener: (params: unknown) => void): void;
}

export const hasAria2c = spawnSync('aria2c', ['--version']).status === 0;

if (!hasAria2c) console.warn('rpc tests: aria2c is not installed; the protocol suite runs against ddm serve only');

/**
 * The client registers its pending call only after its HTTP request resolved, then parses the
 * body in a promise of its own; under Bun's fetch the body is parsed first and the answer is
 * dropped. Handing the parsed body over on the next macrotask restores the order the client
 * assumes (node-fetch's). The request and the answer are untouched.
 */
async function orderedFetch(url: string, init: RequestInit): Promise<{ json(): Promise<unknown> }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    json: () =>
      new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(JSON.parse(text));
          } catch (error) {
            reject(error);
          }
        }),
      ),
  };
}

function makeClient(port: number, secret: string): Aria2Client {
  return new Aria2({
    host: '127.0.0.1',
    port,
    secret,
    path: '/jsonrpc',
    fetch: orderedFetch,
  }) as unknown as Aria2Client;
}

/** `ddm serve` on a free port; extra args are passed through. */
export async function startDdmServe(secret: string, extra: readonly string[] = []): Promise<RpcTarget> {
  const sandbox = new Sandbox();
  const args = ['serve', '--rpc-listen-port', '0', '-d', sandbox.dir, ...extra];
  if (secret) args.push('--rpc-secret', secret);
  const proc = sandbox.spawn(args);
  const port = await waitFor(
    () => {
      if (proc.proc.exitCode !== null) throw new Error(`ddm serve exited ${proc.proc.exitCode}: ${proc.stderr()}`);
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(proc.stderr());
      return match ? Number(match[1]) : null;
    },
    { timeoutMs: 20_000, what: 'ddm serve to print its port' },
  );
  return {
    kind: 'ddm',
    port,
    secret,
    dir: sandbox.dir,
    sandbox,
    process: proc,
    client: (o) => makeClient(port, o?.secret ?? secret),
    url: (query = '') => `http://127.0.0.1:${port}/jsonrpc${query}`,
    [Symbol.asyncDispose]: () => sandbox[Symbol.asyncDispose](),
  };
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

/** `aria2c --enable-rpc` on a free port, with no config file and a temp session. */
export async function startAria2c(secret: string): Promise<RpcTarget> {
  const root = mkdtempSync(join(tmpdir(), 'ddm-aria2c-'));
  const dir = join(root, 'downloads');
  mkdirSync(dir);
  const port = await freePort();
  const proc = Bun.spawn(
    [
      'aria2c',
      '--no-conf',
      '--enable-rpc',
      `--rpc-listen-port=${port}`,
      ...(secret ? [`--rpc-secret=${secret}`] : []),
      `--dir=${dir}`,
      '--quiet',
      '--check-certificate=false',
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cwd: root },
  );
  const client = makeClient(port, secret);
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`aria2c exited ${proc.exitCode}`);
      try {
        return await client.call('system.listMethods');
      } catch {
        return null;
      }
    },
    { timeoutMs: 20_000, intervalMs: 50, what: 'aria2c to answer' },
  );
  return {
    kind: 'aria2c',
    port,
    secret,
    dir,
    sandbox: null,
    process: null,
    client: (o) => makeClient(port, o?.secret ?? secret),
    url: (query = '') => `http://127.0.0.1:${port}/jsonrpc${query}`,
    async [Symbol.asyncDispose]() {
      proc.kill('SIGKILL');
      await proc.exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function startTarget(kind: TargetKind, secret: string): Promise<RpcTarget> {
  return kind === 'ddm' ? startDdmServe(secret) : startAria2c(secret);
}

export const TARGETS: TargetKind[] = hasAria2c ? ['ddm', 'aria2c'] : ['ddm'];

export interface StatusResult {
  gid: string;
  status: string;
  totalLength: string;
  completedLength: string;
  errorCode?: string;
  files: { path: string; uris: { uri: string; status: string }[] }[];
}

/** Polls tellStatus until `condition` holds. */
export async function waitForStatus(
  client: Aria2Client,
  gid: string,
  condition: (s: StatusResult) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<StatusResult> {
  let last: StatusResult | null = null;
  try {
    return await waitFor(
      async () => {
        last = (await client.call('tellStatus', gid)) as StatusResult;
        return condition(last) ? last : null;
      },
      { timeoutMs, intervalMs: 25, what },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status ${JSON.stringify(last)}`);
  }
}

/** Collects notifications of an opened client. */
export function recordNotifications(client: Aria2Client): { method: string; gid: string }[] {
  const seen: { method: string; gid: string }[] = [];
  for (const event of [
    'onDownloadStart',
    'onDownloadPause',
    'onDownloadStop',
    'onDownloadComplete',
    'onDownloadError',
  ]) {
    client.on(event, (params) => {
      const [first] = params as { gid: string }[];
      seen.push({ method: event, gid: first?.gid ?? '' });
    });
  }
  return seen;
}
