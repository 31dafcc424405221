import { describe, expect, test } from 'bun:test';
import { DdmError } from './errors.ts';
import { parseInputFile } from './input-file.ts';

function usageError(text: string): DdmError {
  try {
    parseInputFile(text, 'list.txt');
  } catch (error) {
    if (error instanceof DdmError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseInputFile (aria2 input-file format)', () => {
  test('one URL per line, comments and blank lines skipped', () => {
    const entries = parseInputFile('# list\nhttps://a.example/1.bin\n\n  \nhttp://b.example/2.bin\r\n', 'x');
    expect(entries.map((e) => e.urls)).toEqual([['https://a.example/1.bin'], ['http://b.example/2.bin']]);
    expect(entries.map((e) => e.line)).toEqual([2, 5]);
  });

  test('indented options belong to the URL above; header repeats', () => {
    const hex = 'a'.repeat(64);
    const [first, second] = parseInputFile(
      `https://a.example/1.bin\n  dir=/srv/x\n\tout=one.bin\n  header=X-A: 1\n  header=X-B: 2\n  checksum=sha-256=${hex}\nhttps://b.example/2.bin\n`,
      'x',
    );
    expect(first).toEqual({
      urls: ['https://a.example/1.bin'],
      line: 1,
      dir: '/srv/x',
      out: 'one.bin',
      headers: ['X-A: 1', 'X-B: 2'],
      checksum: `sha-256=${hex}`,
    });
    expect(second).toEqual({ urls: ['https://b.example/2.bin'], line: 7, headers: [] });
  });

  test('tab-separated URLs on one line are mirrors of one file', () => {
    const [entry] = parseInputFile('https://one.example/f.iso\thttps://two.example/f.iso\n', 'x');
    expect(entry?.urls).toEqual(['https://one.example/f.iso', 'https://two.example/f.iso']);
  });

  test('errors name the file and line', () => {
    expect(usageError('https://a.example/1\n  split=4\n').message).toBe(
      'list.txt:2: unknown option "split" (known: dir, out, header, checksum)',
    );
    expect(usageError('  dir=/x\nhttps://a.example/1\n').message).toContain('list.txt:1: option');
    expect(usageError('https://a.example/1\n  dir\n').message).toContain('list.txt:2: expected key=value');
    expect(usageError('https://a.example/1\nftp://b.example/2\n').message).toContain('list.txt:2:');
    expect(usageError('https://a.example/1\n  checksum=sha256:12\n').message).toContain('list.txt:2:');
    expect(usageError('https://a.example/1\n  out=../x\n').message).toContain('list.txt:2:');
    expect(usageError('# nothing\n').message).toContain('no URL');
    expect(usageError('# nothing\n').code).toBe('ERR_USAGE');
  });
});
