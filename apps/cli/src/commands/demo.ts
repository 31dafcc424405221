import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, formatBytes } from '@ddm/core';
import { openDb, reposFor } from '@ddm/db';
import type { Context } from '../context.ts';
import { startDemoServer } from '../demo-server.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { runInForeground } from '../foreground.ts';
import type { Output } from '../output.ts';

/**
 * `ddm demo [--headless]`: a local server with synthetic files (fast, capped per connection, no
 * Range support, failing then recovering), downloaded into a temp dir with a temp job DB.
 */
export async function demoCommand(
  ctx: Context,
  out: Output,
  flags: { headless?: boolean; dir?: string },
): Promise<ExitCode> {
  const work = mkdtempSync(join(tmpdir(), 'ddm-demo-'));
  const dir = flags.dir ? String(flags.dir) : join(work, 'downloads');
  const repos = reposFor(openDb(join(work, 'demo.db')));
  const demo = await startDemoServer();
  try {
    const engine = new Engine({
      repos,
      settings: { ...ctx.settings, parallelJobs: 4, retryBaseDelayMs: 300 },
      log: ctx.log,
      env: {},
    });
    const ids = demo.urls.map((url) => engine.addJob(url, { dir, connections: 8 }));
    out.note(`ddm demo: ${ids.length} downloads from a local test server into ${dir}`);
    const isTui = !flags.headless && process.stdout.isTTY && process.stdin.isTTY;
    if (isTui) {
      const { runTui } = await import('@ddm/tui');
      const running = engine.run({});
      await runTui(engine, { title: 'ddm demo', onQuit: () => engine.stop() });
      engine.stop();
      await running;
    } else {
      const demoCtx = { ...ctx, repos, createEngine: () => engine };
      await runInForeground(demoCtx, out, { engine });
    }
    const jobs = engine.snapshot().jobs;
    let isOk = true;
    for (const job of jobs) {
      const ok = job.state === 'completed';
      isOk &&= ok;
      const note = ok ? (job.why ?? '') : `${job.errorCode}: ${job.errorMessage}`;
      out.line(
        `${ok ? 'ok  ' : 'FAIL'} ${job.fileName.padEnd(28)} ${formatBytes(job.sizeBytes ?? 0).padStart(10)}  ${note}`,
      );
    }
    out.line(isOk ? `All demo downloads complete in ${dir}` : 'Some demo downloads did not complete');
    return isOk ? EXIT.ok : EXIT.jobFailed;
  } finally {
    await demo.server.stop();
    repos.db.close();
  }
}
