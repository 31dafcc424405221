/**
 * Raw-socket HTTP servers (`Bun.listen`) for replies that `node:http` and `Bun.serve` are too
 * polite to send: a Content-Length that lies, a body longer than declared, a non-HTTP reply,
 * headers followed by a close.
 */
import type { Socket } from 'bun';

/** One accepted TCP connection, as a raw handler sees it. */
export interface RawConnection {
  /** Sequential id (1-based, per server). */
  readonly id: number;
  /** Queues bytes; resolves once the kernel took all of them (or the socket closed). */
  write(data: string | Uint8Array): Promise<void>;
  /** Closes gracefully (FIN) once queued bytes are written. */
  end(): Promise<void>;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
  readonly isClosed: boolean;
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
}

/**
 * Called for each complete request head (request line and headers, up to and excluding the
 * blank line) received on a connection. Request bodies are not read.
 */
export type RawHandler = (connection: RawConnection, requestHead: string) => void | Promise<void>;

/** A request head as the raw server received it. */
export interface RawRequestRecord {
  readonly connectionId: number;
  readonly head: string;
  /** e.g. `GET /file.bin HTTP/1.1` */
  readonly requestLine: string;
}

/** A running raw server; stop it with `stop()` or `await using`. */
export interface RawServer extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  url(path: string): string;
  readonly requests: readonly RawRequestRecord[];
  /** Connections accepted so far. */
  readonly connectionCount: number;
  stop(): Promise<void>;
}

interface Pending {
  data: Uint8Array;
  readonly resolve: () => void;
}

interface ConnectionState {
  readonly connection: RawConnection;
  head: string;
  readonly queue: Pending[];
  flush(): void;
  markClosed(): void;
}

const encoder = new TextEncoder();

/** Starts a raw HTTP/1.1 server on 127.0.0.1 with an ephemeral port. */
export async function startRawServer(handler: RawHandler): Promise<RawServer> {
  const requests: RawRequestRecord[] = [];
  const states = new Set<ConnectionState>();
  let nextId = 1;

  const listener = Bun.listen<ConnectionState>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = makeState(socket, nextId++);
        states.add(socket.data);
      },
      data(socket, chunk) {
        const state = socket.data;
        state.head += chunk.toString('latin1');
        for (let end = state.head.indexOf('\r\n\r\n'); end >= 0; end = state.head.indexOf('\r\n\r\n')) {
          const head = state.head.slice(0, end);
          state.head = state.head.slice(end + 4);
          requests.push({ connectionId: state.connection.id, head, requestLine: head.split('\r\n', 1)[0] ?? '' });
          void Promise.resolve(handler(state.connection, head)).catch(() => state.connection.destroy());
        }
      },
      drain(socket) {
        socket.data.flush();
      },
      close(socket) {
        socket.data.markClosed();
        states.delete(socket.data);
      },
      error(socket) {
        socket.data.markClosed();
      },
    },
  });

  function makeState(socket: Socket<ConnectionState>, id: number): ConnectionState {
    const queue: Pending[] = [];
    let isClosed = false;
    let lastWrite = Promise.resolve();
    let resolveClosed = () => {};
    const closed = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const flush = () => {
      while (!isClosed) {
        const item = queue[0];
        if (!item) return;
        const written = socket.write(item.data);
        if (written < item.data.length) {
          // Partial write: the rest goes out on 'drain'.
          item.data = item.data.subarray(Math.max(0, written));
          return;
        }
        queue.shift();
        item.resolve();
      }
    };
    const markClosed = () => {
      if (isClosed) return;
      isClosed = true;
      for (const item of queue.splice(0)) item.resolve();
      resolveClosed();
    };
    const connection: RawConnection = {
      id,
      write(data) {
        if (isClosed) return Promise.resolve();
        lastWrite = new Promise<void>((resolve) => {
          queue.push({ data: typeof data === 'string' ? encoder.encode(data) : data, resolve });
          if (queue.length === 1) flush();
        });
        return lastWrite;
      },
      async end() {
        await lastWrite;
        if (!isClosed) socket.end();
      },
      destroy() {
        if (!isClosed) socket.terminate();
        markClosed();
      },
      get isClosed() {
        return isClosed;
      },
      closed,
    };
    return { connection, head: '', queue, flush, markClosed };
  }

  const port = listener.port;
  const stop = async () => {
    for (const state of states) state.connection.destroy();
    listener.stop(true);
  };
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    url: (path) => `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`,
    requests,
    get connectionCount() {
      return nextId - 1;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Options for {@link lyingLength}. */
export interface LyingLengthOptions {
  /** The bytes actually sent. */
  readonly body: Uint8Array;
  /** The Content-Length declared: more than `body.length` for a short body, fewer for an overlong one. */
  readonly declaredBytes: number;
  /** @default 200 */
  readonly status?: number;
  /** Extra header lines, e.g. `{ 'accept-ranges': 'bytes' }`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A handler whose response declares `declaredBytes` but sends `body`, then closes the
 * connection gracefully (FIN), so a short body looks like a clean end of stream.
 */
export function lyingLength(options: LyingLengthOptions): RawHandler {
  return async (connection) => {
    const status = options.status ?? 200;
    const extra = Object.entries(options.headers ?? {})
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    await connection.write(
      `HTTP/1.1 ${status} ${status === 206 ? 'Partial Content' : 'OK'}\r\ncontent-type: application/octet-stream\r\n` +
        `content-length: ${options.declaredBytes}\r\n${extra}connection: close\r\n\r\n`,
    );
    await connection.write(options.body);
    await connection.end();
  };
}

/** How {@link rawResponse} frames a body. */
export type RawFraming =
  /** `Content-Length: declaredBytes` (@default the body's length). */
  | { readonly kind: 'length'; readonly declaredBytes?: number }
  /** `Transfer-Encoding: chunked`, properly terminated: no length is promised. */
  | { readonly kind: 'chunked' }
  /** Neither: the body ends when the server closes the connection. */
  | { readonly kind: 'close' };

/** Options for {@link rawResponse}. */
export interface RawResponseOptions {
  readonly status: number;
  /** Header lines besides content-type, the framing header and `connection: close`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly framing: RawFraming;
}

/**
 * Writes one response with exactly the framing asked for (whatever the status line and headers
 * promise), then closes the connection gracefully: for bodies that run past or stop short of a
 * Content-Range or a size learned earlier.
 */
export async function rawResponse(connection: RawConnection, options: RawResponseOptions): Promise<void> {
  const { framing, body } = options;
  const lines = [`HTTP/1.1 ${options.status} ${options.status === 206 ? 'Partial Content' : 'OK'}`];
  lines.push('content-type: application/octet-stream');
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  if (framing.kind === 'length') lines.push(`content-length: ${framing.declaredBytes ?? body.length}`);
  if (framing.kind === 'chunked') lines.push('transfer-encoding: chunked');
  lines.push('connection: close');
  await connection.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (framing.kind === 'chunked') {
    const chunkBytes = 64 * 1024;
    for (let at = 0; at < body.length; at += chunkBytes) {
      const chunk = body.subarray(at, at + chunkBytes);
      await connection.write(`${chunk.length.toString(16)}\r\n`);
      await connection.write(chunk);
      await connection.write('\r\n');
    }
    await connection.write('0\r\n\r\n');
  } else {
    await connection.write(body);
  }
  await connection.end();
}

/** A handler that answers a non-HTTP line (an SSH banner by default) and closes. */
export function garbage(reply = 'SSH-2.0-OpenSSH_9.6\r\n'): RawHandler {
  return async (connection) => {
    await connection.write(reply);
    await connection.end();
  };
}

/** A handler that sends a 200 head declaring `declaredBytes`, then closes with no body. */
export function headersThenClose(declaredBytes = 1024): RawHandler {
  return lyingLength({ body: new Uint8Array(0), declaredBytes });
}
