/**
 * TLS against a local `Bun.serve({tls})` server with certificates made by openssl at test time
 * (in a temp dir, deleted afterwards; no key is committed): self-signed, expired, wrong host,
 * and a leaf signed by a test CA. Each failure says what failed and which flag helps; exit 7.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedBody } from '@ddm/core/testing';
import { cliHome, sha256File } from './cli-harness.ts';

let certs = '';

function openssl(args: string[]): void {
  const result = Bun.spawnSync(['openssl', ...args], { cwd: certs, stderr: 'pipe', stdout: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr.toString()}`);
}

const SAN_LOCAL = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

beforeAll(() => {
  certs = mkdtempSync(join(tmpdir(), 'ddm-tls-test-'));
  writeFileSync(join(certs, 'local.ext'), `${SAN_LOCAL}\n`);
  writeFileSync(join(certs, 'wrong.ext'), 'subjectAltName=DNS:wrong.example\n');
  const key = (name: string) => ['-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`];
  openssl([
    'req',
    '-x509',
    ...key('self'),
    '-out',
    'self.crt',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    SAN_LOCAL,
  ]);
  openssl(['req', '-x509', ...key('ca'), '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ddm test CA']);
  for (const [name, ext] of [
    ['leaf', 'local.ext'],
    ['wrong', 'wrong.ext'],
  ] as const) {
    openssl(['req', ...key(name), '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
  }
  // OpenSSL 3.0's x509 has no -not_after: `openssl ca` signs with dates in the past.
  mkdirSync(join(certs, 'db'));
  writeFileSync(join(certs, 'db', 'index.txt'), '');
  writeFileSync(join(certs, 'db', 'serial'), '01\n');
  writeFileSync(
    join(certs, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndatabase = db/index.txt\nnew_certs_dir = db\nserial = db/serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n',
  );
  openssl(['req', ...key('expired'), '-out', 'expired.csr', '-subj', '/CN=127.0.0.1']);
  openssl([
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.crt',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    'local.ext',
  ]);
  mkdirSync(join(certs, 'capath'));
  writeFileSync(join(certs, 'capath', 'ca.pem'), readFileSync(join(certs, 'ca.crt')));
});

afterAll(() => {
  if (certs) rmSync(certs, { recursive: true, force: true });
});

const body = generatedBody(256 * 1024, 151);

/** An https server on 127.0.0.1 with certificate `name`, serving /f.bin with Range support. */
function tlsServer(name: string) {
  const bytes = body.slice(0, body.sizeBytes);
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    tls: {
      cert: readFileSync(join(certs, `${name}.crt`), 'utf8'),
      key: readFileSync(join(certs, `${name}.key`), 'utf8'),
    },
    fetch(request) {
      const range = /bytes=(\d+)-(\d*)/.exec(request.headers.get('range') ?? '');
      const headers = { 'accept-ranges': 'bytes', etag: '"t1"' };
      if (!range)
        return new Response(request.method === 'HEAD' ? null : bytes, {
          headers: { ...headers, 'content-length': String(bytes.length) },
        });
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
      return new Response(bytes.slice(start, end + 1), {
        status: 206,
        headers: { ...headers, 'content-range': `bytes ${start}-${end}/${bytes.length}` },
      });
    },
  });
}

describe('TLS', () => {
  test('a self-signed certificate: says so, names --cacert and -k, exit 7; --cacert and -k (with a warning) work', async () => {
    const server = tlsServer('self');
    try {
      using cli = cliHome();
      const url = `https://127.0.0.1:${server.port}/f.bin`;
      const refused = await cli.run(['get', url, '-d', cli.dir]);
      expect(refused.exitCode).toBe(7);
      expect(refused.stderr).toContain('self-signed');
      expect(refused.stderr).toContain('--cacert');
      expect(refused.stderr).toContain('ERR_TLS');
      const trusted = await cli.run(['get', url, '-d', cli.dir, '--cacert', join(certs, 'self.crt'), '-o', 'a.bin']);
      // Only the summary line: no warning, no error.
      expect(trusted.stderr).toMatch(/^a\.bin: 256\.0 KiB in [^\n]*\n$/);
      expect(trusted.exitCode).toBe(0);
      expect(await sha256File(join(cli.dir, 'a.bin'))).toBe(body.sha256Hex());
      const insecure = await cli.run(['get', url, '-d', cli.dir, '-k', '-o', 'b.bin']);
      expect(insecure.exitCode).toBe(0);
      expect(insecure.stderr).toContain('warning: TLS certificates are not verified');
      // The config key asks for the same, and warns the same, on every run.
      const viaEnv = await cli.run(['status'], { env: { DDM_TLS__VERIFY: 'off' } });
      expect(viaEnv.stderr).toContain('warning: TLS certificates are not verified');
    } finally {
      await server.stop(true);
    }
  }, 30_000);

  test('an unknown CA: names --cacert/--capath; --capath with the CA works', async () => {
    const server = tlsServer('leaf');
    try {
      using cli = cliHome();
      const url = `https://127.0.0.1:${server.port}/f.bin`;
      const refused = await cli.run(['get', url, '-d', cli.dir]);
      expect(refused.exitCode).toBe(7);
      expect(refused.stderr).toContain('unknown CA');
      expect(refused.stderr).toContain('--capath');
      const trusted = await cli.run(['get', url, '-d', cli.dir, '--capath', join(certs, 'capath')]);
      expect(trusted.exitCode).toBe(0);
      expect(await sha256File(join(cli.dir, 'f.bin'))).toBe(body.sha256Hex());
    } finally {
      await server.stop(true);
    }
  }, 30_000);

  test('an expired certificate and a wrong host name say so, even with the CA trusted', async () => {
    for (const [name, words] of [
      ['expired', 'expired'],
      ['wrong', 'another host name'],
    ] as const) {
      const server = tlsServer(name);
      try {
        using cli = cliHome();
        const result = await cli.run([
          'get',
          `https://127.0.0.1:${server.port}/f.bin`,
          '-d',
          cli.dir,
          '--cacert',
          join(certs, 'ca.crt'),
        ]);
        expect(result.exitCode).toBe(7);
        expect(result.stderr).toContain(words);
        expect(result.stderr).toContain('-k');
      } finally {
        await server.stop(true);
      }
    }
  }, 30_000);

  test('https:// to a plain-HTTP port says the port may speak plain HTTP', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('plain') });
    try {
      using cli = cliHome();
      const result = await cli.run(['get', `https://127.0.0.1:${server.port}/f.bin`, '-d', cli.dir]);
      expect(result.exitCode).toBe(7);
      expect(result.stderr).toContain('plain HTTP');
    } finally {
      await server.stop(true);
    }
  }, 30_000);

  test('an unreadable --cacert is a usage error naming the file', async () => {
    using cli = cliHome();
    const result = await cli.run([
      'get',
      'https://127.0.0.1:9/f.bin',
      '-d',
      cli.dir,
      '--cacert',
      '/nonexistent/ca.pem',
    ]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('/nonexistent/ca.pem');
  });
});
