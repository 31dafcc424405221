import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_FOR_CODE } from '../src/exit-codes.ts';
import { cliHome } from './cli-harness.ts';

const ROOT = join(import.meta.dir, '..', '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

function quickStartCommands(): string[] {
  const section = readme.split('## Quick start')[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
}

test('the README quick start has exactly two commands: install + main job, install + tests', () => {
  const commands = quickStartCommands();
  expect(commands).toHaveLength(2);
  expect(commands[0]).toStartWith('npm install -g bun@1.4.4 && bun install --frozen-lockfile && ');
  expect(commands[1]).toEndWith('&& bun run test');
  // .ci/run runs that same test command.
  expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toContain('bun run test');
});

test('README command 1 (the main job) downloads in a temp DDM_HOME against its local server', async () => {
  const mainJob = (quickStartCommands()[0] ?? '').split('&&').at(-1)?.trim() ?? '';
  expect(mainJob).toBe('bun run ddm demo --headless');
  using cli = cliHome();
  // --quick: the same scenario in seconds instead of the 20 s a person watches.
  const proc = Bun.spawn([...mainJob.split(' '), '--quick'], {
    cwd: ROOT,
    env: { ...process.env, DDM_HOME: cli.home, NO_COLOR: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(exitCode).toBe(0);
  expect(stdout).toContain('All demo downloads complete');
  expect(stdout.match(/^ok /gm)).toHaveLength(4);
}, 90_000);

test('the README exit-code table lists every error code under the exit code it maps to', () => {
  const section = readme.split('## Exit codes')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<number, string>();
  for (const line of section.split('\n')) {
    const match = /^\| (\d+) \|/.exec(line);
    if (match) rows.set(Number(match[1]), line);
  }
  for (const [code, exit] of Object.entries(EXIT_FOR_CODE)) {
    expect({ code, row: rows.get(exit)?.includes(`\`${code}\``) ?? false }).toEqual({ code, row: true });
  }
  const listed = [...section.matchAll(/`(ERR_[A-Z_]+)`/g)].map((m) => m[1] as string);
  for (const code of listed) expect(Object.keys(EXIT_FOR_CODE)).toContain(code);
});
