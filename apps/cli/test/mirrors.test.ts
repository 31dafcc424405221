/**
 * One file from several mirrors through the CLI: `ddm get URL --mirror URL2` and
 * `ddm add A B --mirrors` + `ddm run`, with `ddm status` showing each mirror.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { generatedBody, startTestServer } from '@ddm/core/testing';
import { cliHome, sha256File } from './cli-harness.ts';
import { KiB, MiB, Sandbox } from './helpers.ts';

const PATH = '/file.bin';

describe('mirrors from the command line', () => {
  test('ddm get URL --mirror URL2 downloads one file from both servers', async () => {
    const body = generatedBody(8 * MiB, 140);
    await using a = await startTestServer({ files: [{ path: PATH, body }] });
    await using b = await startTestServer({ files: [{ path: PATH, body }] });
    using cli = cliHome();
    const result = await cli.run(['get', a.url(PATH), '--mirror', b.url(PATH), '-d', cli.dir, '-x', '4']);
    // Only the summary line: no warning, no error.
    expect(result.stderr).toMatch(/^file\.bin: 8\.0 MiB in .* average, .*\n$/);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(join(cli.dir, 'file.bin'));
    expect(await sha256File(join(cli.dir, 'file.bin'))).toBe(body.sha256Hex());
    expect(a.bytesServed(PATH)).toBeGreaterThan(0);
    expect(b.bytesServed(PATH)).toBeGreaterThan(0);
  });

  test('ddm add A B --mirrors queues one job; ddm run fetches it from both; status names a refused mirror', async () => {
    const body = generatedBody(8 * MiB, 141);
    await using a = await startTestServer({ files: [{ path: PATH, body }] });
    await using b = await startTestServer({ files: [{ path: PATH, body }] });
    await using other = await startTestServer({ files: [{ path: PATH, body: generatedBody(MiB, 141) }] });
    using cli = cliHome();
    const added = await cli.run([
      'add',
      a.url(PATH),
      b.url(PATH),
      other.url(PATH),
      '--mirrors',
      '-d',
      cli.dir,
      '--json',
    ]);
    expect(added.exitCode).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ ids: [1] });
    const ran = await cli.run(['run']);
    expect(ran.exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'file.bin'))).toBe(body.sha256Hex());
    expect(a.bytesServed(PATH)).toBeGreaterThan(0);
    expect(b.bytesServed(PATH)).toBeGreaterThan(0);
    expect(other.requests.filter((r) => r.method === 'GET' && r.range !== 'bytes=0-0')).toHaveLength(0);

    const status = await cli.run(['status', '1', '--json']);
    const job = JSON.parse(status.stdout) as { mirrors: { url: string; state: string; why: string | null }[] };
    expect(job.mirrors.map((m) => [m.url, m.state])).toEqual([
      [a.url(PATH), 'usable'],
      [b.url(PATH), 'usable'],
      [other.url(PATH), 'dropped'],
    ]);
    expect(job.mirrors[2]?.why).toContain(`size ${MiB} instead of ${8 * MiB}`);
    const human = await cli.run(['status', '1']);
    expect(human.stdout).toContain('Mirrors');
    expect(human.stdout).toContain(`mirror ${other.url(PATH)} dropped: serves another resource: size`);
    expect(human.stdout).toMatch(new RegExp(`usable +${a.url(PATH).replaceAll('.', '\\.')} `));
  });

  test('ddm status shows the rate of each mirror of a job a running engine downloads', async () => {
    const body = generatedBody(8 * MiB, 142);
    const knobs = { throttleBytesPerSec: 256 * KiB };
    await using a = await startTestServer({ files: [{ path: PATH, body, knobs }] });
    await using b = await startTestServer({ files: [{ path: PATH, body, knobs }] });
    await using sandbox = new Sandbox();
    await sandbox.startEngine();
    const id = await sandbox.add(a.url(PATH), '--mirror', b.url(PATH), '-x', '4');
    await sandbox.waitForStatus((s) => {
      const job = s.jobs.find((j) => j.id === id);
      return (job?.mirrors ?? []).filter((m) => m.state === 'usable' && m.rateBytesPerSec > 0).length === 2;
    }, 'both mirrors to show a rate in ddm status');
    const human = await sandbox.ok(['status', String(id)]);
    expect(human.stdout).toContain(`usable   ${a.url(PATH)}`);
    expect(human.stdout).toContain(`usable   ${b.url(PATH)}`);
    await sandbox.ok(['pause', String(id)]);
  }, 60_000);

  test('--mirror with several URLs and no --mirrors is a usage error', async () => {
    using cli = cliHome();
    const result = await cli.run([
      'add',
      'http://127.0.0.1:1/a',
      'http://127.0.0.1:1/b',
      '--mirror',
      'http://127.0.0.1:1/c',
      '-d',
      cli.dir,
    ]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--mirror adds URLs of one file');
  });
});
