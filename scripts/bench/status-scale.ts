#!/usr/bin/env bun
/**
 * Scenario 10 of `bun run bench` on its own (see lib/status-scale.ts):
 *
 *   bun run build && bun scripts/bench/status-scale.ts [--ddm dist/ddm] [--jobs 10000] [--runs 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runStatusScaleScenario } from './lib/status-scale.ts';

const REPO = resolve(import.meta.dir, '..', '..');

const { values } = parseArgs({
  options: {
    ddm: { type: 'string', default: join(REPO, 'dist', 'ddm') },
    jobs: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '10' },
  },
});
const ddm = resolve(values.ddm as string);
console.log(`ddm: ${ddm}`);
const scratchDir = mkdtempSync(join(tmpdir(), 'ddm-status-scale-'));
try {
  await runStatusScaleScenario({
    ddm: [ddm],
    scratchDir,
    jobs: Number(values.jobs),
    runs: Number(values.runs),
    log: (line) => console.log(line),
  });
} finally {
  rmSync(scratchDir, { recursive: true, force: true });
}
