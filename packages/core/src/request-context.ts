/**
 * The one builder of a request context: what every request of a job, a probe outside a job
 * (`ddm refresh`, HAR and curl imports) or `ddm bench` sends besides its URL: the user's
 * headers, cookies scoped to their domain, netrc credentials for the host of each hop, the
 * proxy for each URL, the User-Agent and the head timeout. `http.ts` applies it per hop (and
 * drops secret headers when a hop leaves the original host).
 */
import type { JobRow, JobSettings } from '@ddm/db';
import { cookieHeaderFor } from '@ddm/har';
import type { RequestContext } from './http.ts';
import { basicAuthHeader, type NetrcEntry, netrcCredentialsFor } from './netrc.ts';
import { proxyForUrl } from './proxy.ts';
import type { EngineSettings } from './settings.ts';
import { tlsTrustFor } from './tls.ts';

/** What is the same for every request of a process: settings, environment, proxy flag, netrc. */
export interface RequestEnvironment {
  readonly settings: Pick<
    EngineSettings,
    'userAgent' | 'connectTimeoutMs' | 'probeTimeoutMs' | 'proxy' | 'caFile' | 'caPath' | 'isTlsInsecure'
  >;
  /** Where `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` are read from. */
  readonly env: Record<string, string | undefined>;
  /** `--proxy`: overrides config and environment; '' disables proxies. */
  readonly flagProxy?: string | undefined;
  /** Read once per process (`readNetrcFile`). */
  readonly netrc?: readonly NetrcEntry[] | undefined;
}

/** What one request (a job, an imported request) adds. */
export interface RequestOwnParts {
  /** Sent on every hop to the original host; secret ones never to another host. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Cookies stored with the job (`--remember-cookies`), each sent only where it is scoped. */
  readonly cookies?: JobSettings['cookies'];
  /** In-memory cookies (not stored in the DB); they win over `cookies`. */
  readonly cookieHeaderFor?: ((url: string) => string | null) | undefined;
}

/**
 * The request context for `request` in `environment`. Reads no file except the CA certificates
 * the settings name, once per process (`tlsTrustFor`).
 * @throws DdmError ERR_CONFIG when a CA file or directory cannot be read.
 */
export function buildRequestContext(environment: RequestEnvironment, request: RequestOwnParts = {}): RequestContext {
  const netrc = environment.netrc ?? [];
  const stored = request.cookies;
  return {
    headers: { ...request.headers },
    cookieHeaderFor:
      request.cookieHeaderFor ??
      (stored && stored.length > 0 ? (url: string) => cookieHeaderFor(stored, url) : undefined),
    authorizationFor: (url) => {
      const creds = netrcCredentialsFor(netrc, new URL(url).hostname);
      return creds ? basicAuthHeader(creds.login, creds.password) : null;
    },
    proxyFor: (url) =>
      proxyForUrl(url, {
        env: environment.env,
        configProxy: environment.settings.proxy ?? undefined,
        flagProxy: environment.flagProxy,
      }),
    userAgent: environment.settings.userAgent,
    connectTimeoutMs: environment.settings.connectTimeoutMs,
    probeTimeoutMs: environment.settings.probeTimeoutMs,
    tls: tlsTrustFor({
      caFile: environment.settings.caFile ?? null,
      caPath: environment.settings.caPath ?? null,
      isTlsInsecure: environment.settings.isTlsInsecure ?? false,
    }),
  };
}

/**
 * Why a queued job cannot run in this process: headers or cookies it needs were kept in the
 * memory of the process that added it (not stored), and this process has none for it; null
 * when it can run.
 */
export function missingCredentials(job: JobRow, hasSecretsHere: boolean): string | null {
  const withheld = job.settings.withheldHeaders ?? [];
  const needsCookies = job.settings.needsCookies === true && !job.settings.cookies;
  if ((withheld.length > 0 || needsCookies) && !hasSecretsHere) {
    const what = [...withheld, ...(needsCookies ? ['cookies'] : [])].join(', ');
    return `Job ${job.id} needs its credentials again (${what} were not stored): run \`ddm refresh ${job.id} --har <file>\` or add it again`;
  }
  return null;
}
