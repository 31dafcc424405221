/**
 * Habits of aria2c, curl and wget users (issue 13): the same command continues, -c adopts a
 * checked partial file, -x for connections, URL lists, several ids, clear, checksum lists,
 * fail-fast refusals, request flags. Each test spawns the real CLI against local servers.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bodySlice, generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { openDb, reposFor } from '@ddm/db';
import { cliHome, MAIN, sha256File } from './cli-harness.ts';

const MiB = 1024 * 1024;

interface Job {
  id: number;
  state: string;
  path: string;
  why: string | null;
}

async function jobs(cli: ReturnType<typeof cliHome>): Promise<Job[]> {
  const result = await cli.run(['status', '--json']);
  return (JSON.parse(result.stdout) as { jobs: Job[] }).jobs;
}

/** A port nothing listens on: a server's, after it stopped. */
async function deadPort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

describe('the same command continues what was started', () => {
  test('get after a kill continues the job from its checkpoint instead of saving "name (1)"', async () => {
    const size = 16 * MiB;
    const body = generatedBody(size, 131);
    await using server = await startTestServer({
      files: [{ path: '/same.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    using cli = cliHome();
    const proc = cli.spawn(['get', server.url('/same.bin'), '-x', '4', '-d', cli.dir]);
    await waitFor(
      () => {
        if (!existsSync(join(cli.home, 'ddm.db'))) return false;
        const repos = reposFor(openDb(join(cli.home, 'ddm.db')));
        try {
          return repos.segments.list(1).reduce((s, seg) => s + seg.writtenBytes, 0) > 2 * MiB;
        } finally {
          repos.db.close();
        }
      },
      { timeoutMs: 30_000, what: 'a checkpoint past 2 MiB' },
    );
    proc.kill('SIGKILL');
    await proc.exited;
    const servedBefore = server.bytesServed('/same.bin');
    const again = await cli.run(['get', server.url('/same.bin'), '-x', '4', '-d', cli.dir]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('Continuing job 1');
    expect(again.stdout.trim()).toBe(join(cli.dir, 'same.bin'));
    expect(readdirSync(cli.dir)).toEqual(['same.bin']);
    expect(await sha256File(join(cli.dir, 'same.bin'))).toBe(body.sha256Hex());
    // Continued, not started over: the second run fetched less than the whole file.
    expect(server.bytesServed('/same.bin') - servedBefore).toBeLessThan(size);
    expect((await jobs(cli)).map((j) => j.id)).toEqual([1]);
  }, 60_000);

  test('a completed download is reported complete (exit 0, path); --overwrite downloads it again', async () => {
    const body = generatedBody(512 * 1024, 132);
    await using server = await startTestServer({ files: [{ path: '/done.bin', body }] });
    using cli = cliHome();
    expect((await cli.run(['get', server.url('/done.bin'), '-d', cli.dir])).exitCode).toBe(0);
    const gets = () => server.requests.filter((r) => r.method === 'GET').length;
    const before = gets();
    const again = await cli.run(['get', server.url('/done.bin'), '-d', cli.dir]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim()).toBe(join(cli.dir, 'done.bin'));
    expect(again.stderr).toContain('Already complete');
    expect(gets()).toBe(before);
    const forced = await cli.run(['get', server.url('/done.bin'), '-d', cli.dir, '--overwrite']);
    expect(forced.exitCode).toBe(0);
    expect(gets()).toBeGreaterThan(before);
    expect(readdirSync(cli.dir)).toEqual(['done.bin']);
  });

  test('a queued or failed job does not block its own retry: get reuses it, same name', async () => {
    const body = generatedBody(256 * 1024, 133);
    await using server = await startTestServer({
      files: [{ path: '/q.bin', body, knobs: { failFirst: { count: 1, status: 404 } } }],
    });
    using cli = cliHome();
    // The first try fails (404 is not retried), leaving a failed job.
    const failed = await cli.run(['get', server.url('/q.bin'), '-d', cli.dir]);
    expect(failed.exitCode).toBe(3);
    const retried = await cli.run(['get', server.url('/q.bin'), '-d', cli.dir]);
    expect(retried.exitCode).toBe(0);
    expect(retried.stdout.trim()).toBe(join(cli.dir, 'q.bin'));
    // A queued one (ddm add, no engine) is the job a later get runs.
    const added = await cli.run(['add', server.url('/q.bin'), '-d', join(cli.dir, 'sub')]);
    const got = await cli.run(['get', server.url('/q.bin'), '-d', join(cli.dir, 'sub')]);
    expect(got.exitCode).toBe(0);
    expect(got.stdout.trim()).toBe(join(cli.dir, 'sub', 'q.bin'));
    const all = await jobs(cli);
    expect(all.map((j) => j.id).sort()).toEqual([1, Number(added.stdout.trim())]);
    expect(readdirSync(join(cli.dir, 'sub'))).toEqual(['q.bin']);
  });
});

describe('-c/--continue adopts a partial file another tool left, after checking it', () => {
  test('matching bytes: continues from the end of the file and fetches only the rest', async () => {
    const size = 6 * MiB;
    const have = 3 * MiB + 12_345;
    const body = generatedBody(size, 134);
    await using server = await startTestServer({ files: [{ path: '/part.iso', body }] });
    using cli = cliHome();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cli.dir, { recursive: true });
    writeFileSync(join(cli.dir, 'part.iso'), bodySlice(body, 0, have));
    const result = await cli.run(['get', '-c', server.url('/part.iso'), '-d', cli.dir, '-x', '2']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(`from byte ${have} of ${size}`);
    expect(await sha256File(join(cli.dir, 'part.iso'))).toBe(body.sha256Hex());
    expect(readdirSync(cli.dir)).toEqual(['part.iso']);
    // Beyond the samples (1 MiB tail + 3 × 64 KiB), only bytes past `have` were downloaded.
    const served = server.bytesServed('/part.iso');
    expect(served).toBeLessThanOrEqual(size - have + MiB + 3 * 64 * 1024);
    const ranges = server.requests.filter((r) => r.method === 'GET' && r.range).map((r) => r.range as string);
    expect(ranges.some((r) => r.startsWith(`bytes=${have - MiB}-`))).toBe(true);
  });

  test('a wrong byte in the file: restarts from zero with a message, never appends to it', async () => {
    const size = 4 * MiB;
    const have = 2 * MiB;
    const body = generatedBody(size, 135);
    await using server = await startTestServer({ files: [{ path: '/bad.iso', body }] });
    using cli = cliHome();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cli.dir, { recursive: true });
    const partial = bodySlice(body, 0, have).slice();
    partial[have - 1000] = (partial[have - 1000] as number) ^ 0xff;
    writeFileSync(join(cli.dir, 'bad.iso'), partial);
    const result = await cli.run(['get', '--continue', server.url('/bad.iso'), '-d', cli.dir]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('Not continuing');
    expect(result.stderr).toContain('differ');
    expect(await sha256File(join(cli.dir, 'bad.iso'))).toBe(body.sha256Hex());
    expect(readdirSync(cli.dir)).toEqual(['bad.iso']);
  });

  test("a file longer than the server's is not adopted", async () => {
    const body = generatedBody(256 * 1024, 136);
    await using server = await startTestServer({ files: [{ path: '/long.bin', body }] });
    using cli = cliHome();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cli.dir, { recursive: true });
    writeFileSync(join(cli.dir, 'long.bin'), new Uint8Array(300 * 1024));
    const result = await cli.run(['get', '-c', server.url('/long.bin'), '-d', cli.dir]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('longer than the server');
    expect(await sha256File(join(cli.dir, 'long.bin'))).toBe(body.sha256Hex());
  });

  test('-x sets connections; the old "-c <n>" still does, with a deprecation note', async () => {
    const body = generatedBody(4 * MiB, 137);
    await using server = await startTestServer({ files: [{ path: '/x.bin', body }] });
    using cli = cliHome();
    const old = await cli.run(['add', server.url('/x.bin'), '-c', '3', '-d', cli.dir, '--json']);
    expect(old.exitCode).toBe(0);
    expect(old.stderr).toContain('deprecated');
    expect(old.stderr).toContain('-x');
    const now = await cli.run(['add', server.url('/x.bin'), '-x', '5', '-d', cli.dir, '--json']);
    expect(now.stderr).toBe('');
    const all = (JSON.parse((await cli.run(['status', '--json'])).stdout) as { jobs: { maxConnections: number }[] })
      .jobs;
    expect(all.map((j) => j.maxConnections)).toEqual([3, 5]);
  });
});

describe('many URLs', () => {
  test('-i FILE: aria2 options per entry, mirrors stored, comments skipped; -i - reads stdin', async () => {
    const a = generatedBody(128 * 1024, 138);
    const b = generatedBody(96 * 1024, 139);
    await using server = await startTestServer({
      files: [
        { path: '/a.bin', body: a },
        { path: '/b.bin', body: b, knobs: { requireHeaders: { 'x-token': 'abc' } } },
      ],
    });
    using cli = cliHome();
    const list = join(cli.home, '..', 'urls.txt');
    writeFileSync(
      list,
      `# two files\n${server.url('/a.bin')}\n  out=first.bin\n${server.url('/b.bin')}\t${server.url('/b.bin?m=2')}\n  dir=${join(cli.dir, 'b')}\n  header=X-Token: abc\n  checksum=sha-256=${b.sha256Hex()}\n`,
    );
    const result = await cli.run(['get', '-i', list, '-d', cli.dir]);
    // Only the two summary lines: no warning about the list.
    expect(
      result.stderr
        .trimEnd()
        .split('\n')
        .map((line) => line.split(':')[0]),
    ).toEqual(['first.bin', 'b.bin']);
    expect(result.stderr).toContain('sha256 verified');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([join(cli.dir, 'first.bin'), join(cli.dir, 'b', 'b.bin')]);
    expect(await sha256File(join(cli.dir, 'first.bin'))).toBe(a.sha256Hex());
    const repos = reposFor(openDb(join(cli.home, 'ddm.db')));
    try {
      expect(repos.jobs.get(2)?.settings.mirrors).toEqual([server.url('/b.bin?m=2')]);
    } finally {
      repos.db.close();
    }

    const proc = Bun.spawn(['bun', MAIN, 'add', '-i', '-', '-d', cli.dir, '--json'], {
      env: { ...process.env, DDM_HOME: cli.home, NO_COLOR: '1' },
      stdin: new TextEncoder().encode(`${server.url('/a.bin')}\n${server.url('/b.bin')}\n`),
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { ids: number[] }).ids).toHaveLength(2);
  });

  test('an unknown option in the input file is an error naming file:line; nothing is added', async () => {
    using cli = cliHome();
    const list = join(cli.home, '..', 'bad.txt');
    writeFileSync(list, 'http://127.0.0.1:9/a\n  split=4\n');
    const result = await cli.run(['add', '-i', list]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${list}:2: unknown option "split"`);
    expect(await jobs(cli)).toEqual([]);
  });

  test('pause, resume, cancel and remove take several ids and ranges; clear forgets finished jobs, files stay', async () => {
    const body = generatedBody(64 * 1024, 140);
    await using server = await startTestServer({ files: [{ path: '/r.bin', body }] });
    using cli = cliHome();
    for (let i = 0; i < 6; i++) await cli.run(['add', server.url(`/r.bin?i=${i}`), '-d', cli.dir, '-o', `r${i}.bin`]);
    expect((await cli.run(['pause', '1-3', '5'])).exitCode).toBe(0);
    const states = async () => (await jobs(cli)).map((j) => `${j.id}:${j.state}`);
    expect(await states()).toEqual(['1:paused', '2:paused', '3:paused', '4:queued', '5:paused', '6:queued']);
    expect((await cli.run(['resume', '2-3'])).exitCode).toBe(0);
    expect((await cli.run(['cancel', '4', '6'])).exitCode).toBe(0);
    expect((await cli.run(['remove', '5-6'])).exitCode).toBe(0);
    expect(await states()).toEqual(['1:paused', '2:queued', '3:queued', '4:canceled']);
    expect((await cli.run(['run'])).exitCode).toBe(0);
    expect((await cli.run(['clear'])).exitCode).toBe(0);
    expect(await states()).toEqual(['1:paused', '4:canceled']);
    expect(existsSync(join(cli.dir, 'r2.bin'))).toBe(true);
    expect((await cli.run(['clear', '--all'])).exitCode).toBe(0);
    expect(await states()).toEqual(['1:paused']);
    expect((await cli.run(['pause', '3-2'])).exitCode).toBe(2);
  });
});

describe('smaller habits', () => {
  test('checksum prints sha256sum lines for several files; -c checks them and exits 4 on a mismatch', async () => {
    using cli = cliHome();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cli.dir, { recursive: true });
    writeFileSync(join(cli.dir, 'a.txt'), 'abc');
    writeFileSync(join(cli.dir, 'b.txt'), 'def');
    const sums = await cli.run(['checksum', 'a.txt', 'b.txt'], { cwd: cli.dir });
    expect(sums.exitCode).toBe(0);
    expect(sums.stdout).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n' +
        'cb8379ac2098aa165029e3938a51da0bcecfc008fd6795f401178647f96c5b34  b.txt\n',
    );
    const sha256sum = Bun.spawnSync(['sha256sum', 'a.txt', 'b.txt'], { cwd: cli.dir });
    if (sha256sum.exitCode === 0) expect(sums.stdout).toBe(sha256sum.stdout.toString());
    writeFileSync(join(cli.dir, 'SHA256SUMS'), sums.stdout);
    const ok = await cli.run(['checksum', '-c', 'SHA256SUMS'], { cwd: cli.dir });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe('a.txt: OK\nb.txt: OK\n');
    writeFileSync(join(cli.dir, 'b.txt'), 'changed');
    const bad = await cli.run(['checksum', '-c', 'SHA256SUMS'], { cwd: cli.dir });
    expect(bad.exitCode).toBe(4);
    expect(bad.stdout).toContain('b.txt: FAILED');
  });

  test('a refused connection fails at once on the first try, without retries', async () => {
    using cli = cliHome();
    const port = await deadPort();
    const result = await cli.run(['get', `http://127.0.0.1:${port}/x.bin`, '-d', cli.dir]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('Connection refused');
    const [job] = await jobs(cli);
    expect(job?.why ?? '').not.toContain('retrying');
  });

  test("a dead proxy is reported as the proxy's failure", async () => {
    const body = generatedBody(1024, 141);
    await using server = await startTestServer({ files: [{ path: '/p.bin', body }] });
    using cli = cliHome();
    const port = await deadPort();
    const result = await cli.run(['get', server.url('/p.bin'), '-d', cli.dir, '--proxy', `http://127.0.0.1:${port}`]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`Cannot connect to the proxy http://127.0.0.1:${port}`);
  });

  test('-U, --max-tries and --timeout reach the requests', async () => {
    const body = generatedBody(64 * 1024, 142);
    await using server = await startTestServer({
      files: [
        { path: '/ua.bin', body, knobs: { requireHeaders: { 'user-agent': 'Wget/1.21' } } },
        { path: '/flaky.bin', body, knobs: { failFirst: { count: 2, status: 503 } } },
      ],
    });
    using cli = cliHome();
    const ua = await cli.run(['get', server.url('/ua.bin'), '-d', cli.dir, '-U', 'Wget/1.21', '--timeout', '5']);
    expect(ua.exitCode).toBe(0);
    const once = await cli.run(['get', server.url('/flaky.bin'), '-d', cli.dir, '--max-tries', '1']);
    expect(once.exitCode).toBe(3);
    expect(server.requests.filter((r) => r.path === '/flaky.bin' && r.method === 'GET')).toHaveLength(1);
    expect((await cli.run(['get', server.url('/ua.bin'), '--timeout', '0'])).exitCode).toBe(2);
  });
});

void readFileSync;
