/** DB failures are reported for what they are, by SQLite result code, with the DB's path. */
import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from './helpers.ts';

describe('job DB failures', () => {
  test('a damaged DB: exit 5 naming the path with a hint, never "this is a bug"', async () => {
    await using sb = new Sandbox();
    const path = join(sb.home, 'ddm.db');
    writeFileSync(path, 'not a database at all '.repeat(500));
    for (const args of [['status'], ['add', 'http://127.0.0.1:9/x.bin', '-d', sb.dir]]) {
      const result = await sb.run(args);
      expect(result.exitCode).toBe(5);
      expect(result.stderr).toContain(path);
      expect(result.stderr).toContain('move it aside');
      expect(result.stderr).not.toContain('this is a bug');
    }
    const json = await sb.run(['status', '--json']);
    expect(JSON.parse(json.stdout).error.code).toBe('ERR_DB_CORRUPT');
  });

  test('a DB locked longer than the busy timeout: ddm add says it is busy (exit 6), never "this is a bug"', async () => {
    await using sb = new Sandbox();
    await sb.ok(['run']);
    const holder = new Database(join(sb.home, 'ddm.db'));
    holder.run('BEGIN EXCLUSIVE');
    try {
      const result = await sb.run(['add', 'http://127.0.0.1:9/x.bin', '-d', sb.dir, '--json'], { timeoutMs: 60_000 });
      expect(result.exitCode).toBe(6);
      expect(JSON.parse(result.stdout).error.code).toBe('ERR_DB_BUSY');
      expect(result.stderr).toContain('The job DB is busy');
      expect(result.stderr).not.toContain('this is a bug');
    } finally {
      holder.run('ROLLBACK');
      holder.close();
    }
  }, 90_000);
});
