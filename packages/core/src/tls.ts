/**
 * TLS trust for every request: extra CA certificates (`--cacert`, `--capath`, config
 * `tls.ca_file` / `tls.ca_path`), `--insecure` (`tls.verify = "off"`), and certificate
 * failures told apart by the `code` Bun's fetch reports, each naming the flag that helps.
 *
 * Bun 1.4.4's fetch also trusts what `SSL_CERT_FILE` and `NODE_EXTRA_CA_CERTS` name, with no
 * help from ddm; `tls: { ca }` adds to the certificates it trusts for that request.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DdmError, errnoOf } from './errors.ts';

/** What a request needs to know about TLS: extra trusted CAs (PEM) and whether to verify at all. */
export interface TlsTrust {
  /** PEM texts added to the trusted certificates; empty = the runtime's defaults only. */
  readonly caCertificates: readonly string[];
  /** False with `--insecure`: any certificate is accepted. */
  readonly isVerifying: boolean;
}

export interface TlsSettings {
  /** A PEM file of CA certificates (`--cacert`, `tls.ca_file`); null = none. */
  readonly caFile: string | null;
  /** A directory of PEM files (`--capath`, `tls.ca_path`); null = none. */
  readonly caPath: string | null;
  /** `--insecure` / `tls.verify = "off"`. */
  readonly isTlsInsecure: boolean;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemBlocks(text: string): string[] {
  return text.match(PEM_BLOCK) ?? [];
}

function readPemFile(path: string, what: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DdmError(`Cannot read the ${what}: ${path}`, { code: 'ERR_CONFIG', cause });
  }
  const blocks = pemBlocks(text);
  if (blocks.length === 0) {
    throw new DdmError(`No PEM certificate ("-----BEGIN CERTIFICATE-----") in the ${what}: ${path}`, {
      code: 'ERR_CONFIG',
    });
  }
  return blocks;
}

/**
 * Reads the CA certificates `settings` name: the file, then every `*.pem`, `*.crt`, `*.cer` and
 * OpenSSL hash link (`abcd1234.0`) in the directory.
 * @throws DdmError ERR_CONFIG naming the file or directory that cannot be read or holds no certificate.
 */
export function readCaCertificates(settings: Pick<TlsSettings, 'caFile' | 'caPath'>): string[] {
  const certificates: string[] = [];
  if (settings.caFile) certificates.push(...readPemFile(settings.caFile, 'CA certificate file (--cacert)'));
  if (settings.caPath) {
    let names: string[];
    try {
      names = readdirSync(settings.caPath).sort();
    } catch (cause) {
      throw new DdmError(`Cannot read the CA certificate directory (--capath): ${settings.caPath}`, {
        code: 'ERR_CONFIG',
        cause,
      });
    }
    const before = certificates.length;
    for (const name of names) {
      if (!/\.(pem|crt|cer)$|^[0-9a-f]{8}\.\d+$/i.test(name)) continue;
      const path = join(settings.caPath, name);
      if (!statSync(path).isFile()) continue;
      certificates.push(...pemBlocks(readFileSync(path, 'utf8')));
    }
    if (certificates.length === before) {
      throw new DdmError(`No PEM certificate in the CA certificate directory (--capath): ${settings.caPath}`, {
        code: 'ERR_CONFIG',
      });
    }
  }
  return certificates;
}

const trustCache = new Map<string, TlsTrust>();

/**
 * The trust `settings` ask for; the files are read on first use and kept for the process.
 * @throws DdmError ERR_CONFIG (see {@link readCaCertificates}).
 */
export function tlsTrustFor(settings: TlsSettings): TlsTrust {
  const key = JSON.stringify([settings.caFile, settings.caPath, settings.isTlsInsecure]);
  let trust = trustCache.get(key);
  if (!trust) {
    trust = Object.freeze({
      caCertificates: Object.freeze(readCaCertificates(settings)),
      isVerifying: !settings.isTlsInsecure,
    });
    trustCache.set(key, trust);
  }
  return trust;
}

/** What went wrong with a server's certificate, by the code Bun's fetch reports. */
export type TlsFailure = 'self-signed' | 'expired' | 'not-yet-valid' | 'wrong-host' | 'unknown-ca' | 'not-tls';

/**
 * Codes observed from Bun 1.4.4's fetch against local `Bun.serve({tls})` servers (re-checked by
 * tls.test.ts): a self-signed leaf `DEPTH_ZERO_SELF_SIGNED_CERT`, a leaf signed by an untrusted
 * CA `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, an expired one `CERT_HAS_EXPIRED`, a name mismatch
 * `ERR_TLS_CERT_ALTNAME_INVALID`, and `https://` to a plain-HTTP port `EPROTO`. The others are
 * OpenSSL's names for the same situations.
 */
const FAILURE_BY_CODE: Readonly<Record<string, TlsFailure>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'wrong-host',
  HOSTNAME_MISMATCH: 'wrong-host',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  CERT_UNTRUSTED: 'unknown-ca',
  EPROTO: 'not-tls',
};

const EXPLANATION: Readonly<Record<TlsFailure, string>> = {
  'self-signed': 'the server certificate is self-signed; trust it with --cacert <its PEM file>, or skip checks with -k',
  expired: 'the server certificate has expired; -k skips the check if you trust this server anyway',
  'not-yet-valid': 'the server certificate is not valid yet (check the clock); -k skips the check',
  'wrong-host':
    'the server certificate is for another host name; use the name it was issued for, or -k to skip the check',
  'unknown-ca':
    'the server certificate is signed by an unknown CA; add the CA with --cacert <file> or --capath <dir> (or SSL_CERT_FILE / NODE_EXTRA_CA_CERTS)',
  'not-tls': 'the TLS handshake failed: the port may speak plain HTTP (try http://)',
};

/** The TLS failure behind a fetch error, or null when it is not one. Reads the cause chain's `code`. */
export function tlsFailureOf(error: unknown): TlsFailure | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const code = errnoOf(current);
    if (code !== undefined && code in FAILURE_BY_CODE) return FAILURE_BY_CODE[code] as TlsFailure;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * An `ERR_TLS` error (not retryable: a certificate does not fix itself) for a TLS failure of a
 * request to an `https:` URL, saying what failed and which flag helps; null for other errors.
 */
export function tlsError(error: unknown, method: string, url: string): DdmError | null {
  if (!url.startsWith('https:')) return null;
  const failure = tlsFailureOf(error);
  if (failure === null) return null;
  return new DdmError(`TLS: ${EXPLANATION[failure]}: ${method} ${url}`, { code: 'ERR_TLS', cause: error });
}
