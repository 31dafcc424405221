/**
 * Enforces the package graph: apps/* -> core -> db, har. db and har import nothing internal;
 * core never imports ink, react or cac, never writes to the console or exits the process, and
 * has no import cycles. The apps import `@ddm/core` and `@ddm/har` (pure), never `@ddm/db`; the
 * CLI reaches `@ddm/tui` only by the dynamic import in the `tui` and `demo` commands; the
 * commands (apps/cli/src/commands/*) do not import each other (shared flows live in a module
 * beside them). Test files (`*.test.ts(x)`) are not checked.
 *
 * `bun scripts/check-graph.ts [root]` prints each violation and exits 1 when there is any.
 */

import { dirname, join, relative, resolve } from 'node:path';
import { Glob } from 'bun';

interface TextRule {
  dir: string;
  forbidden: RegExp[];
  label: string;
}

const TEXT_RULES: TextRule[] = [
  { dir: 'packages/db/src', forbidden: [/from '@ddm\//], label: '@ddm/db imports no internal package' },
  { dir: 'packages/har/src', forbidden: [/from '@ddm\//], label: '@ddm/har imports no internal package' },
  {
    dir: 'packages/core/src',
    forbidden: [
      /from '@ddm\/(cli|tui)'/,
      /from '(ink|react|cac)'/,
      /process\.exit\(/,
      /console\.(log|error|warn|info)\(/,
    ],
    label: '@ddm/core imports no UI, never prints, never exits',
  },
  { dir: 'apps/tui/src', forbidden: [/from '@ddm\/cli'/, /from 'cac'/], label: '@ddm/tui does not import the CLI' },
];

/** The only CLI files that may load the TUI, and only with `await import('@ddm/tui')`. */
const TUI_LOADERS = new Set(['apps/cli/src/commands/tui.ts', 'apps/cli/src/commands/demo.ts']);
const COMMANDS_DIR = 'apps/cli/src/commands';

export interface ImportRef {
  specifier: string;
  isDynamic: boolean;
  /** `import type` / `export type`, or every named specifier is `type X`: erased at run time. */
  isTypeOnly: boolean;
}

/** Block comments and comment lines out, so a comment that quotes an import is not one. */
function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
}

/** The imports and re-exports of a TypeScript source text. */
export function importsOf(source: string): ImportRef[] {
  const text = stripComments(source);
  const refs: ImportRef[] = [];
  const staticForm = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(staticForm)) {
    const clause = (m[3] ?? '').trim();
    const named = /^\{([\s\S]*)\}$/.exec(clause);
    const specifiers = named
      ? (named[1] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [];
    const isAllTypes = specifiers.length > 0 && specifiers.every((s) => s.startsWith('type '));
    refs.push({ specifier: m[4] as string, isDynamic: false, isTypeOnly: m[2] !== undefined || isAllTypes });
  }
  for (const m of text.matchAll(/(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g)) {
    refs.push({ specifier: m[1] as string, isDynamic: false, isTypeOnly: false });
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    refs.push({ specifier: m[1] as string, isDynamic: true, isTypeOnly: false });
  }
  return refs;
}

async function sourceFiles(root: string, dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const file of new Glob('**/*.{ts,tsx}').scan(join(root, dir))) {
      if (/\.test\.tsx?$/.test(file)) continue;
      files.push(join(dir, file));
    }
  } catch {
    // A tree without this directory (a fixture) has nothing to check there.
  }
  return files.sort();
}

/** Rules on what the apps import; `file` is relative to the root. */
function appViolations(file: string, refs: readonly ImportRef[]): string[] {
  const found: string[] = [];
  for (const ref of refs) {
    const s = ref.specifier;
    if (s === '@ddm/db' || s.startsWith('@ddm/db/')) {
      found.push(`${file}: apps import @ddm/core, never @ddm/db (imports ${s})`);
    } else if (s === '@ddm/tui' && file.startsWith('apps/cli/')) {
      if (!ref.isDynamic || !TUI_LOADERS.has(file)) {
        found.push(
          `${file}: @ddm/tui is loaded only by await import('@ddm/tui') in the tui and demo commands (${ref.isDynamic ? 'dynamic import elsewhere' : 'static import'})`,
        );
      }
    } else if (s.startsWith('@ddm/') && !/^@ddm\/(core|har|tui)(\/testing)?$/.test(s)) {
      found.push(`${file}: apps import @ddm/core and @ddm/har only (imports ${s})`);
    }
    if (file.startsWith(`${COMMANDS_DIR}/`) && s.startsWith('.')) {
      const target = relative('.', join(dirname(file), s));
      if (dirname(target) === COMMANDS_DIR) {
        found.push(`${file}: commands do not import each other; move the shared flow to a module (imports ${s})`);
      }
    }
  }
  return found;
}

/** Import cycles among the files of one directory, through imports that exist at run time. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

/**
 * Every violation of the graph rules in the tree at `root`, as `path: rule` lines.
 */
export async function checkGraph(root: string): Promise<string[]> {
  const violations: string[] = [];
  for (const rule of TEXT_RULES) {
    for (const file of await sourceFiles(root, rule.dir)) {
      const text = await Bun.file(join(root, file)).text();
      for (const pattern of rule.forbidden) {
        if (pattern.test(text)) violations.push(`${file}: ${rule.label} (matched ${pattern})`);
      }
    }
  }
  for (const dir of ['apps/cli/src', 'apps/tui/src']) {
    for (const file of await sourceFiles(root, dir)) {
      violations.push(...appViolations(file, importsOf(await Bun.file(join(root, file)).text())));
    }
  }
  const coreDir = 'packages/core/src';
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles(root, coreDir)) {
    const refs = importsOf(await Bun.file(join(root, file)).text());
    graph.set(
      file,
      refs
        .filter((r) => !r.isTypeOnly && r.specifier.startsWith('.'))
        .map((r) => relative(root, resolve(root, dirname(file), r.specifier))),
    );
  }
  for (const cycle of cycles(graph))
    violations.push(`${cycle[0]}: @ddm/core has no import cycles (${cycle.join(' -> ')})`);
  return violations;
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, '..'));
  const violations = await checkGraph(root);
  for (const violation of violations) console.error(violation);
  if (violations.length > 0) process.exit(1);
  console.log('package graph ok');
}
