/**
 * Secret redaction for everything that leaves the process as text: log records, `config show`,
 * error messages, hook environments. Redaction is textual and tolerant: it never throws, never
 * re-encodes the parts of a URL it leaves alone, and prefers hiding too much to too little.
 */

/** What every redacted secret is replaced with. */
export const REDACTED = 'REDACTED';

/**
 * Query (and fragment) parameter names, lower-cased, whose values are secrets: signed-URL
 * signatures (S3, GCS, Azure SAS, CloudFront), OAuth tokens, API keys and passwords.
 */
const SECRET_PARAM_NAMES: ReadonlySet<string> = new Set([
  'sig',
  'signature',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth',
  'authorization',
  'key',
  'api_key',
  'apikey',
  'api-key',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'client_secret',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'session_id',
  'jwt',
  'code',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
  // Azure SAS: `sig` is the signature; `se` (expiry) is hidden too so a SAS cannot be replayed
  // from the log by guessing the remaining fields.
  'se',
  // CloudFront signed URLs.
  'policy',
  'key-pair-id',
]);

/** Any parameter whose name contains one of these is a secret too (`upload_token`, `x-secret`). */
const SECRET_PARAM_PATTERN = /token|secret|passw|signature|credential|api[-_]?key/i;

/** Header names, lower-cased, whose values are secrets. */
const SECRET_HEADER_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
]);

/** Any header whose name contains one of these is a secret (`x-goog-api-key`, `x-csrf-token`). */
const SECRET_HEADER_PATTERN = /token|secret|key|auth|passw|cookie|session|signature|credential/i;

/** Headers whose values are URLs (a redirect's Location may be a pre-signed URL). */
const URL_HEADER_NAMES: ReadonlySet<string> = new Set(['location', 'content-location', 'referer', 'link']);

/**
 * Field names in log records whose values are secrets. Narrower than the header rule on
 * purpose: a log field called `key` (a config key) or `tokenCount` is not a secret; only string
 * and object values of these fields are hidden.
 */
const SECRET_FIELD_PATTERN =
  /^(?:sig|signature|api_?key|auth|netrc)$|password|passwd|secret|token|cookie|authorization|credential/i;

/** True when a query or fragment parameter with this name carries a secret. */
export function isSecretParamName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_PARAM_NAMES.has(lower) || SECRET_PARAM_PATTERN.test(lower);
}

/** True when an HTTP header with this name carries a secret. */
export function isSecretHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADER_NAMES.has(lower) || SECRET_HEADER_PATTERN.test(lower);
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Redacts the values of secret `name=value` pairs in a `&`- or `;`-separated parameter list. */
function redactParams(params: string): string {
  if (params === '') return params;
  return params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      const name = pair.slice(0, eq);
      return isSecretParamName(decodeName(name)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
}

/**
 * Returns `url` with secrets replaced by `REDACTED`: the userinfo (`https://user:pass@host` →
 * `https://REDACTED@host`) and the values of secret query and fragment parameters (`sig`,
 * `token`, `X-Amz-Signature`, `X-Amz-Credential`, ... case-insensitive). Everything else is
 * left byte for byte as given. Never throws: input that is not a URL is redacted as far as it
 * looks like one and otherwise returned unchanged.
 */
export function redactUrl(url: string): string {
  let rest = url;
  let fragment = '';
  const hashAt = rest.indexOf('#');
  if (hashAt !== -1) {
    fragment = rest.slice(hashAt + 1);
    rest = rest.slice(0, hashAt);
  }
  let query: string | null = null;
  const queryAt = rest.indexOf('?');
  if (queryAt !== -1) {
    query = rest.slice(queryAt + 1);
    rest = rest.slice(0, queryAt);
  }
  // Userinfo sits between `//` and the last `@` before the path.
  const authorityMatch = /^([a-z][a-z0-9+.-]*:)?\/\/([^/]*)/i.exec(rest);
  if (authorityMatch) {
    const authority = authorityMatch[2] ?? '';
    const at = authority.lastIndexOf('@');
    if (at !== -1) {
      const prefix = authorityMatch[1] ?? '';
      rest = `${prefix}//${REDACTED}@${authority.slice(at + 1)}${rest.slice(authorityMatch[0].length)}`;
    }
  }
  let out = rest;
  if (query !== null) out += `?${redactParams(query)}`;
  if (hashAt !== -1) out += `#${redactParams(fragment)}`;
  return out;
}

/**
 * Returns a plain-object copy of `headers` with secret values replaced by `REDACTED`:
 * Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Auth-Token and any header
 * whose name contains token, secret, key, auth, password, cookie or session. URL-valued headers
 * (Location, Referer, ...) go through `redactUrl`. Names keep the casing they were given in
 * (a `Headers` object yields lower-case names). Never throws.
 */
export function redactHeaders(headers: Record<string, string> | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: string): void => {
    const lower = name.toLowerCase();
    if (isSecretHeaderName(lower)) out[name] = REDACTED;
    else if (URL_HEADER_NAMES.has(lower)) out[name] = redactUrl(value);
    else out[name] = redactText(value);
  };
  if (headers instanceof Headers) {
    headers.forEach((value, name) => {
      add(name, value);
    });
  } else for (const [name, value] of Object.entries(headers)) add(name, String(value));
  return out;
}

/** URLs with an explicit scheme inside free text. Stops at whitespace, quotes and brackets. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`\\]+/gi;
/** `Authorization: Bearer x`, `Cookie: a=b` ... up to the end of the line. */
const SECRET_HEADER_LINE =
  /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)(\s*[:=]\s*)[^\r\n]*/gi;
/** Credentials of the Bearer and Basic schemes (RFC 6750 b64token, RFC 7617 token68). */
const AUTH_SCHEME_CREDENTIALS = /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+/g;
/** A lone `?sig=...` or `&token=...` outside a URL, e.g. a query string in an error message. */
const LONE_PARAM = /([?&])([A-Za-z0-9_.-]+)=([^&\s#"'<>]*)/g;

/**
 * Redacts secrets inside free text (messages, stderr of hooks, error strings): every URL via
 * `redactUrl`, `Bearer xyz` / `Basic xyz` credentials, `Authorization: ...`, `Cookie: ...` and
 * `Set-Cookie: ...` up to the end of the line, and secret `?name=value` parameters outside URLs.
 * Never throws.
 */
export function redactText(text: string): string {
  if (text === '') return text;
  let out = text.replace(SECRET_HEADER_LINE, (_match, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  out = out.replace(AUTH_SCHEME_CREDENTIALS, (_match, scheme: string, space: string) => `${scheme}${space}${REDACTED}`);
  out = out.replace(URL_IN_TEXT, (url) => redactUrl(url));
  out = out.replace(LONE_PARAM, (match, sep: string, name: string) =>
    isSecretParamName(decodeName(name)) ? `${sep}${name}=${REDACTED}` : match,
  );
  return out;
}

const MAX_DEPTH = 8;

/**
 * Returns a JSON-safe, redacted copy of `value` for a log record: strings go through
 * `redactText`; string or object values of fields named like secrets (`password`, `token`,
 * `authorization`, `cookie`, `secret`, ...) become `REDACTED`; fields ending in `headers` go
 * through `redactHeaders`; `URL`s through `redactUrl`; `Error`s become
 * `{name, message, code?, cause?}`; bigints become strings; cycles become `"[Circular]"` and
 * nesting deeper than 8 levels `"[Truncated]"`. Never throws.
 */
export function redactDeep(value: unknown): unknown {
  return redactValue(value, new WeakSet<object>(), 0);
}

function redactValue(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof URL) return redactUrl(value.href);
  if (value instanceof Headers) return redactHeaders(value);
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const out: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
      const code = (value as { code?: unknown }).code;
      if (code !== undefined) out.code = redactValue(code, seen, depth + 1);
      if (value.cause !== undefined) out.cause = redactValue(value.cause, seen, depth + 1);
      return out;
    }
    if (Array.isArray(value)) return value.map((item) => redactValue(item, seen, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [field, fieldValue] of Object.entries(value)) {
      if (
        SECRET_FIELD_PATTERN.test(field) &&
        (typeof fieldValue === 'string' || typeof fieldValue === 'object') &&
        fieldValue !== null
      ) {
        out[field] = REDACTED;
      } else if (/headers$/i.test(field) && fieldValue !== null && typeof fieldValue === 'object') {
        out[field] =
          fieldValue instanceof Headers
            ? redactHeaders(fieldValue)
            : redactHeaders(Object.fromEntries(Object.entries(fieldValue).map(([name, v]) => [name, String(v)])));
      } else {
        out[field] = redactValue(fieldValue, seen, depth + 1);
      }
    }
    return out;
  } catch {
    return '[Unserializable]';
  } finally {
    seen.delete(value);
  }
}
