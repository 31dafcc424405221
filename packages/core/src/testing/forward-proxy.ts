/**
 * A minimal HTTP forward proxy for tests that a download goes through a proxy.
 *
 * Bun's `fetch(url, { proxy })` sends an `http://` request to the proxy in absolute form
 * (`GET http://host:port/path HTTP/1.1`, with `Proxy-Connection: Keep-Alive`) and tunnels an
 * `https://` one with `CONNECT host:port`. Both are supported. Only loopback targets are
 * relayed (others get 403), so a test cannot reach the network through it.
 */
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

/** A request the proxy received. */
export interface ProxyRequestRecord {
  readonly method: string;
  /** The absolute-form target, or `host:port` for CONNECT. */
  readonly url: string;
  /** Lower-case names, as received (including `proxy-*` headers). */
  readonly headers: Readonly<Record<string, string>>;
}

/** A running proxy; stop it with `stop()` or `await using`. */
export interface ForwardProxy extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for `fetch(url, { proxy })`. */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly ProxyRequestRecord[];
  stop(): Promise<void>;
}

// RFC 9110 §7.6.1: connection-specific fields are not forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function isLoopback(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function flatten(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Starts a forward proxy on 127.0.0.1 with an ephemeral port. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const requests: ProxyRequestRecord[] = [];
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const target = req.url ?? '';
    requests.push({ method: req.method ?? 'GET', url: target, headers: flatten(req.headers) });
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Proxy needs an absolute-form request target');
      return;
    }
    if (parsed.protocol !== 'http:' || !isLoopback(parsed.hostname)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Test proxy relays to loopback http:// only');
      return;
    }
    const upstream = http.request(
      {
        host: parsed.hostname.replace(/^\[|\]$/g, ''),
        port: parsed.port || 80,
        method: req.method,
        path: `${parsed.pathname}${parsed.search}`,
        headers: endToEnd(req.headers),
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.headers));
        upstreamRes.pipe(res);
        // A body cut upstream must reach the client as a cut body, not a clean end.
        upstreamRes.once('aborted', () => res.destroy());
        upstreamRes.once('error', () => res.destroy());
      },
    );
    upstream.once('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway');
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    requests.push({ method: 'CONNECT', url: target, headers: flatten(req.headers) });
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon);
    const port = Number(target.slice(colon + 1));
    if (colon < 0 || !isLoopback(host) || !Number.isInteger(port)) {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(port, host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => client.destroy());
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
    return stopping;
  };
  return { url: `http://127.0.0.1:${port}`, port, requests, stop, [Symbol.asyncDispose]: stop };
}
