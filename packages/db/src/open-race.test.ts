/**
 * Many processes opening one fresh job DB at once (a `ddm run --watch` starting while `ddm
 * status` and `ddm add` run): every open succeeds. Switching to WAL and reading a DB that
 * another process is creating answer SQLITE_BUSY without waiting; openDb tries again.
 */
import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENER = `
import { openDb, reposFor } from ${JSON.stringify(join(import.meta.dir, 'index.ts'))};
import { existsSync } from 'node:fs';
const [path, mode] = process.argv.slice(2);
// A reader comes once the file exists (status on a DB that another process is creating).
while (mode === 'read' && !existsSync(path)) await Bun.sleep(1);
try {
  const db = openDb(path, { isReadOnly: mode === 'read' });
  if (mode === 'write') reposFor(db).jobs.insert({ url: 'http://127.0.0.1:9/x', dir: '/tmp', fileName: 'x', connections: 1 });
  db.close();
} catch (error) {
  console.error(error?.code, String(error));
  process.exit(1);
}
`;

test('24 processes opening, creating and reading one fresh DB at once all succeed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddm-open-race-'));
  try {
    for (let round = 0; round < 3; round++) {
      const path = join(dir, `race-${round}.db`);
      const script = join(dir, 'opener.ts');
      await Bun.write(script, OPENER);
      const procs = Array.from({ length: 24 }, (_, i) =>
        Bun.spawn([process.execPath, script, path, i % 3 === 2 ? 'read' : 'write'], {
          stderr: 'pipe',
          stdout: 'ignore',
        }),
      );
      const results = await Promise.all(
        procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() })),
      );
      expect(results.filter((r) => r.code !== 0)).toEqual([]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
