/**
 * The transport of `ddm serve`: aria2's `/jsonrpc` over HTTP POST, HTTP GET (base64 params, and
 * JSONP with `jsoncallback`) and WebSocket (requests plus notifications), on 127.0.0.1 and [::1]
 * unless listening on all interfaces. Every request passes the Host and Origin guards first;
 * bodies over 2 MiB are refused (aria2's limit). The method logic lives in methods.ts.
 */

import type { EngineEvent, Logger } from '@ddm/core';
import type { Server, ServerWebSocket } from 'bun';
import { notificationFor } from './notifications.ts';
import { type Dispatch, handleQuery, handleText, type RpcReply } from './protocol.ts';
import { decideOrigin, isHostAllowed, type OriginPolicy } from './security.ts';

export const MAX_BODY_BYTES = 2 * 1024 * 1024;
const PATH = '/jsonrpc';
const TOPIC = 'notifications';
const JSONP_CALLBACK = /^[A-Za-z_$][\w$.]{0,99}$/;

export interface RpcServerOptions {
  /** 0 picks a free port (the same one on every address). */
  port: number;
  isListeningOnAll: boolean;
  origins: OriginPolicy;
  dispatch: Dispatch;
  /** Engine events, for the WebSocket notifications. Returns an unsubscribe function. */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  log: Logger;
}

export interface RpcServer {
  /** `host:port` of every listening address, e.g. `127.0.0.1:6800`, `[::1]:6800`. */
  readonly addresses: readonly string[];
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts listening.
 * @throws Error (EADDRINUSE and the like from Bun.serve) when the port cannot be bound.
 */
export function startRpcServer(options: RpcServerOptions): RpcServer {
  const servers: Server<undefined>[] = [];
  const fetch = (request: Request, server: Server<undefined>) => serveRequest(request, server, options);
  const websocket = {
    maxPayloadLength: MAX_BODY_BYTES,
    open(ws: ServerWebSocket<undefined>) {
      ws.subscribe(TOPIC);
    },
    async message(ws: ServerWebSocket<undefined>, message: string | Buffer) {
      try {
        const reply = await handleText(String(message), options.dispatch);
        ws.send(JSON.stringify(reply.body));
      } catch (error) {
        options.log.error('rpc websocket message failed', { error: String(error) });
      }
    },
  };
  const listen = (hostname: string, port: number) =>
    Bun.serve({
      hostname,
      port,
      maxRequestBodySize: MAX_BODY_BYTES,
      fetch,
      websocket,
      error: (error) => {
        options.log.error('rpc request failed', { error: String(error) });
        return new Response('Internal error', { status: 500 });
      },
    });
  const first = listen(options.isListeningOnAll ? '0.0.0.0' : '127.0.0.1', options.port);
  servers.push(first);
  const port = first.port as number;
  const addresses = [`${options.isListeningOnAll ? '0.0.0.0' : '127.0.0.1'}:${port}`];
  try {
    const second = listen(options.isListeningOnAll ? '::' : '::1', port);
    servers.push(second);
    addresses.push(`[${options.isListeningOnAll ? '::' : '::1'}]:${port}`);
  } catch (error) {
    // No IPv6 on this machine (or `::` already covers IPv4): the first address is enough.
    options.log.info('rpc: not listening on IPv6', { error: String(error) });
  }
  const unsubscribe = options.subscribe((event) => {
    const notification = notificationFor(event);
    if (!notification) return;
    const text = JSON.stringify(notification);
    for (const server of servers) server.publish(TOPIC, text);
  });
  return {
    addresses,
    port,
    async stop() {
      unsubscribe();
      await Promise.all(servers.map((s) => s.stop(true)));
    },
  };
}

async function serveRequest(
  request: Request,
  server: Server<undefined>,
  options: RpcServerOptions,
): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (!isHostAllowed(request.headers.get('host'), options.isListeningOnAll)) {
    return new Response('Forbidden: Host header is not a loopback name\n', { status: 403 });
  }
  const decision = decideOrigin(request.headers.get('origin'), request.headers.get('sec-fetch-site'), options.origins);
  if (!decision.isAllowed) {
    options.log.warn('rpc request refused', { reason: decision.reason });
    return new Response(`Forbidden: ${decision.reason}\n`, { status: 403 });
  }
  if (url.pathname !== PATH) return new Response('Not Found\n', { status: 404 });
  const cors = decision.corsHeaders;
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    return server.upgrade(request) ? undefined : new Response('WebSocket upgrade failed\n', { status: 400 });
  }
  switch (request.method) {
    case 'OPTIONS':
      return new Response(null, { status: 204, headers: cors });
    case 'POST': {
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > MAX_BODY_BYTES) return new Response('Payload Too Large\n', { status: 413, headers: cors });
      let text: string;
      try {
        text = await request.text();
      } catch {
        return new Response('Payload Too Large\n', { status: 413, headers: cors });
      }
      return jsonResponse(await handleText(text, options.dispatch), cors);
    }
    case 'GET': {
      const callback = url.searchParams.get('jsoncallback');
      const reply = await handleQuery(url.searchParams, options.dispatch);
      if (callback === null) return jsonResponse(reply, cors);
      if (!JSONP_CALLBACK.test(callback)) return new Response('Bad jsoncallback\n', { status: 400, headers: cors });
      // aria2 answers JSONP with 200 whatever the outcome, so the script's callback always runs.
      return new Response(`${callback}(${JSON.stringify(reply.body)})`, {
        status: 200,
        headers: { ...cors, 'Content-Type': 'text/javascript', 'Cache-Control': 'no-cache' },
      });
    }
    default:
      return new Response('Method Not Allowed\n', { status: 405, headers: cors });
  }
}

function jsonResponse(reply: RpcReply, cors: Record<string, string>): Response {
  return new Response(JSON.stringify(reply.body), {
    status: reply.httpStatus,
    headers: { ...cors, 'Content-Type': 'application/json-rpc', 'Cache-Control': 'no-cache' },
  });
}
