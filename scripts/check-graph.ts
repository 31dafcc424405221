/**
 * Enforces the package graph: apps/* -> core -> db, har. db and har import nothing internal;
 * core never imports ink, react or cac and never writes to the console or exits the process.
 */

import { join } from 'node:path';
import { Glob } from 'bun';

const root = join(import.meta.dir, '..');
const rules: { dir: string; forbidden: RegExp[]; label: string }[] = [
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

let violations = 0;
for (const rule of rules) {
  for await (const file of new Glob('**/*.{ts,tsx}').scan(join(root, rule.dir))) {
    if (file.endsWith('.test.ts') || file.endsWith('.test.tsx')) continue;
    const text = await Bun.file(join(root, rule.dir, file)).text();
    for (const pattern of rule.forbidden) {
      if (pattern.test(text)) {
        console.error(`${rule.dir}/${file}: ${rule.label} (matched ${pattern})`);
        violations++;
      }
    }
  }
}
if (violations > 0) process.exit(1);
console.log('package graph ok');
