/**
 * Proxy selection, following curl's rules: `--proxy` beats the `proxy` config key beats the
 * environment, and `NO_PROXY` applies to all three.
 */

export interface ProxySettings {
  env: Record<string, string | undefined>;
  /** The `proxy` config key; empty or undefined means "not set" (fall back to the environment). */
  configProxy?: string | undefined;
  /** `--proxy <url>`; an empty string means "no proxy", even when the environment names one. */
  flagProxy?: string | undefined;
}

/** Reads the lower-case variable first (curl's order), then the upper-case one. */
function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const lower = env[name.toLowerCase()];
  if (lower !== undefined && lower !== '') return lower;
  const upper = env[name.toUpperCase()];
  return upper !== undefined && upper !== '' ? upper : undefined;
}

/** A proxy written without a scheme (`proxy.example:3128`) is an HTTP proxy, as in curl. */
function withScheme(proxy: string): string {
  const trimmed = proxy.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

/** Parses a dotted-quad IPv4 address into a 32-bit number, or null. */
function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** Expands an IPv6 address (no brackets, no zone) into 8 16-bit groups, or null. */
function parseIpv6(text: string): number[] | null {
  if (!text.includes(':')) return null;
  let address = text;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  const ipv4Tail = parseIpv4(address.slice(lastColon + 1));
  if (ipv4Tail !== null) {
    tail.push(Math.floor(ipv4Tail / 65536), ipv4Tail % 65536);
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (part === undefined || part === '') return [];
    const groups: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (head === null || rest === null) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  if (tail.length === 2) groups.splice(6, 2, tail[0] ?? 0, tail[1] ?? 0);
  return groups;
}

/** True when `host` lies in `cidr` (`10.0.0.0/8`, `fd00::/8`); false for malformed input. */
function isInCidr(host: string, cidr: string): boolean {
  const slash = cidr.indexOf('/');
  const network = cidr.slice(0, slash);
  const prefixBits = Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefixBits) || prefixBits < 0) return false;
  const hostV4 = parseIpv4(host);
  const networkV4 = parseIpv4(network);
  if (hostV4 !== null && networkV4 !== null) {
    if (prefixBits > 32) return false;
    const size = 2 ** (32 - prefixBits);
    return Math.floor(hostV4 / size) === Math.floor(networkV4 / size);
  }
  const hostV6 = parseIpv6(host);
  const networkV6 = parseIpv6(network);
  if (hostV6 === null || networkV6 === null || prefixBits > 128) return false;
  for (let group = 0; group < 8; group++) {
    const bits = Math.min(16, Math.max(0, prefixBits - group * 16));
    if (bits === 0) return true;
    const size = 2 ** (16 - bits);
    if (Math.floor((hostV6[group] ?? 0) / size) !== Math.floor((networkV6[group] ?? 0) / size)) return false;
  }
  return true;
}

/** Splits a NO_PROXY entry into host and optional port: `host`, `host:port`, `[v6]:port`. */
function splitEntry(entry: string): { host: string; port: string | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] ?? null };
  const hostPort = /^([^:]+):(\d+)$/.exec(entry);
  if (hostPort) return { host: hostPort[1] ?? '', port: hostPort[2] ?? null };
  return { host: entry, port: null };
}

/**
 * True when `NO_PROXY` (or `no_proxy`) exempts `url`. Entries are separated by commas or
 * whitespace and matched case-insensitively:
 * - `*` exempts every host;
 * - `example.com`, `.example.com` and `*.example.com` exempt example.com and its subdomains;
 * - `example.com:8080` exempts that host on that port only (default ports count);
 * - `10.1.2.3`, `::1` exempt that IP; `10.0.0.0/8`, `fd00::/8` an IP range.
 * `localhost` and `127.0.0.1` are not exempt unless listed.
 */
export function isNoProxy(url: string, env: Record<string, string | undefined>): boolean {
  const noProxy = envValue(env, 'no_proxy');
  if (noProxy === undefined) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  const port = parsed.port === '' ? defaultPort(parsed.protocol) : parsed.port;
  for (const rawEntry of noProxy.split(/[\s,]+/)) {
    const entry = rawEntry.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const { host: entryHostRaw, port: entryPort } = splitEntry(entry);
    if (entryPort !== null && entryPort !== port) continue;
    if (entryHostRaw.includes('/')) {
      if (isInCidr(host, entryHostRaw)) return true;
      continue;
    }
    const entryHost = entryHostRaw.replace(/^\*?\.+/, '').replace(/\.$/, '');
    if (entryHost === '') continue;
    if (host === entryHost || host.endsWith(`.${entryHost}`)) return true;
    // Compare IPv6 literals in canonical form (`::1` and `0:0:0:0:0:0:0:1`).
    const hostV6 = parseIpv6(host);
    const entryV6 = parseIpv6(entryHost);
    if (hostV6 !== null && entryV6 !== null && hostV6.every((group, index) => group === entryV6[index])) {
      return true;
    }
  }
  return false;
}

/**
 * The proxy URL to use for `url`, or undefined for a direct connection. Precedence:
 * `flagProxy` (an empty string forces a direct connection), then `configProxy`, then the
 * environment: `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/`HTTP_PROXY` for http
 * URLs, then `all_proxy`/`ALL_PROXY` (lower-case wins, as in curl). `NO_PROXY` exempts hosts
 * from any of them, as with curl's `-x`. A proxy without a scheme gets `http://`. URLs that are
 * not http(s) or do not parse get no proxy. Pure; never throws.
 */
export function proxyForUrl(url: string, settings: ProxySettings): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') return undefined;
  let proxy: string | undefined;
  if (settings.flagProxy !== undefined) {
    if (settings.flagProxy.trim() === '') return undefined;
    proxy = settings.flagProxy;
  } else if (settings.configProxy !== undefined && settings.configProxy.trim() !== '') {
    proxy = settings.configProxy;
  } else {
    proxy =
      envValue(settings.env, protocol === 'https:' ? 'https_proxy' : 'http_proxy') ??
      envValue(settings.env, 'all_proxy');
  }
  if (proxy === undefined || isNoProxy(url, settings.env)) return undefined;
  return withScheme(proxy);
}
