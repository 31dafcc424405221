/**
 * Credentials at rest: what the job DB keeps of a user's secrets, read from the raw bytes of the
 * DB and WAL files (the way an attacker with the files would), not through ddm.
 */

import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import { fileSha256, KiB, Sandbox } from './helpers.ts';

/** The secrets among `secrets` found anywhere in the bytes of the job DB or its WAL. */
function secretsOnDisk(sb: Sandbox, secrets: readonly string[]): string[] {
  const files = ['ddm.db', 'ddm.db-wal'].map((f) => join(sb.home, f)).filter((f) => existsSync(f));
  const bytes = files.map((f) => readFileSync(f).toString('latin1')).join('\n');
  return secrets.filter((secret) => bytes.includes(secret));
}

describe('credentials in the job DB', () => {
  test('a completed job leaves no header, cookie, URL or message secret in the DB or WAL bytes', async () => {
    const body = generatedBody(256 * KiB, 7);
    // The signed file redirects to `/f.bin/signed?sig=...`: a secret the server made up, which the
    // failFirst 503s put into retry messages ("why", events) before the download succeeds.
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body, knobs: { expireAfterMs: 60_000, failFirst: { count: 2, status: 503 } } }],
    });
    await using sb = new Sandbox();
    const engine = await sb.startEngine(['--watch']);
    const url = server.url('/f.bin').replace('http://', 'http://alice:PW-userinfo-0001@');
    const secrets = ['Bearer-tok-0002', 'apikey-0003', 'cookie-0004', 'PW-userinfo-0001', 'query-tok-0005'];
    const id = await sb.add(
      `${url}?token=query-tok-0005`,
      '-H',
      'Authorization: Bearer Bearer-tok-0002',
      '-H',
      'X-Api-Key: apikey-0003',
      '-H',
      'Cookie: sid=cookie-0004',
      '--remember-cookies',
    );
    const done = await sb.waitForStatus(
      (s) => s.jobs.some((j) => j.id === id && j.state === 'completed'),
      'the job to complete',
    );
    expect(await fileSha256(done.jobs[0]?.path ?? '')).toBe(body.sha256Hex());
    const signed = server.requests.find((r) => r.url.includes('sig='))?.url ?? '';
    const sig = /sig=([^&]+)/.exec(signed)?.[1] ?? '';
    expect(sig).not.toBe('');
    // The request really carried them.
    const sent = server.requests.find((r) => r.path === '/f.bin');
    expect(sent?.headers.authorization).toBe('Bearer Bearer-tok-0002');
    expect(sent?.headers.cookie).toContain('cookie-0004');

    // The engine still runs (its WAL is live): the wipe must have reached the files already.
    expect(engine.proc.exitCode).toBeNull();
    expect(secretsOnDisk(sb, [...secrets, sig])).toEqual([]);
    // ddm still knows the job, with secrets redacted.
    const job = await sb.job(id);
    expect(job.url).toContain('REDACTED');
  }, 60_000);

  test('a failed job stores its error and why redacted, and remove wipes its headers', async () => {
    await using server = await startTestServer({
      redirects: { '/start': { to: '/missing.bin?sig=redirect-sig-0006&x=1' } },
    });
    await using sb = new Sandbox();
    const failed = await sb.run(['get', server.url('/start'), '-d', sb.dir, '-H', 'Authorization: Bearer kept-0007']);
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).not.toContain('redirect-sig-0006');
    // The error message quoted the redirect target: stored as REDACTED.
    expect(secretsOnDisk(sb, ['redirect-sig-0006'])).toEqual([]);
    const [job] = (await sb.status()).jobs;
    expect(job?.error?.message).toContain('sig=REDACTED');
    // A failed job may be resumed by a later process: its Authorization stays until removed.
    expect(secretsOnDisk(sb, ['kept-0007'])).toEqual(['kept-0007']);
    await sb.ok(['remove', String(job?.id)]);
    expect(secretsOnDisk(sb, ['kept-0007'])).toEqual([]);
  }, 30_000);

  test('a -H Cookie stays in memory unless --remember-cookies: add refuses it, get sends it', async () => {
    const body = generatedBody(64 * KiB, 5);
    await using server = await startTestServer({
      files: [{ path: '/c.bin', body, knobs: { requireCookie: { name: 'sid', value: 'mem-cookie-0008' } } }],
    });
    await using sb = new Sandbox();
    const refused = await sb.run(['add', server.url('/c.bin'), '-d', sb.dir, '-H', 'Cookie: sid=mem-cookie-0008']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--remember-cookies');
    expect(refused.stderr).not.toContain('mem-cookie-0008');
    expect((await sb.status()).jobs).toEqual([]);

    const got = await sb.run(['get', server.url('/c.bin'), '-d', sb.dir, '-H', 'Cookie: sid=mem-cookie-0008']);
    expect(got.exitCode).toBe(0);
    expect(await fileSha256(join(sb.dir, 'c.bin'))).toBe(body.sha256Hex());
    expect(secretsOnDisk(sb, ['mem-cookie-0008'])).toEqual([]);
  }, 30_000);
});
