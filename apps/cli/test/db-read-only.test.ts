/**
 * A job DB this process cannot write (a read-only mount: root is refused too) still shows its
 * jobs with `ddm status`, creating nothing; writers say the DB is read-only (exit 5).
 *
 * The read-only mount is real: a bind mount remounted read-only in a private mount namespace
 * (`unshare -rm`), so the tests need unprivileged user namespaces (they are skipped, saying so,
 * where `unshare` cannot do that).
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_MAIN, Sandbox } from './helpers.ts';

function canMountReadOnly(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'ddm-ro-probe-'));
  try {
    const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && ! touch "$1/x" 2>/dev/null';
    const r = Bun.spawnSync(['unshare', '-rm', 'sh', '-c', script, 'sh', dir], { stdout: 'ignore', stderr: 'ignore' });
    return r.exitCode === 0;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hasReadOnlyMounts = canMountReadOnly();

interface Step {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ddm` once per entry of `commands` inside a private mount namespace in which `home` is
 * a read-only bind mount of itself; returns each command's outcome.
 */
async function runOnReadOnlyHome(sb: Sandbox, commands: string[][]): Promise<Step[]> {
  const out = join(sb.root, 'out');
  mkdirSync(out, { recursive: true });
  const lines = [
    'set -u',
    'mount --bind "$RO_HOME" "$RO_HOME" && mount -o remount,bind,ro "$RO_HOME" || exit 99',
    ...commands.map(
      (args, i) =>
        `"$BUN" "$CLI" ${args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')} >"$OUT/${i}.out" 2>"$OUT/${i}.err"; echo $? >"$OUT/${i}.rc"`,
    ),
  ];
  const proc = Bun.spawn(['unshare', '-rm', 'sh', '-c', lines.join('\n')], {
    cwd: sb.dir,
    env: sb.env({ RO_HOME: sb.home, BUN: process.execPath, CLI: CLI_MAIN, OUT: out }),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`unshare script exited ${code}: ${await new Response(proc.stderr).text()}`);
  return commands.map((_, i) => ({
    exitCode: Number(readFileSync(join(out, `${i}.rc`), 'utf8').trim()),
    stdout: readFileSync(join(out, `${i}.out`), 'utf8'),
    stderr: readFileSync(join(out, `${i}.err`), 'utf8'),
  }));
}

describe('a read-only job DB', () => {
  test.skipIf(!hasReadOnlyMounts)(
    'on a read-only mount: status, status --json and status <id> work; add, pause and run exit 5 saying it is read-only',
    async () => {
      await using sb = new Sandbox();
      const id = await sb.add('http://127.0.0.1:9/file.bin', '-o', 'file.bin');
      const before = readdirSync(sb.home).sort();
      const dbPath = join(sb.home, 'ddm.db');
      const [table, json, one, add, pause, run] = await runOnReadOnlyHome(sb, [
        ['status'],
        ['status', '--json'],
        ['status', String(id)],
        ['add', 'http://127.0.0.1:9/other.bin', '-d', sb.dir],
        ['pause', String(id)],
        ['run'],
      ]);
      expect(table).toMatchObject({ exitCode: 0, stderr: '' });
      expect(table?.stdout).toContain('file.bin');
      expect(json?.exitCode).toBe(0);
      expect(JSON.parse(json?.stdout ?? '')).toMatchObject({ engineRunning: false, jobs: [{ id, state: 'queued' }] });
      expect(one).toMatchObject({ exitCode: 0, stderr: '' });
      expect(one?.stdout).toContain(`Job #${id}: queued`);
      for (const writer of [add, pause, run]) {
        expect(writer?.exitCode).toBe(5);
        expect(writer?.stderr).toBe(`ddm: The job DB is read-only: ${dbPath}\n`);
      }
      expect(readdirSync(sb.home).sort()).toEqual(before);
      expect((await sb.job(id)).state).toBe('queued');
    },
    60_000,
  );

  test.skipIf(!hasReadOnlyMounts)(
    'on a read-only mount: the completion scripts still get the job ids (ddm __complete ids)',
    async () => {
      await using sb = new Sandbox();
      const first = await sb.add('http://127.0.0.1:9/a.bin', '-o', 'a.bin');
      const second = await sb.add('http://127.0.0.1:9/b.bin', '-o', 'b.bin');
      const before = readdirSync(sb.home).sort();
      const [ids] = await runOnReadOnlyHome(sb, [['__complete', 'ids']]);
      expect(ids).toEqual({ exitCode: 0, stdout: `${first}\n${second}\n`, stderr: '' });
      expect(readdirSync(sb.home).sort()).toEqual(before);
    },
    60_000,
  );

  test('status with no DB yet prints no jobs and creates no folder, DB or log', async () => {
    await using sb = new Sandbox();
    const xdg = join(sb.root, 'xdg');
    const env = {
      DDM_HOME: '',
      XDG_CONFIG_HOME: join(xdg, 'config'),
      XDG_DATA_HOME: join(xdg, 'data'),
      XDG_STATE_HOME: join(xdg, 'state'),
    };
    const table = await sb.run(['status'], { env });
    expect(table).toMatchObject({ exitCode: 0, stderr: '' });
    expect(table.stdout).toContain('No jobs');
    const json = await sb.run(['status', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ engineRunning: false, jobs: [] });
    expect(existsSync(xdg)).toBe(false);
    const home = join(sb.root, 'new-home');
    expect((await sb.run(['status'], { env: { DDM_HOME: home } })).exitCode).toBe(0);
    expect(existsSync(home)).toBe(false);
  });
});
