/**
 * `ddm demo --headless --quick`, the real CLI with its own TMPDIR: it shows splitting, a retry
 * and a pause, and leaves nothing in the temp folder, whether it finishes or is interrupted;
 * `-d DIR` keeps the downloaded files (and only those).
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from '@ddm/core/testing';
import { type CliHome, cliHome } from './cli-harness.ts';

setDefaultTimeout(60_000);

/** A fresh, empty TMPDIR inside the test's own temp home (removed with it). */
function freshTmp(cli: CliHome): string {
  const tmp = join(dirname(cli.home), 'tmp');
  mkdirSync(tmp, { recursive: true });
  return tmp;
}

describe('ddm demo', () => {
  test('--headless --quick completes every download, shows a split, a retry and a pause, and leaves TMPDIR empty', async () => {
    using cli = cliHome();
    const tmp = freshTmp(cli);
    const result = await cli.run(['demo', '--headless', '--quick'], { env: { TMPDIR: tmp } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.match(/^ok /gm)).toHaveLength(4);
    const shown = /^Shown: (\d+) splits?, (\d+) retr(?:y|ies), (\d+) pauses?$/m.exec(result.stdout);
    expect(shown).not.toBeNull();
    const [splits, retries, pauses] = (shown ?? []).slice(1).map(Number);
    expect(splits).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    expect(pauses).toBe(1);
    expect(result.stdout).toContain('All demo downloads complete (the demo deleted its files; -d DIR keeps them)');
    expect(readdirSync(tmp)).toEqual([]);
  });

  test('-d DIR keeps the downloaded files there; the temp folder is still left empty', async () => {
    using cli = cliHome();
    const tmp = freshTmp(cli);
    const result = await cli.run(['demo', '--headless', '--quick', '-d', cli.dir], { env: { TMPDIR: tmp } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`All demo downloads complete in ${cli.dir}`);
    expect(readdirSync(cli.dir).sort()).toEqual([
      '503-then-fine.bin',
      'no-range-support.bin',
      'paused-then-resumed.bin',
      'split-across-connections.bin',
    ]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  test('interrupted with SIGINT, it stops and still deletes what it wrote in TMPDIR', async () => {
    using cli = cliHome();
    const tmp = freshTmp(cli);
    // The full scenario: it runs for over 20 s, so the signal comes mid-download.
    const proc = cli.spawn(['demo', '--headless'], { env: { TMPDIR: tmp } });
    const downloads = (): string[] => {
      const work = readdirSync(tmp)[0];
      if (work === undefined || !existsSync(join(tmp, work, 'downloads'))) return [];
      return readdirSync(join(tmp, work, 'downloads'));
    };
    // A .part, not any entry: adding a job briefly creates the folder's write-test file, before the
    // engine (and its signal handling) runs.
    await waitFor(() => downloads().some((name) => name.endsWith('.part')), {
      timeoutMs: 15_000,
      what: 'downloads under way in TMPDIR',
    });
    proc.kill('SIGINT');
    expect(await proc.exited).toBe(130);
    expect(await new Response(proc.stdout).text()).toContain('Demo stopped before its downloads finished');
    expect(readdirSync(tmp)).toEqual([]);
  });
});
