import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, nullLogger } from './log.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readRecords = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createLogger', () => {
  test('writes JSON lines with time, level, msg and fields, mode 0600', () => {
    const file = join(dir, 'plain.log');
    const log = createLogger({ file, level: 'info', maxBytes: 1 << 20, now: () => Date.UTC(2024, 0, 2, 3, 4, 5) });
    log.info('job added', { jobId: 1, url: 'https://x.test/a' });
    expect(readRecords(file)).toEqual([
      { time: '2024-01-02T03:04:05.000Z', level: 'info', msg: 'job added', jobId: 1, url: 'https://x.test/a' },
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('filters by level', () => {
    const file = join(dir, 'levels.log');
    const log = createLogger({ file, level: 'warn', maxBytes: 1 << 20 });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(readRecords(file).map((record) => record.level)).toEqual(['warn', 'error']);
    expect(log.isEnabled('info')).toBe(false);
    expect(log.isEnabled('error')).toBe(true);
  });

  test('child loggers add their fields; call fields win; reserved names are kept apart', () => {
    const file = join(dir, 'child.log');
    const log = createLogger({ file, level: 'debug', maxBytes: 1 << 20 }).child({ jobId: 7, segment: 1 });
    log.debug('retry', { segment: 2, msg: 'shadow' });
    const [record] = readRecords(file);
    expect(record).toMatchObject({ msg: 'retry', jobId: 7, segment: 2, _msg: 'shadow' });
  });

  test('no secret reaches the file', () => {
    const file = join(dir, 'secrets.log');
    const log = createLogger({ file, level: 'debug', maxBytes: 1 << 20 });
    const secrets = ['hunter2', 'eyJtoken', 'c00kie', 'AKIAXXXX', 'sigvalue', 'proxypass', 'basicpass'];
    log.info('GET https://user:hunter2@x.test/f?X-Amz-Credential=AKIAXXXX&sig=sigvalue', {
      headers: { Authorization: 'Bearer eyJtoken', Cookie: 'id=c00kie', Accept: '*/*' },
      proxy: 'http://bob:proxypass@proxy.test:3128',
      error: new Error('server said Basic basicpass'),
    });
    log.warn('Set-Cookie: id=c00kie', { password: 'hunter2' });
    const text = readFileSync(file, 'utf8');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain('REDACTED');
    expect(text).toContain('x.test/f');
  });

  test('rotates past maxBytes, keeping maxFiles old logs', () => {
    const rotating = createLogger({ file: join(dir, 'rot.log'), level: 'info', maxBytes: 1000, maxFiles: 2 });
    for (let index = 0; index < 100; index++) rotating.info('line', { index, padding: 'x'.repeat(50) });
    const files = readdirSync(dir)
      .filter((name) => name.startsWith('rot.log'))
      .sort();
    expect(files).toEqual(['rot.log', 'rot.log.1', 'rot.log.2']);
    for (const name of files) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(1000);
    const newest = readRecords(join(dir, 'rot.log'));
    expect(newest.at(-1)?.index).toBe(99);
    const previous = readRecords(join(dir, 'rot.log.1'));
    expect(previous.at(-1)?.index).toBe((newest[0]?.index as number) - 1);
    expect(existsSync(join(dir, 'rot.log.3'))).toBe(false);
  });

  test('never throws when the file cannot be written, and reports the first failure', () => {
    const log = createLogger({ file: join(dir, 'no', 'such', 'folder', 'ddm.log'), level: 'info', maxBytes: 1000 });
    expect(() => log.info('lost')).not.toThrow();
    expect(() => log.child({ a: 1 }).error('lost too')).not.toThrow();
    expect((log.writeError as { code?: string }).code).toBe('ENOENT');
  });

  test('passes redacted lines to onLine, also with no file', () => {
    const lines: string[] = [];
    const log = createLogger({ file: null, level: 'info', maxBytes: 1000, onLine: (line) => lines.push(line) });
    log.info('token?token=abc');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('abc');
  });

  test('survives unserializable fields', () => {
    const file = join(dir, 'odd.log');
    const log = createLogger({ file, level: 'info', maxBytes: 1 << 20 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.info('odd', { cyclic, big: 2n ** 70n, fn: () => 1 });
    expect(readRecords(file)[0]).toMatchObject({ cyclic: { self: '[Circular]' }, big: '1180591620717411303424' });
  });
});

test('nullLogger drops everything', () => {
  expect(() => nullLogger.child({ a: 1 }).error('x')).not.toThrow();
  expect(nullLogger.isEnabled('error')).toBe(false);
});
