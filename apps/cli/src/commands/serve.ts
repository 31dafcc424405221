/**
 * `ddm serve`: a long-running engine (like `ddm run --watch`) that also answers aria2's JSON-RPC
 * on `/jsonrpc`, so aria2 front ends (AriaNg, browser extensions, aria2 client libraries) drive
 * ddm. Jobs are the same set as the CLI's: the engine picks up `ddm add` jobs, and RPC jobs show
 * in `ddm status`.
 */
import { DdmError, parseConfigValue, type RpcConfig } from '@ddm/core';
import { type Context, downloadDir } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { stopEngineOnSignals } from '../foreground.ts';
import type { Output } from '../output.ts';
import { createDispatch } from '../rpc/methods.ts';
import { parseOrigins } from '../rpc/security.ts';
import { startRpcServer } from '../rpc/server.ts';

export interface ServeFlags {
  rpcListenPort?: string | number;
  rpcSecret?: string | number;
  rpcListenAll?: boolean;
  rpcAllowOriginAll?: boolean;
  dir?: string;
}

/** Time for the answer to `aria2.shutdown` to leave before the engine stops. */
const SHUTDOWN_GRACE_MS = 100;

/** `[rpc]` from config.toml, overridden by aria2-named flags (validated like config values). */
export function rpcConfigFrom(config: RpcConfig, flags: ServeFlags): RpcConfig {
  const rpc = { ...config };
  if (flags.rpcListenPort !== undefined) rpc.port = parseConfigValue('rpc.port', String(flags.rpcListenPort)) as number;
  if (flags.rpcSecret !== undefined) rpc.secret = parseConfigValue('rpc.secret', String(flags.rpcSecret)) as string;
  if (flags.rpcListenAll) rpc.listenAll = true;
  if (flags.rpcAllowOriginAll) rpc.allowOriginAll = true;
  return rpc;
}

/** @param version ddm's version, listed by aria2.getVersion. */
export async function serveCommand(ctx: Context, out: Output, flags: ServeFlags, version: string): Promise<ExitCode> {
  const rpc = rpcConfigFrom(ctx.config.rpc, flags);
  if (rpc.listenAll && rpc.secret === '') {
    throw new DdmError('Refusing to listen on all interfaces without a secret: give --rpc-secret (or [rpc] secret)', {
      code: 'ERR_USAGE',
    });
  }
  const other = ctx.store.runningEngine();
  if (other) {
    throw new DdmError(`Another ddm engine (pid ${other.pid}) is running jobs on this database`, {
      code: 'ERR_ENGINE_BUSY',
    });
  }
  const engine = ctx.createEngine();
  const dispatch = createDispatch({
    engine,
    secret: rpc.secret,
    defaults: {
      dir: downloadDir(ctx, flags.dir),
      connections: ctx.settings.connections,
      maxConnectionsPerJob: ctx.settings.maxConnectionsPerJob,
    },
    ddmVersion: version,
    shutdown: () => {
      setTimeout(() => engine.stop(), SHUTDOWN_GRACE_MS);
    },
  });
  const running = engine.run({ isWatching: true });
  const server = startRpcServer({
    port: rpc.port,
    isListeningOnAll: rpc.listenAll,
    origins: { isAnyOriginAllowed: rpc.allowOriginAll, allowedOrigins: parseOrigins(rpc.allowedOrigins) },
    dispatch,
    subscribe: (listener) => engine.subscribe(listener),
    log: ctx.log,
  });
  ctx.log.info('rpc listening', { addresses: server.addresses });
  for (const address of server.addresses) out.note(`listening on ${address}`);
  if (rpc.secret === '') out.note('no --rpc-secret: any program on this machine can drive ddm');
  const stopOn = stopEngineOnSignals(engine);
  try {
    await running;
  } finally {
    stopOn.dispose();
    await server.stop();
  }
  return stopOn.isInterrupted ? EXIT.interrupted : EXIT.ok;
}
