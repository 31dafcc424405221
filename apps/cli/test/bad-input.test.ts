/**
 * Bad input and silent servers: a `ddm get` that cannot succeed says why in a line or two, with
 * the right exit code, and does not wait for retries that cannot help.
 */

import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startRawServer, startTestServer } from '@ddm/core/testing';
import { KiB, Sandbox } from './helpers.ts';

/** Lines a process printed on stderr. */
function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** A port nothing listens on: taken from a server that was stopped. */
async function closedPort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response('') });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

describe('-H with a forbidden character is a usage error', () => {
  const cases: [string, string][] = [
    ['CR LF in the value', 'X-Token: a\r\nEvil: b'],
    ['LF in the value', 'X-Token: a\nb'],
    ['a name that is not a token', 'Bad Name: value'],
  ];
  for (const [what, header] of cases) {
    test(`ddm get -H with ${what}: exit 2 naming the header, no request sent`, async () => {
      await using server = await startTestServer({ files: [{ path: '/f.bin', body: generatedBody(KiB, 1) }] });
      await using sb = new Sandbox();
      const result = await sb.run(['get', server.url('/f.bin'), '-d', sb.dir, '-H', header]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(header.startsWith('Bad') ? 'Bad Name' : 'X-Token');
      expect(lines(result.stderr)).toHaveLength(1);
      expect(server.requests).toHaveLength(0);
    });
  }

  test('ddm add -H with CR LF adds no job', async () => {
    await using sb = new Sandbox();
    const result = await sb.run(['add', 'http://127.0.0.1:9/f.bin', '-d', sb.dir, '-H', 'X-Token: a\r\nEvil: b']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('X-Token');
    expect((await sb.status()).jobs).toEqual([]);
  });

  test('ddm add --curl with a CR LF header: exit 2 naming the header', async () => {
    await using sb = new Sandbox();
    const command = "curl 'http://127.0.0.1:9/f.bin' -H $'X-Token: a\\r\\nEvil: b'";
    const result = await sb.run(['add', '--curl', command, '-d', sb.dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('X-Token');
    expect((await sb.status()).jobs).toEqual([]);
  });
});

describe('a failing ddm get without a terminal prints the error, not progress', () => {
  test('404: one or two lines on stderr, exit 3', async () => {
    await using server = await startTestServer({ files: [] });
    await using sb = new Sandbox();
    const result = await sb.run(['get', server.url('/missing.bin'), '-d', sb.dir]);
    expect(result.exitCode).toBe(3);
    const printed = lines(result.stderr);
    expect(printed.length).toBeGreaterThanOrEqual(1);
    expect(printed.length).toBeLessThanOrEqual(3);
    expect(printed.at(-1)).toContain('404');
    expect(result.stderr).not.toContain('ETA');
  });

  test('refused port, retried: the error line only, exit 3', async () => {
    const port = await closedPort();
    await using sb = new Sandbox();
    // Retries that span several of the printer's 3 s intervals, while the probe gets nowhere.
    const result = await sb.run(['get', `http://127.0.0.1:${port}/f.bin`, '-d', sb.dir], {
      env: { DDM_RETRY__ATTEMPTS: '3', DDM_RETRY__BASE_DELAY_MS: '1500', DDM_RETRY__MAX_DELAY_MS: '2500' },
      timeoutMs: 30_000,
    });
    expect(result.exitCode).toBe(3);
    const printed = lines(result.stderr);
    expect(printed.length).toBeLessThanOrEqual(3);
    expect(printed.at(-1)).toContain('refused');
    expect(result.stderr).not.toContain('ETA');
  }, 40_000);

  test('bad checksum: the error line only, exit 4', async () => {
    await using server = await startTestServer({ files: [{ path: '/f.bin', body: generatedBody(64 * KiB, 2) }] });
    await using sb = new Sandbox();
    const result = await sb.run(['get', server.url('/f.bin'), '-d', sb.dir, '--checksum', `sha256:${'0'.repeat(64)}`]);
    expect(result.exitCode).toBe(4);
    const printed = lines(result.stderr);
    expect(printed.length).toBeLessThanOrEqual(3);
    expect(printed.at(-1)).toContain('Checksum mismatch');
    expect(existsSync(join(sb.dir, 'f.bin'))).toBe(false);
  });
});

describe('the probe is bounded', () => {
  test('a server that accepts and never answers fails after timeouts.probe_ms, saying so', async () => {
    await using server = await startRawServer(() => {
      // Accept, read the request, never answer.
    });
    await using sb = new Sandbox();
    // connect_ms alone (15 s per request, two requests per try, six tries) would take minutes.
    const result = await sb.run(['get', server.url('/f.bin'), '-d', sb.dir], {
      env: { DDM_TIMEOUTS__PROBE_MS: '1000' },
      timeoutMs: 20_000,
    });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`No answer from 127.0.0.1:${server.port} within 1 s`);
    expect(result.stderr).toContain('ERR_TIMEOUT');
    expect(server.connectionCount).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
