import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookEnv } from './hooks.ts';
import { runHook } from './hooks.ts';
import { createLogger } from './log.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that keeps its records in memory. */
function memoryLogger(): { log: ReturnType<typeof createLogger>; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = createLogger({
    file: null,
    level: 'debug',
    maxBytes: 1 << 20,
    onLine: (line) => records.push(JSON.parse(line)),
  });
  return { log, records };
}

const jobEnv: HookEnv = {
  DDM_JOB_ID: 42,
  DDM_JOB_PATH: '/downloads/a file.iso',
  DDM_JOB_STATE: 'completed',
  DDM_JOB_URL: 'https://user:pw@cdn.test/a.iso?X-Amz-Signature=abc&part=1',
};

describe('runHook', () => {
  test('passes the job id, path, state and redacted URL in the environment', async () => {
    const { log, records } = memoryLogger();
    const out = join(dir, 'env.txt');
    const command = `printf '%s\\n' "$DDM_JOB_ID" "$DDM_JOB_PATH" "$DDM_JOB_STATE" "$DDM_JOB_URL" "\${DDM_JOB_ERROR-unset}" "$KEPT" > '${out}'`;
    const result = await runHook(command, jobEnv, log, { baseEnv: { PATH: process.env.PATH, KEPT: 'base' } });
    expect(result).toEqual({ exitCode: 0 });
    expect(readFileSync(out, 'utf8').split('\n')).toEqual([
      '42',
      '/downloads/a file.iso',
      'completed',
      'https://REDACTED@cdn.test/a.iso?X-Amz-Signature=REDACTED&part=1',
      'unset',
      'base',
      '',
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'info', msg: 'hook finished', exitCode: 0, jobId: '42' });
  });

  test('passes DDM_JOB_ERROR to an on_error hook and logs its output', async () => {
    const { log, records } = memoryLogger();
    const env = {
      ...jobEnv,
      DDM_JOB_STATE: 'failed',
      DDM_JOB_ERROR: 'ERR_HTTP_STATUS: HTTP 404: GET https://cdn.test/a?sig=abc',
    };
    const result = await runHook('echo "$DDM_JOB_ERROR"', env, log, { name: 'on_error' });
    expect(result.exitCode).toBe(0);
    expect(records[0]).toMatchObject({
      hook: 'on_error',
      stdout: 'ERR_HTTP_STATUS: HTTP 404: GET https://cdn.test/a?sig=REDACTED\n',
    });
  });

  test('a failing hook is logged at warn, never thrown', async () => {
    const { log, records } = memoryLogger();
    const result = await runHook('echo oops >&2; exit 3', jobEnv, log);
    expect(result).toEqual({ exitCode: 3 });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'warn', msg: 'hook failed', exitCode: 3, stderr: 'oops\n' });
  });

  test('a missing command is logged with exit code 127', async () => {
    const { log, records } = memoryLogger();
    const result = await runHook('ddm-no-such-command-xyz', jobEnv, log);
    expect(result.exitCode).toBe(127);
    expect(records[0]).toMatchObject({ level: 'warn', msg: 'hook failed' });
  });

  test('a hook that cannot start is logged, never thrown', async () => {
    const { log, records } = memoryLogger();
    const result = await runHook('true', jobEnv, log, { cwd: join(dir, 'no-such-folder') });
    expect(result).toEqual({ exitCode: null });
    expect(records[0]).toMatchObject({ level: 'warn', msg: 'hook could not start' });
  });

  test('a hook that overstays its timeout is killed with its children', async () => {
    const { log, records } = memoryLogger();
    const startedAt = performance.now();
    const result = await runHook('sleep 30 & sleep 30; echo never', jobEnv, log, { timeoutMs: 200 });
    expect(result).toEqual({ exitCode: null });
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(records[0]).toMatchObject({ level: 'warn', msg: 'hook timed out', timeoutMs: 200 });
  });

  test('does not wait for a background child that keeps the output pipe open', async () => {
    const { log } = memoryLogger();
    const pidFile = join(dir, 'bg.pid');
    const startedAt = performance.now();
    const result = await runHook(`sleep 30 & echo $! > '${pidFile}'`, jobEnv, log);
    expect(result.exitCode).toBe(0);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  });

  test('keeps only the head of long output', async () => {
    const { log, records } = memoryLogger();
    await runHook("head -c 100000 /dev/zero | tr '\\0' a", jobEnv, log);
    const stdout = records[0]?.stdout as string;
    expect(stdout.length).toBeLessThan(4200);
    expect(stdout.endsWith('[truncated]')).toBe(true);
  });
});
