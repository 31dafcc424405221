import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { openDb, reposFor } from '@ddm/db';
import { cliHome, sha256File } from './cli-harness.ts';

const MiB = 1024 * 1024;

describe('ddm get', () => {
  test('downloads a file with 8 connections and prints its path', async () => {
    const body = generatedBody(6 * MiB, 3);
    await using server = await startTestServer({ files: [{ path: '/file.bin', body }] });
    using cli = cliHome();
    const result = await cli.run(['get', server.url('/file.bin'), '-x', '8', '-d', cli.dir]);
    // stderr has the one summary line and nothing else.
    expect(result.stderr).toMatch(/^file\.bin: 6\.0 MiB in [^\n]*, [1-8] connections?\n$/);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(join(cli.dir, 'file.bin'));
    expect(await sha256File(join(cli.dir, 'file.bin'))).toBe(body.sha256Hex());
    const ranged = server.requests.filter((r) => r.method === 'GET' && r.range && r.range !== 'bytes=0-0');
    expect(ranged.length).toBeGreaterThanOrEqual(4);
    expect(ranged.every((r) => r.headers['accept-encoding'] === 'identity')).toBe(true);
  });

  test('sends -H headers and names the file from Content-Disposition', async () => {
    const body = generatedBody(256 * 1024, 4);
    await using server = await startTestServer({
      files: [
        {
          path: '/dl',
          body,
          contentDisposition: `attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
          knobs: { requireHeaders: { 'x-token': 'abc' } },
        },
      ],
    });
    using cli = cliHome();
    const result = await cli.run(['get', server.url('/dl'), '-H', 'X-Token: abc', '-d', cli.dir]);
    expect(result.exitCode).toBe(0);
    expect(readdirSync(cli.dir)).toEqual(['résumé.pdf']);
  });

  test('never overwrites a file it did not download: an existing name gives "name (1).ext"', async () => {
    const body = generatedBody(64 * 1024, 5);
    await using server = await startTestServer({ files: [{ path: '/a.txt', body }] });
    using cli = cliHome();
    mkdirSync(cli.dir, { recursive: true });
    writeFileSync(join(cli.dir, 'a.txt'), 'mine');
    expect((await cli.run(['get', server.url('/a.txt'), '-d', cli.dir])).exitCode).toBe(0);
    expect(readdirSync(cli.dir).sort()).toEqual(['a (1).txt', 'a.txt']);
    // The same URL again is the same job: already complete, no third file (habits.test.ts).
    expect((await cli.run(['get', server.url('/a.txt'), '-d', cli.dir])).exitCode).toBe(0);
    expect(readdirSync(cli.dir).sort()).toEqual(['a (1).txt', 'a.txt']);
  });
});

describe('bad input: one line, documented exit code, no stack, nothing pretending to be complete', () => {
  function expectOneLine(stderr: string, needle: string) {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith('ddm: ');
    expect(lines[0]).toContain(needle);
    expect(stderr).not.toContain('    at ');
  }

  test('a malformed URL exits 2 and names the URL', async () => {
    using cli = cliHome();
    const result = await cli.run(['get', 'htp:/nope', '-d', cli.dir]);
    expect(result.exitCode).toBe(2);
    expectOneLine(result.stderr, 'htp:/nope');
    expect(existsSync(cli.dir) ? readdirSync(cli.dir) : []).toEqual([]);
  });

  test('an unreachable host exits 3 and names the URL', async () => {
    await using server = await startTestServer({ files: [] });
    const url = server.url('/x.bin');
    await server.stop();
    using cli = cliHome();
    const result = await cli.run(['get', url, '-d', cli.dir], {
      env: { DDM_RETRY__ATTEMPTS: '1', DDM_RETRY__BASE_DELAY_MS: '10' },
    });
    expect(result.exitCode).toBe(3);
    expectOneLine(result.stderr, url);
    expect(readdirSync(cli.dir)).toEqual([]);
  });

  test('a 404 exits 3, names the status and the URL, and leaves no file', async () => {
    await using server = await startTestServer({ files: [] });
    using cli = cliHome();
    const result = await cli.run(['get', server.url('/missing.iso'), '-d', cli.dir]);
    expect(result.exitCode).toBe(3);
    expectOneLine(result.stderr, `404`);
    expect(result.stderr).toContain(server.url('/missing.iso'));
    expect(readdirSync(cli.dir)).toEqual([]);
  });

  test('an unwritable --dir exits 5 and names the directory', async () => {
    await using server = await startTestServer({ files: [{ path: '/a', body: generatedBody(1024, 1) }] });
    using cli = cliHome();
    const blocker = join(cli.home, 'not-a-dir');
    await Bun.write(blocker, 'x');
    const result = await cli.run(['get', server.url('/a'), '-d', join(blocker, 'sub')]);
    expect(result.exitCode).toBe(5);
    expectOneLine(result.stderr, join(blocker, 'sub'));
  });

  test('an unknown option or command exits 2', async () => {
    using cli = cliHome();
    const a = await cli.run(['get', 'http://127.0.0.1:1/a', '--frobnicate']);
    expect(a.exitCode).toBe(2);
    expectOneLine(a.stderr, 'frobnicate');
    const b = await cli.run(['fetch']);
    expect(b.exitCode).toBe(2);
    expectOneLine(b.stderr, 'fetch');
  });

  test('a bad header, connection count or checksum exits 2 and names it', async () => {
    using cli = cliHome();
    for (const [args, needle] of [
      [['-H', 'NoColonHere'], 'NoColonHere'],
      [['-x', '0'], '--connections'],
      [['--checksum', 'sha256:xyz'], 'sha256:xyz'],
    ] as const) {
      const r = await cli.run(['get', 'http://127.0.0.1:9/a', ...args]);
      expect(r.exitCode).toBe(2);
      expectOneLine(r.stderr, needle);
    }
  });

  test('DDM_DEBUG=1 shows the stack', async () => {
    using cli = cliHome();
    const result = await cli.run(['get', 'htp:/nope'], { env: { DDM_DEBUG: '1' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('    at ');
  });

  test('a database from a newer ddm is refused, not touched', async () => {
    using cli = cliHome();
    expect((await cli.run(['run'])).exitCode).toBe(0);
    const db = openDb(join(cli.home, 'ddm.db'));
    db.run("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)");
    db.close();
    const result = await cli.run(['status']);
    expect(result.exitCode).toBe(5);
    expectOneLine(result.stderr, 'newer');
  });
});

describe('add, run, status', () => {
  test('add --json prints ids; run downloads them; status --json reports completed', async () => {
    const a = generatedBody(2 * MiB, 7);
    const b = generatedBody(1 * MiB, 8);
    await using server = await startTestServer({
      files: [
        { path: '/a.bin', body: a },
        { path: '/b.bin', body: b },
      ],
    });
    using cli = cliHome();
    const added = await cli.run(['add', server.url('/a.bin'), server.url('/b.bin'), '-d', cli.dir, '--json']);
    expect(added.exitCode).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ ids: [1, 2] });
    const queued = JSON.parse((await cli.run(['status', '--json'])).stdout);
    expect(queued.jobs.map((j: { state: string }) => j.state)).toEqual(['queued', 'queued']);
    const ran = await cli.run(['run']);
    expect(ran.exitCode).toBe(0);
    const status = JSON.parse((await cli.run(['status', '--json'])).stdout);
    expect(status.jobs.map((j: { state: string }) => j.state)).toEqual(['completed', 'completed']);
    expect(status.jobs[0]).toMatchObject({ sizeBytes: 2 * MiB, doneBytes: 2 * MiB, error: null });
    expect(await sha256File(join(cli.dir, 'a.bin'))).toBe(a.sha256Hex());
    expect(await sha256File(join(cli.dir, 'b.bin'))).toBe(b.sha256Hex());
  });

  test("run exits with the failed job's code (3 for a 404) and status names the error", async () => {
    await using server = await startTestServer({ files: [] });
    using cli = cliHome();
    await cli.run(['add', server.url('/gone'), '-d', cli.dir]);
    const ran = await cli.run(['run']);
    expect(ran.exitCode).toBe(3);
    const status = await cli.run(['status', '1']);
    expect(status.stdout).toContain('ERR_HTTP_STATUS');
    expect(status.stdout).toContain('404');
  });
});

describe('resume', () => {
  test('resumes from persisted offsets after kill -9 and re-fetches little', async () => {
    const size = 32 * MiB;
    const body = generatedBody(size, 9);
    await using server = await startTestServer({
      files: [{ path: '/big.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    using cli = cliHome();
    const proc = cli.spawn(['get', server.url('/big.bin'), '-x', '4', '-d', cli.dir]);
    await waitFor(() => server.bytesServed('/big.bin') > size * 0.4, { timeoutMs: 30_000, what: '40% served' });
    proc.kill('SIGKILL');
    await proc.exited;
    const servedBefore = server.bytesServed('/big.bin');
    const repos = reposFor(openDb(join(cli.home, 'ddm.db')));
    const checkpointed = repos.segments.list(1).reduce((s, seg) => s + seg.writtenBytes, 0);
    repos.db.close();
    expect(checkpointed).toBeGreaterThan(0);
    server.reset();
    const result = await cli.run(['run'], { env: {} });
    expect(result.exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'big.bin'))).toBe(body.sha256Hex());
    const refetched = server.bytesServed('/big.bin') - (size - servedBefore);
    // Whatever was served but not checkpointed is fetched again: at most a checkpoint interval per connection.
    expect(refetched).toBeLessThan(size * 0.2);
    expect(server.bytesServed('/big.bin')).toBeLessThanOrEqual(size - checkpointed + 1024 * 1024);
  }, 60_000);

  test('Ctrl+C (SIGINT) checkpoints, exits 130, and run continues', async () => {
    const size = 24 * MiB;
    const body = generatedBody(size, 10);
    await using server = await startTestServer({
      files: [{ path: '/c.bin', body, knobs: { throttleBytesPerSec: 4 * MiB } }],
    });
    using cli = cliHome();
    const proc = cli.spawn(['get', server.url('/c.bin'), '-x', '4', '-d', cli.dir]);
    await waitFor(() => server.bytesServed('/c.bin') > size * 0.3, { timeoutMs: 30_000, what: '30% served' });
    proc.kill('SIGINT');
    expect(await proc.exited).toBe(130);
    const repos = reposFor(openDb(join(cli.home, 'ddm.db')));
    expect(repos.jobs.get(1)?.state).toBe('queued');
    const checkpointed = repos.segments.list(1).reduce((s, seg) => s + seg.writtenBytes, 0);
    repos.db.close();
    const served = server.bytesServed('/c.bin');
    expect(checkpointed).toBeGreaterThan(served - 256 * 1024 * 4 - 1);
    expect((await cli.run(['run'])).exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'c.bin'))).toBe(body.sha256Hex());
  }, 60_000);
});

test('a job keeps its absolute directory: run from another working directory resumes the same file', async () => {
  const body = generatedBody(1 * MiB, 12);
  await using server = await startTestServer({ files: [{ path: '/w.bin', body }] });
  using cli = cliHome();
  const added = await cli.run(['add', server.url('/w.bin'), '-d', 'rel-out'], { cwd: cli.home.replace(/home$/, '') });
  expect(added.exitCode).toBe(0);
  writeFileSync(join(cli.home, 'marker'), '');
  const ran = await cli.run(['run'], { cwd: '/' });
  expect(ran.exitCode).toBe(0);
  expect(existsSync(join(cli.home, '..', 'rel-out', 'w.bin'))).toBe(true);
});
