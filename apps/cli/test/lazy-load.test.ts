/**
 * Start-up stays cheap because each command's module (and what only it needs: Ink and React for
 * the TUI, the RPC server, the HAR import, config editing) is loaded by `import()` inside its
 * action, not by main.ts at start. These tests run the real CLI with a preload that logs every
 * import it resolves and check what `--help`, `--version` and `status` pulled in.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CLI_MAIN } from './helpers.ts';

const PRELOAD = join(import.meta.dir, 'fixtures', 'import-log-preload.ts');
const REPO = join(import.meta.dir, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'ddm-lazy-load-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `ddm ...args` and returns the ddm and Ink modules it loaded, relative to the repository. */
async function modulesOf(args: string[], name: string): Promise<string[]> {
  const logFile = join(work, `${name}.log`);
  const proc = Bun.spawn(['bun', '--preload', PRELOAD, CLI_MAIN, ...args], {
    env: { ...process.env, DDM_HOME: join(work, `home-${name}`), DDM_TEST_IMPORT_LOG: logFile },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stderr, exitCode] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((path) => relative(REPO, path));
}

/** What no start-up path may load: each belongs to one command. */
const HEAVY = [
  /^node_modules\/ink\//,
  /^apps\/tui\//,
  /^apps\/cli\/src\/rpc\//,
  /^apps\/cli\/src\/demo-server\.ts$/,
  /^apps\/cli\/src\/foreground\.ts$/,
];
const COMMAND = /^apps\/cli\/src\/commands\//;

describe('start-up loads only what the command uses', () => {
  for (const [name, args] of [
    ['help', ['--help']],
    ['version', ['--version']],
    ['status', ['status']],
    ['tui-help', ['tui', '--help']],
  ] as const) {
    test(`ddm ${args.join(' ')} loads no Ink, TUI, RPC server or other command`, async () => {
      const modules = await modulesOf([...args], name);
      // The log works: main.ts itself is in it.
      expect(modules).toContain('apps/cli/src/main.ts');
      expect(modules.filter((path) => HEAVY.some((re) => re.test(path)))).toEqual([]);
      const commands = modules.filter((path) => COMMAND.test(path));
      expect(commands).toEqual(name === 'status' ? ['apps/cli/src/commands/status.ts'] : []);
    });
  }
});
