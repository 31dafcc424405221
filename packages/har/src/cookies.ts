import { type HeaderPair, headerValues } from './headers.ts';

/**
 * A cookie ddm may send, with the scope it may be sent in. Cookies are credentials: a front end
 * uses them only when the user allows it and never writes their values to the DB or logs.
 */
export interface CookieSpec {
  readonly name: string;
  readonly value: string;
  /** Lower-case host or domain, without a leading dot. */
  readonly domain: string;
  readonly path: string;
  /** Send only over https. */
  readonly secure: boolean;
  /** Send only to `domain` itself, not to its subdomains (RFC 6265 section 5.3 step 6). */
  readonly hostOnly: boolean;
}

/** A cookie as a HAR `request.cookies` item or a Cookie header carries it; scope is optional. */
export interface CookieInput {
  readonly name: string;
  readonly value: string;
  readonly domain?: string | null | undefined;
  readonly path?: string | null | undefined;
  readonly secure?: boolean | null | undefined;
}

/** `a=1; b=2` -> pairs. Pieces without `=` are skipped, as browsers do. */
export function parseCookieHeader(value: string): { name: string; value: string }[] {
  const pairs: { name: string; value: string }[] = [];
  for (const piece of value.split(';')) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const name = piece.slice(0, eq).trim();
    if (name === '') continue;
    pairs.push({ name, value: piece.slice(eq + 1).trim() });
  }
  return pairs;
}

function isIpAddress(host: string): boolean {
  return host.includes(':') || host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** RFC 6265 section 5.1.3 domain-match of a request host against a cookie domain. */
export function domainMatches(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  const d = domain.toLowerCase();
  if (h === d) return true;
  // Neither side may be an IP address: "1.127.0.0.1" must not collect cookies of 127.0.0.1.
  return h.endsWith(`.${d}`) && !isIpAddress(h) && !isIpAddress(d);
}

/** RFC 6265 section 5.1.4 path-match of a request path against a cookie path. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  const path = requestPath === '' ? '/' : requestPath;
  if (path === cookiePath) return true;
  if (!path.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || path[cookiePath.length] === '/';
}

/**
 * Gives a cookie seen on a request to `requestUrl` its scope. What the HAR says is kept when it
 * is consistent with that request; otherwise the cookie is pinned to the request host
 * (host-only), the narrowest scope the browser could have used. A domain without a dot (".com")
 * is never trusted: without a public-suffix list that is the cheap guard against a cookie
 * scoped to a whole TLD. An unknown path becomes "/": most session cookies are set that way,
 * and RFC 6265 section 8.5 notes that paths give no isolation, the domain does. An unknown
 * `secure` flag is true on https (the cookie will never go over plain http) and false on http.
 */
export function scopeCookie(cookie: CookieInput, requestUrl: URL): CookieSpec {
  const host = requestUrl.hostname.toLowerCase();
  const rawDomain = (cookie.domain ?? '').trim().toLowerCase();
  const hadDot = rawDomain.startsWith('.');
  const domain = hadDot ? rawDomain.slice(1) : rawDomain;
  let scopedDomain = host;
  let hostOnly = true;
  if (domain !== '' && domainMatches(host, domain) && (domain === host || domain.includes('.'))) {
    scopedDomain = domain;
    // ".example.com" on example.com is a domain cookie; a bare name equal to the host is
    // how browsers show host-only cookies; IP addresses only ever get host-only cookies.
    hostOnly = domain === host && (!hadDot || isIpAddress(host));
  }
  const path = cookie.path?.startsWith('/') ? cookie.path : '/';
  const secure = cookie.secure ?? requestUrl.protocol === 'https:';
  return { name: cookie.name, value: cookie.value, domain: scopedDomain, path, secure, hostOnly };
}

/** A request seen in a HAR or a curl command, as far as its cookies go. */
export interface CookieSource {
  readonly url: string;
  readonly cookies: readonly CookieInput[];
  readonly headers: readonly HeaderPair[];
}

/**
 * The cookies of some requests: each request's structured `cookies` plus those only in its
 * Cookie header (the same name is taken once per request, structured first), scoped with
 * `scopeCookie` to that request's URL. Across requests a cookie with the same name and scope is
 * kept once, with the value of the latest request (sessions rotate along a redirect chain).
 * Requests with an invalid URL contribute nothing.
 */
export function collectCookies(sources: readonly CookieSource[]): CookieSpec[] {
  const byKey = new Map<string, CookieSpec>();
  for (const source of sources) {
    let url: URL;
    try {
      url = new URL(source.url);
    } catch {
      continue;
    }
    const seen = new Set<string>();
    const inputs: CookieInput[] = [];
    for (const cookie of source.cookies) {
      if (cookie.name === '' || seen.has(cookie.name)) continue;
      seen.add(cookie.name);
      inputs.push(cookie);
    }
    for (const header of headerValues(source.headers, 'cookie')) {
      for (const pair of parseCookieHeader(header)) {
        if (seen.has(pair.name)) continue;
        seen.add(pair.name);
        inputs.push(pair);
      }
    }
    for (const input of inputs) {
      const spec = scopeCookie(input, url);
      const key = `${spec.name}\0${spec.domain}\0${spec.path}\0${spec.hostOnly}`;
      byKey.delete(key);
      byKey.set(key, spec);
    }
  }
  return [...byKey.values()];
}

/**
 * The Cookie header value to send to `url`: only cookies whose domain and path match it (RFC
 * 6265 sections 5.1.3, 5.1.4; host-only cookies need the exact host) and, for secure cookies,
 * only on https. Longer paths first (section 5.4). Null when none applies or `url` is invalid.
 */
export function cookieHeaderFor(cookies: readonly CookieSpec[], url: string | URL): string | null {
  let target: URL;
  try {
    target = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return null;
  }
  const host = target.hostname.toLowerCase();
  const isHttps = target.protocol === 'https:';
  const matching = cookies.filter((cookie) => {
    if (cookie.secure && !isHttps) return false;
    const hostOk = cookie.hostOnly ? host === cookie.domain : domainMatches(host, cookie.domain);
    return hostOk && pathMatches(target.pathname, cookie.path);
  });
  if (matching.length === 0) return null;
  const ordered = matching
    .map((cookie, order) => ({ cookie, order }))
    .sort((a, b) => b.cookie.path.length - a.cookie.path.length || a.order - b.order);
  return ordered.map(({ cookie }) => `${cookie.name}=${cookie.value}`).join('; ');
}
