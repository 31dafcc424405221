/** The graph check itself: a fixture tree that breaks each rule once, and the repository, which keeps them. */
import { describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkGraph, importsOf } from './check-graph.ts';

function tree(files: Record<string, string>): { root: string } & Disposable {
  const root = mkdtempSync(join(tmpdir(), 'ddm-graph-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

const CLEAN = {
  'packages/db/src/index.ts': 'export const db = 1;\n',
  'packages/har/src/index.ts': 'export const har = 1;\n',
  'packages/core/src/a.ts': "import { b } from './b.ts';\nimport type { C } from './c.ts';\nexport const a = b;\n",
  'packages/core/src/b.ts': 'export const b = 1;\n',
  'packages/core/src/c.ts': "import { a } from './a.ts';\nexport type C = typeof a;\n",
  'packages/core/src/c.test.ts': "import { a } from './a.ts';\nconsole.log(a);\n",
  'apps/cli/src/main.ts': "import { a } from '@ddm/core';\nimport { tuiCommand } from './commands/tui.ts';\n",
  'apps/cli/src/shared.ts': 'export const shared = 1;\n',
  'apps/cli/src/commands/tui.ts':
    "// await import('@ddm/db') in a comment is no import\nimport { shared } from '../shared.ts';\nexport async function tuiCommand() {\n  const { runTui } = await import('@ddm/tui');\n}\n",
  'apps/cli/src/commands/demo.ts': "export const demo = async () => (await import('@ddm/tui')).runTui;\n",
  'apps/tui/src/index.ts': "import type { EngineController } from '@ddm/core';\nimport { parseHar } from '@ddm/har';\n",
};

describe('check-graph', () => {
  test('a tree that keeps every rule passes (type-only imports make no cycle; tests are not checked)', async () => {
    using t = tree(CLEAN);
    expect(await checkGraph(t.root)).toEqual([]);
  });

  test('reports each broken rule once, naming the file', async () => {
    using t = tree({
      ...CLEAN,
      'packages/db/src/bad.ts': "import { x } from '@ddm/core';\n",
      'packages/har/src/bad.ts': "import { x } from '@ddm/db';\n",
      'packages/core/src/ui.ts': "import { render } from 'ink';\n",
      'packages/core/src/print.ts': "console.log('hi');\n",
      'packages/core/src/b.ts': "import { d } from './d.ts';\nexport const b = d;\n",
      'packages/core/src/d.ts': "import { b } from './b.ts';\nexport const d = 1;\nexport const e = b;\n",
      'apps/tui/src/cli.ts': "import { cac } from 'cac';\n",
      'apps/tui/src/db.ts': "import type { Repos } from '@ddm/db';\n",
      'apps/cli/src/context.ts': "import {\n  openDb,\n  reposFor,\n} from '@ddm/db';\n",
      'apps/cli/src/eager.ts': "import { runTui } from '@ddm/tui';\n",
      'apps/cli/src/lazy.ts': "export const load = () => import('@ddm/tui');\n",
      'apps/cli/src/commands/get.ts': 'export function reportJobs() {}\n',
      'apps/cli/src/commands/wait.ts': "import { reportJobs } from './get.ts';\n",
      'apps/cli/src/commands/run.ts': "export { reportJobs } from '../commands/get.ts';\n",
      'apps/cli/src/other.ts': "import { x } from '@ddm/secret';\n",
    });
    const found = await checkGraph(t.root);
    const files = found.map((line) => line.slice(0, line.indexOf(':')));
    expect(files.sort()).toEqual(
      [
        'apps/cli/src/commands/run.ts',
        'apps/cli/src/commands/wait.ts',
        'apps/cli/src/context.ts',
        'apps/cli/src/eager.ts',
        'apps/cli/src/lazy.ts',
        'apps/cli/src/other.ts',
        'apps/tui/src/cli.ts',
        'apps/tui/src/db.ts',
        'packages/core/src/b.ts',
        'packages/core/src/print.ts',
        'packages/core/src/ui.ts',
        'packages/db/src/bad.ts',
        'packages/har/src/bad.ts',
      ].sort(),
    );
    expect(found.find((l) => l.startsWith('packages/core/src/b.ts'))).toContain(
      'packages/core/src/b.ts -> packages/core/src/d.ts -> packages/core/src/b.ts',
    );
    expect(found.find((l) => l.startsWith('apps/cli/src/commands/wait.ts'))).toContain('do not import each other');
    expect(found.find((l) => l.startsWith('apps/cli/src/context.ts'))).toContain('never @ddm/db');
  });

  test('reads static, re-exported, side-effect and dynamic imports, and tells type-only ones', () => {
    const refs = importsOf(
      [
        "import { a, type B } from './a.ts';",
        "import { type C, type D } from './c.ts';",
        "import type { E } from './e.ts';",
        "export * from './f.ts';",
        "export type { G } from './g.ts';",
        "import './h.ts';",
        'const m = await import("./i.ts");',
        "/* import { j } from './j.ts'; */",
      ].join('\n'),
    );
    expect(refs).toEqual([
      { specifier: './a.ts', isDynamic: false, isTypeOnly: false },
      { specifier: './c.ts', isDynamic: false, isTypeOnly: true },
      { specifier: './e.ts', isDynamic: false, isTypeOnly: true },
      { specifier: './f.ts', isDynamic: false, isTypeOnly: false },
      { specifier: './g.ts', isDynamic: false, isTypeOnly: true },
      { specifier: './h.ts', isDynamic: false, isTypeOnly: false },
      { specifier: './i.ts', isDynamic: true, isTypeOnly: false },
    ]);
  });

  test('this repository keeps the rules', async () => {
    expect(await checkGraph(join(import.meta.dir, '..'))).toEqual([]);
  });
});
