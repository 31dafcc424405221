/**
 * aria2's RPC methods over ddm's engine: one table from method name to handler, with aria2's
 * parameter shapes, result shapes and error messages. Reads and writes go through the Engine's
 * public API only (the URIs stored with a job come with its snapshot).
 */
import { randomBytes } from 'node:crypto';
import { DdmError, type Engine, type JobSettings, type JobSnapshot } from '@ddm/core';
import { gidOf, jobIdOf } from './gid.ts';
import {
  type Aria2AddOptions,
  addOptionsFrom,
  assertNoHooks,
  type OptionDefaults,
  positiveInt,
  rate,
} from './options.ts';
import { type Dispatch, RpcError } from './protocol.ts';
import { FailureThrottle, tokenMatches } from './security.ts';
import { filesOf, page, pickKeys, rateText, STATUS_OF, serversOf, statusOf, urisOf } from './shapes.ts';

/** What the methods run against. */
export interface RpcServices {
  engine: Engine;
  /** `--rpc-secret`; empty = no token needed. */
  secret: string;
  defaults: OptionDefaults;
  /** ddm's version, listed in getVersion's enabledFeatures. */
  ddmVersion: string;
  /** Ends `ddm serve` after the answer is sent. */
  shutdown(): void;
  throttle?: FailureThrottle;
}

type Handler = (params: unknown[]) => Promise<unknown> | unknown;

export const NOTIFICATIONS = [
  'aria2.onDownloadStart',
  'aria2.onDownloadPause',
  'aria2.onDownloadStop',
  'aria2.onDownloadComplete',
  'aria2.onDownloadError',
  'aria2.onBtDownloadComplete',
] as const;

/** Methods aria2 has and ddm answers with a clear error. */
const UNSUPPORTED: Record<string, string> = {
  'aria2.addTorrent': 'BitTorrent is not supported by ddm',
  'aria2.getPeers': 'BitTorrent is not supported by ddm',
  'aria2.addMetalink': 'Metalink is not supported by ddm yet',
  'aria2.changeUri': 'changeUri is not supported by ddm yet',
};

/** Methods that need no token (aria2 answers them to anyone). */
const PUBLIC = new Set(['system.listMethods', 'system.listNotifications']);

const STOPPED = new Set(['error', 'complete', 'removed']);

function wrongType(index: number): RpcError {
  return new RpcError(`The parameter at ${index} has wrong type.`);
}

function stringAt(params: unknown[], index: number): string {
  const value = params[index];
  if (typeof value !== 'string') throw wrongType(index);
  return value;
}

function intAt(params: unknown[], index: number): number {
  const value = params[index];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrongType(index);
  return value;
}

function keysAt(params: unknown[], index: number): string[] | null {
  const value = params[index];
  if (value === undefined) return null;
  if (!Array.isArray(value) || !value.every((k) => typeof k === 'string')) throw wrongType(index);
  return value as string[];
}

function recordAt(params: unknown[], index: number): Record<string, unknown> {
  const value = params[index];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw wrongType(index);
  return value as Record<string, unknown>;
}

/** Builds the dispatcher `ddm serve` answers every call with. */
export function createDispatch(services: RpcServices): Dispatch {
  const { engine } = services;
  const throttle = services.throttle ?? new FailureThrottle();
  const sessionId = randomBytes(20).toString('hex');

  const jobs = (): readonly JobSnapshot[] => engine.snapshot().jobs;
  const findJob = (gid: string): JobSnapshot => {
    const id = jobIdOf(gid);
    const job = id === null ? undefined : jobs().find((j) => j.id === id);
    if (!job) throw new RpcError(`GID ${gid} is not found`);
    return job;
  };
  const statusList = (list: readonly JobSnapshot[], keys: string[] | null) =>
    list.map((job) => pickKeys(statusOf(job), keys));
  const waiting = () => jobs().filter((j) => j.state === 'queued' || j.state === 'paused');
  const stopped = () => jobs().filter((j) => STOPPED.has(STATUS_OF[j.state]));
  const active = () => jobs().filter((j) => STATUS_OF[j.state] === 'active');

  /** Puts a waiting job at `target` of the waiting queue with the engine's top/bottom moves. */
  const placeAt = async (job: JobSnapshot, target: number): Promise<number> => {
    const others = waiting().filter((j) => j.id !== job.id);
    const index = Math.max(0, Math.min(target, others.length));
    await engine.move(job.id, 'bottom');
    for (const other of others.slice(index)) await engine.move(other.id, 'bottom');
    return index;
  };

  const pauseOne = async (gid: string): Promise<string> => {
    const job = findJob(gid);
    const status = STATUS_OF[job.state];
    if (status !== 'active' && status !== 'waiting') throw new RpcError(`GID#${gid} cannot be paused now`);
    await engine.pause(job.id);
    return gid;
  };
  const removeOne = async (gid: string): Promise<string> => {
    const job = findJob(gid);
    if (STOPPED.has(STATUS_OF[job.state])) throw new RpcError(`GID#${gid} cannot be removed now`);
    await engine.cancel(job.id);
    return gid;
  };

  const addUri = async (params: unknown[]): Promise<string> => {
    const uris = params[0];
    if (!Array.isArray(uris) || uris.length === 0 || !uris.every((u) => typeof u === 'string')) throw wrongType(0);
    const parsed: Aria2AddOptions = addOptionsFrom(params[1], services.defaults, uris as string[]);
    const position = params[2] === undefined ? null : intAt(params, 2);
    if (position !== null && position < 0) throw wrongType(2);
    const [url] = uris as string[];
    // Every URI is a mirror of the one file; the engine downloads from all of them (mirrors.ts).
    const settings: JobSettings = { mirrors: [...(uris as string[])] };
    const id = engine.addJob(url as string, { ...parsed.options, settings });
    // Before the engine's loop runs again (it resumes after this synchronous part), so the job
    // never starts.
    if (parsed.isPaused) await engine.pause(id);
    const job = jobs().find((j) => j.id === id);
    if (position !== null && job) await placeAt(job, position);
    return gidOf(id);
  };

  const changeOption = async (params: unknown[]): Promise<string> => {
    const job = findJob(stringAt(params, 0));
    const options = recordAt(params, 1);
    for (const name of Object.keys(options)) assertNoHooks(name);
    const limit = rate(options, 'max-download-limit');
    const max = services.defaults.maxConnectionsPerJob;
    const connections = positiveInt(options, 'split', max) ?? positiveInt(options, 'max-connection-per-server', max);
    if (limit !== undefined) await engine.setLimit(job.id, limit);
    if (connections !== undefined) await engine.setConnections(job.id, connections);
    return 'OK';
  };

  const changeGlobalOption = async (params: unknown[]): Promise<string> => {
    const options = recordAt(params, 0);
    for (const name of Object.keys(options)) assertNoHooks(name);
    const limit = rate(options, 'max-overall-download-limit');
    const jobsAtOnce = positiveInt(options, 'max-concurrent-downloads', 64);
    if (jobsAtOnce !== undefined && jobsAtOnce !== engine.settings.parallelJobs) {
      throw new RpcError(
        `max-concurrent-downloads cannot change while ddm serve runs (restart it with --max-concurrent-downloads ${jobsAtOnce})`,
      );
    }
    if (limit !== undefined) await engine.setLimit(null, limit);
    return 'OK';
  };

  const globalOption = (): Record<string, string> => {
    const s = engine.settings;
    return {
      dir: services.defaults.dir,
      'max-concurrent-downloads': String(s.parallelJobs),
      'max-overall-download-limit': rateText(engine.snapshot().limitBytesPerSec),
      'max-download-limit': '0',
      split: String(s.connections),
      'max-connection-per-server': String(s.maxConnectionsPerHost),
      'min-split-size': String(s.minSplitBytes),
      'max-tries': String(s.retryAttempts + 1),
      'connect-timeout': String(Math.ceil(s.connectTimeoutMs / 1000)),
      'allow-overwrite': String(s.overwrite === 'overwrite'),
      'auto-file-renaming': String(s.overwrite === 'rename'),
      continue: 'true',
      'file-allocation': s.fileAllocation === 'full' ? 'prealloc' : 'none',
      'user-agent': s.userAgent,
    };
  };

  const table: Record<string, Handler> = {
    'aria2.addUri': addUri,
    'aria2.remove': (p) => removeOne(stringAt(p, 0)),
    'aria2.forceRemove': (p) => removeOne(stringAt(p, 0)),
    'aria2.pause': (p) => pauseOne(stringAt(p, 0)),
    'aria2.forcePause': (p) => pauseOne(stringAt(p, 0)),
    'aria2.pauseAll': async () => {
      for (const job of [...active(), ...waiting()]) if (job.state !== 'paused') await engine.pause(job.id);
      return 'OK';
    },
    'aria2.forcePauseAll': (p) => table['aria2.pauseAll']?.(p),
    'aria2.unpause': async (p) => {
      const gid = stringAt(p, 0);
      const job = findJob(gid);
      if (job.state !== 'paused') throw new RpcError(`GID#${gid} cannot be unpaused now`);
      await engine.resume(job.id);
      return gid;
    },
    'aria2.unpauseAll': async () => {
      for (const job of waiting()) if (job.state === 'paused') await engine.resume(job.id);
      return 'OK';
    },
    'aria2.tellStatus': (p) => {
      const job = findJob(stringAt(p, 0));
      return pickKeys(statusOf(job), keysAt(p, 1));
    },
    'aria2.getUris': (p) => {
      const job = findJob(stringAt(p, 0));
      return urisOf(job);
    },
    'aria2.getFiles': (p) => {
      const job = findJob(stringAt(p, 0));
      return filesOf(job);
    },
    'aria2.getServers': (p) => {
      const gid = stringAt(p, 0);
      const job = findJob(gid);
      if (STATUS_OF[job.state] !== 'active') throw new RpcError(`No active download for GID#${gid}`);
      return [{ index: '1', servers: serversOf(job) }];
    },
    'aria2.tellActive': (p) => statusList(active(), keysAt(p, 0)),
    'aria2.tellWaiting': (p) => statusList(page(waiting(), intAt(p, 0), intAt(p, 1)), keysAt(p, 2)),
    'aria2.tellStopped': (p) => statusList(page(stopped(), intAt(p, 0), intAt(p, 1)), keysAt(p, 2)),
    'aria2.changePosition': async (p) => {
      const gid = stringAt(p, 0);
      const pos = intAt(p, 1);
      const how = stringAt(p, 2);
      const job = findJob(gid);
      const queue = waiting();
      const current = queue.findIndex((j) => j.id === job.id);
      if (current === -1) throw new RpcError(`GID#${gid} is not in the waiting queue`);
      const base = { POS_SET: 0, POS_CUR: current, POS_END: queue.length - 1 }[how];
      if (base === undefined) throw new RpcError('Illegal argument.');
      return placeAt(job, base + pos);
    },
    'aria2.changeOption': changeOption,
    'aria2.getOption': (p) => {
      const job = findJob(stringAt(p, 0));
      return {
        dir: job.dir,
        out: job.fileName,
        split: String(job.maxConnections),
        'max-connection-per-server': String(job.maxConnections),
        'max-download-limit': rateText(job.limitBytesPerSec),
      };
    },
    'aria2.changeGlobalOption': changeGlobalOption,
    'aria2.getGlobalOption': () => globalOption(),
    'aria2.getGlobalStat': () => {
      const snapshot = engine.snapshot();
      const numStopped = stopped().length;
      return {
        downloadSpeed: String(Math.round(snapshot.rateBytesPerSec)),
        uploadSpeed: '0',
        numActive: String(active().length),
        numWaiting: String(waiting().length),
        numStopped: String(numStopped),
        numStoppedTotal: String(numStopped),
      };
    },
    'aria2.purgeDownloadResult': async () => {
      for (const job of stopped()) await engine.remove(job.id);
      return 'OK';
    },
    'aria2.removeDownloadResult': async (p) => {
      const gid = stringAt(p, 0);
      const job = findJob(gid);
      if (!STOPPED.has(STATUS_OF[job.state])) throw new RpcError(`Could not remove download result of GID#${gid}`);
      await engine.remove(job.id);
      return 'OK';
    },
    'aria2.getVersion': () => ({
      // The aria2 protocol version ddm follows; clients gate features on it.
      version: '1.36.0',
      enabledFeatures: ['HTTPS', 'Message Digest', `ddm ${services.ddmVersion}`],
    }),
    'aria2.getSessionInfo': () => ({ sessionId }),
    'aria2.shutdown': () => {
      services.shutdown();
      return 'OK';
    },
    'aria2.forceShutdown': () => {
      services.shutdown();
      return 'OK';
    },
    'aria2.saveSession': () => 'OK',
    'system.listMethods': () => [...Object.keys(table), ...Object.keys(UNSUPPORTED), 'system.multicall'],
    'system.listNotifications': () => [...NOTIFICATIONS],
  };

  const authorize = async (method: string, params: unknown[]): Promise<unknown[]> => {
    const first = params[0];
    const token = typeof first === 'string' && first.startsWith('token:') ? first.slice('token:'.length) : null;
    const rest = token === null ? params : params.slice(1);
    if (PUBLIC.has(method) || services.secret === '') return rest;
    if (token !== null && tokenMatches(token, services.secret)) {
      throttle.succeeded();
      return rest;
    }
    await throttle.failed();
    throw new RpcError('Unauthorized');
  };

  return async (method, params) => {
    const handler = table[method];
    const unsupported = UNSUPPORTED[method];
    if (!handler && unsupported === undefined) throw new RpcError(`No such method: ${method}`);
    const args = await authorize(method, params);
    if (!handler) throw new RpcError(unsupported as string);
    try {
      return await handler(args);
    } catch (error) {
      if (error instanceof RpcError) throw error;
      if (error instanceof DdmError) throw new RpcError(error.message);
      throw error;
    }
  };
}
