/**
 * Output is never cut: every command hands all of stdout and stderr to the reader before it
 * exits, however slowly a pipe is read (`| (sleep 0.5; cat)`, a busy `| jq`).
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openDb, reposFor } from '@ddm/db';
import { CLI_MAIN, Sandbox } from './helpers.ts';

/** Runs `ddm <args>` in a shell with one of its streams piped into a reader that waits first. */
async function throughSlowReader(sb: Sandbox, args: string, stream: 'stdout' | 'stderr'): Promise<string> {
  const redirect = stream === 'stdout' ? '2>/dev/null' : '2>&1 >/dev/null';
  const proc = Bun.spawn(['sh', '-c', `bun ${JSON.stringify(CLI_MAIN)} ${args} ${redirect} | (sleep 0.5; cat)`], {
    cwd: sb.dir,
    env: sb.env(),
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  return text;
}

describe('output through a slow pipe', () => {
  test('ddm status --json with 600 jobs reaches a slow reader whole', async () => {
    await using sb = new Sandbox();
    const repos = reposFor(openDb(join(sb.home, 'ddm.db')));
    const longDir = join(sb.dir, 'a-rather-long-folder-name-so-each-job-line-is-long'.repeat(2));
    repos.db.transaction(() => {
      for (let i = 0; i < 600; i++) {
        repos.jobs.insert({
          url: `http://127.0.0.1:9/file-${i}.bin`,
          dir: longDir,
          fileName: `file-${i}.bin`,
          connections: 4,
        });
      }
    })();
    repos.db.close();

    const json = await throughSlowReader(sb, 'status --json', 'stdout');
    expect(json.length).toBeGreaterThan(4 * 65_536);
    const parsed = JSON.parse(json) as { jobs: { id: number }[] };
    expect(parsed.jobs).toHaveLength(600);

    const table = await throughSlowReader(sb, 'status', 'stdout');
    expect(table.trimEnd().split('\n')).toHaveLength(601);
    expect(table).toContain('file-599.bin');
  }, 30_000);

  test('a long error on stderr reaches a slow reader whole', async () => {
    await using sb = new Sandbox();
    // One argument may hold at most 128 KiB (MAX_ARG_STRLEN).
    const host = 'a'.repeat(120_000);
    const stderr = await throughSlowReader(sb, `add 'ftp://${host}.example/x'`, 'stderr');
    expect(stderr.length).toBeGreaterThan(120_000);
    expect(stderr.trimEnd().endsWith('.example/x')).toBe(true);
  }, 30_000);
});
