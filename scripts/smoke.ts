/**
 * Smoke test of a compiled ddm binary: --version and the User-Agent carry package.json's version,
 * --help, and `ddm get` of a 16 MiB file from a local server with 8 connections, checked by SHA-256. Usage: bun scripts/smoke.ts dist/ddm
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import rootPackage from '../package.json' with { type: 'json' };

const binary = resolve(process.argv[2] ?? 'dist/ddm');
const work = mkdtempSync(join(tmpdir(), 'ddm-smoke-'));
const body = generatedBody(16 * 1024 * 1024, 42);
const server = await startTestServer({ files: [{ path: '/smoke.bin', body }] });

async function ddm(args: string[]) {
  const proc = Bun.spawn([binary, ...args], {
    env: { ...process.env, DDM_HOME: join(work, 'home') },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

function check(ok: boolean, what: string, detail = ''): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : `: ${detail}`}`);
  if (!ok) process.exitCode = 1;
}

try {
  const version = await ddm(['--version']);
  check(
    version.code === 0 && version.stdout.startsWith(`ddm ${rootPackage.version} (bun ${Bun.version})`),
    `ddm --version is "ddm ${rootPackage.version} (bun ${Bun.version})"`,
    version.stdout + version.stderr,
  );
  const help = await ddm(['--help']);
  check(help.code === 0 && help.stdout.includes('get [...urls]'), 'ddm --help', help.stderr);
  const get = await ddm(['get', server.url('/smoke.bin'), '-c', '8', '-d', join(work, 'out')]);
  check(get.code === 0, 'ddm get exits 0', `${get.code} ${get.stderr}`);
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(join(work, 'out', 'smoke.bin')).stream()) hasher.update(chunk);
  check(hasher.digest('hex') === body.sha256Hex(), 'downloaded file has the right SHA-256');
  const agents = new Set(server.requests.map((r) => r.headers['user-agent']));
  check(
    agents.size === 1 && agents.has(`ddm/${rootPackage.version}`),
    `User-Agent is ddm/${rootPackage.version}`,
    [...agents].join(', '),
  );
  const status = await ddm(['status', '--json']);
  check(
    status.code === 0 && JSON.parse(status.stdout).jobs[0]?.state === 'completed',
    'ddm status --json',
    status.stderr,
  );
  const bad = await ddm(['get', 'not a url']);
  check(
    bad.code === 2 && bad.stderr.startsWith('ddm: ') && !bad.stderr.includes('    at '),
    'bad URL: exit 2, one line',
    bad.stderr,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
