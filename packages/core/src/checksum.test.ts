import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChecksumAlgo, hashFile, parseChecksumSpec, verifyChecksum } from './checksum.ts';
import { DdmError } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-checksum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic bytes that are not a repeating short pattern. */
function body(sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  let state = 0x12345678;
  for (let i = 0; i < sizeBytes; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('parseChecksumSpec', () => {
  test('reads algo:hex in any case and returns lower-case hex', () => {
    expect(parseChecksumSpec(`SHA256:${EMPTY_SHA256.toUpperCase()}`)).toEqual({ algo: 'sha256', hex: EMPTY_SHA256 });
    expect(parseChecksumSpec(`sha-256=${EMPTY_SHA256}`)).toEqual({ algo: 'sha256', hex: EMPTY_SHA256 });
    expect(parseChecksumSpec(`md5:${'A'.repeat(32)}`)).toEqual({ algo: 'md5', hex: 'a'.repeat(32) });
    expect(parseChecksumSpec(`sha1:${'0'.repeat(40)}`).algo).toBe('sha1');
    expect(parseChecksumSpec(`sha512:${'f'.repeat(128)}`).algo).toBe('sha512');
  });

  test.each([
    '',
    EMPTY_SHA256,
    `sha384:${'a'.repeat(96)}`,
    `sha256:${'a'.repeat(63)}`,
    `sha256:${'a'.repeat(65)}`,
    `md5:${'g'.repeat(32)}`,
    `sha1:${'a'.repeat(64)}`,
    'sha256:',
  ])('rejects %p with ERR_USAGE naming the spec', (spec) => {
    let caught: unknown;
    try {
      parseChecksumSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DdmError);
    expect((caught as DdmError).code).toBe('ERR_USAGE');
    expect((caught as DdmError).message).toContain(`"${spec}"`);
  });
});

describe('hashFile', () => {
  const path = join(dir, 'body.bin');
  const bytes = body(3 * 1024 * 1024 + 17);

  test.each(['sha256', 'sha1', 'sha512', 'md5'] as const)(
    'hashes a multi-chunk file with %s',
    async (algo: ChecksumAlgo) => {
      await Bun.write(path, bytes);
      expect(await hashFile(path, algo)).toBe(createHash(algo).update(bytes).digest('hex'));
    },
  );

  test('hashes an empty file', async () => {
    const emptyPath = join(dir, 'empty.bin');
    await Bun.write(emptyPath, '');
    expect(await hashFile(emptyPath, 'sha256')).toBe(EMPTY_SHA256);
  });

  test('fails with ERR_IO for a missing file', async () => {
    const error = await hashFile(join(dir, 'missing.bin'), 'sha256').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DdmError);
    expect((error as DdmError).code).toBe('ERR_IO');
  });

  test('rejects with the abort reason', async () => {
    await Bun.write(path, bytes);
    const reason = new Error('canceled');
    await expect(hashFile(path, 'sha256', AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const pending = hashFile(path, 'sha256', controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('verifyChecksum', () => {
  test('reports a match and a mismatch with both digests', async () => {
    const path = join(dir, 'verify.bin');
    await Bun.write(path, '');
    expect(await verifyChecksum(path, `sha256:${EMPTY_SHA256.toUpperCase()}`)).toEqual({
      ok: true,
      actual: EMPTY_SHA256,
      expected: EMPTY_SHA256,
    });
    await Bun.write(path, 'x');
    const result = await verifyChecksum(path, { algo: 'sha256', hex: EMPTY_SHA256 });
    expect(result.ok).toBe(false);
    expect(result.actual).toBe(createHash('sha256').update('x').digest('hex'));
    expect(result.expected).toBe(EMPTY_SHA256);
  });

  test('rejects an invalid spec before reading the file', async () => {
    await expect(verifyChecksum(join(dir, 'missing.bin'), 'crc32:abcd')).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });
});
