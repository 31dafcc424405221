/**
 * One HTTP exchange with ddm's rules: redirects followed by hand (at most 10, loops detected,
 * credentials dropped when a hop leaves the original host), `Accept-Encoding: identity`, a
 * timeout until the response head arrives, proxies, and errors classified at this edge.
 */
import { DdmError, errnoOf } from './errors.ts';
import { isSecretHeaderName, redactUrl } from './redact.ts';
import { classifyError, isConnectionRefused } from './retry.ts';
import { type TlsTrust, tlsError } from './tls.ts';

export interface RequestContext {
  /** Headers the user gave (or a HAR / curl import): sent on every hop to the original host. */
  headers: Record<string, string>;
  /** Cookie header for a URL (cookies scoped to their domain and path), or null. */
  cookieHeaderFor?: (url: string) => string | null;
  /** Authorization for a host from ~/.netrc, or null. */
  authorizationFor?: (url: string) => string | null;
  /** Proxy URL for a target URL, or undefined. */
  proxyFor?: (url: string) => string | undefined;
  userAgent?: string;
  connectTimeoutMs: number;
  /**
   * Deadline for a probe (`probe()`) to get an answer, over all the tries made with this
   * context; unset means each request only has `connectTimeoutMs`.
   */
  probeTimeoutMs?: number;
  /** Extra trusted CAs and `--insecure`; absent = the runtime's defaults, verified. */
  tls?: TlsTrust;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'HEAD';
  /** Inclusive byte range per RFC 9110 §14.1.2; `end` null means to the end. */
  range?: { start: number; end: number | null } | null;
  /** Validator for If-Range (RFC 9110 §13.1.5): a strong ETag or an HTTP-date. */
  ifRange?: string | null;
  signal: AbortSignal;
  maxRedirects?: number;
  /**
   * The URL the user asked for, whose host the user's credentials belong to. Segment requests
   * go straight to the final (redirected) URL, which may be on another host: without this they
   * would count that host as the origin and send it Authorization and Cookie.
   * @default url
   */
  originUrl?: string;
  /** Open a new connection rather than reuse a pooled one (`ddm bench` measures fresh ones). @default false */
  isFreshConnection?: boolean;
}

export interface HttpResponse {
  response: Response;
  /** URL that answered (after redirects). */
  finalUrl: string;
  /** Every URL visited, first to last. */
  chain: string[];
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Hosts compare by hostname and port (RFC 6454 origin minus scheme, as curl does for credentials). */
function sameHost(a: URL, b: URL): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase();
}

function headersForHop(ctx: RequestContext, req: HttpRequest, hopUrl: URL, originUrl: URL): Headers {
  const headers = new Headers();
  const crossesHost = !sameHost(hopUrl, originUrl);
  for (const [name, value] of Object.entries(ctx.headers)) {
    // Authorization, Cookie, X-Api-Key and other secret-looking headers stay with the original host.
    if (crossesHost && isSecretHeaderName(name)) continue;
    headers.set(name, value);
  }
  if (!headers.has('user-agent') && ctx.userAgent) headers.set('user-agent', ctx.userAgent);
  if (!headers.has('accept')) headers.set('accept', '*/*');
  // Bun asks for compressed bodies by default; a compressed segment would land at wrong offsets.
  headers.set('accept-encoding', 'identity');
  // Jar cookies are scoped to their own domain and path, so they may go to whichever hop matches.
  const cookie = ctx.cookieHeaderFor?.(hopUrl.href);
  if (cookie) {
    const given = headers.get('cookie');
    headers.set('cookie', given ? `${given}; ${cookie}` : cookie);
  }
  if (!headers.has('authorization')) {
    const auth = ctx.authorizationFor?.(hopUrl.href);
    if (auth) headers.set('authorization', auth);
  }
  if (req.range) {
    headers.set('range', `bytes=${req.range.start}-${req.range.end ?? ''}`);
    if (req.ifRange) headers.set('if-range', req.ifRange);
  }
  return headers;
}

/**
 * Sends the request, following redirects.
 * @throws DdmError ERR_INVALID_URL, ERR_NETWORK (retryable), ERR_TIMEOUT (retryable),
 *   ERR_TOO_MANY_REDIRECTS, ERR_REDIRECT_LOOP; rethrows the signal's reason when aborted.
 */
export async function sendRequest(ctx: RequestContext, req: HttpRequest): Promise<HttpResponse> {
  const origin = parseHttpUrl(req.originUrl ?? req.url);
  const chain: string[] = [];
  const seen = new Set<string>();
  const maxRedirects = req.maxRedirects ?? 10;
  let url = req.originUrl === undefined ? origin : parseHttpUrl(req.url);
  const method = req.method ?? 'GET';
  for (;;) {
    if (seen.has(url.href)) {
      throw new DdmError(`Redirect loop: ${[...chain, url.href].join(' -> ')}`, { code: 'ERR_REDIRECT_LOOP' });
    }
    seen.add(url.href);
    chain.push(url.href);
    const response = await fetchOnce(ctx, req, url, origin, method);
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || !location) {
      return { response, finalUrl: url.href, chain };
    }
    await response.body?.cancel().catch(() => {});
    if (chain.length > maxRedirects) {
      throw new DdmError(`More than ${maxRedirects} redirects: ${req.url}`, { code: 'ERR_TOO_MANY_REDIRECTS' });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (cause) {
      throw new DdmError(`Redirect to an invalid URL "${location}": ${url.href}`, { code: 'ERR_INVALID_URL', cause });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new DdmError(`Redirect to a non-HTTP URL ${next.protocol}: ${url.href}`, { code: 'ERR_INVALID_URL' });
    }
    url = next;
  }
}

async function fetchOnce(
  ctx: RequestContext,
  req: HttpRequest,
  url: URL,
  origin: URL,
  method: 'GET' | 'HEAD',
): Promise<Response> {
  const headTimer = new AbortController();
  const timer = setTimeout(
    () =>
      headTimer.abort(
        new DdmError(`No response within ${ctx.connectTimeoutMs} ms: ${method} ${url.href}`, {
          code: 'ERR_TIMEOUT',
          retryable: true,
        }),
      ),
    ctx.connectTimeoutMs,
  );
  const signal = AbortSignal.any([req.signal, headTimer.signal]);
  let proxy: string | undefined;
  try {
    const init: RequestInit & {
      proxy?: string;
      decompress?: boolean;
      tls?: { rejectUnauthorized: boolean; ca?: string[] };
    } = {
      method,
      headers: headersForHop(ctx, req, url, origin),
      redirect: 'manual',
      signal,
      decompress: false,
    };
    if (req.isFreshConnection) init.keepalive = false;
    proxy = ctx.proxyFor?.(url.href);
    if (proxy) init.proxy = proxy;
    if (ctx.tls && (!ctx.tls.isVerifying || ctx.tls.caCertificates.length > 0)) {
      init.tls = { rejectUnauthorized: ctx.tls.isVerifying };
      if (ctx.tls.caCertificates.length > 0) init.tls.ca = [...ctx.tls.caCertificates];
    }
    return await fetch(url.href, init);
  } catch (error) {
    if (req.signal.aborted) throw req.signal.reason ?? error;
    if (headTimer.signal.aborted) throw headTimer.signal.reason;
    throw networkError(error, method, url.href, proxy);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wraps a fetch/socket failure as a DdmError, keeping the errno in the message: a certificate
 * or handshake failure of an `https:` URL is ERR_TLS (see tls.ts); a refused connection through
 * a proxy is the proxy's failure and names it; anything else is classified by `classifyError`.
 */
export function networkError(error: unknown, method: string, url: string, proxy?: string): DdmError {
  if (error instanceof DdmError) return error;
  // Through a proxy the socket goes to the proxy: a target that refuses would come back as 502.
  if (proxy && isConnectionRefused(error)) {
    return new DdmError(`Cannot connect to the proxy ${redactUrl(proxy)} (connection refused): ${method} ${url}`, {
      code: 'ERR_NETWORK',
      retryable: true,
      cause: error,
    });
  }
  const tls = tlsError(error, method, url);
  if (tls) return tls;
  const code = errnoOf(error);
  const what = code ? describeErrno(code) : 'Network error';
  const kind = classifyError(error);
  return new DdmError(`${what}: ${method} ${url}`, { code: kind.code, retryable: kind.retryable, cause: error });
}

function describeErrno(code: string): string {
  switch (code) {
    case 'ConnectionRefused':
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ConnectionClosed':
    case 'ECONNRESET':
      return 'Connection closed by the server';
    case 'FailedToOpenSocket':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Cannot resolve or reach the host';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    default:
      return `Network error (${code})`;
  }
}

/**
 * Parses an absolute http(s) URL.
 * @throws DdmError ERR_INVALID_URL naming the text.
 */
export function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new DdmError(`Invalid URL: ${text}`, { code: 'ERR_INVALID_URL', cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DdmError(`Only http and https URLs are supported: ${text}`, { code: 'ERR_INVALID_URL' });
  }
  if (!url.hostname) throw new DdmError(`URL has no host: ${text}`, { code: 'ERR_INVALID_URL' });
  return url;
}
