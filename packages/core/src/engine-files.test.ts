/**
 * What lands on disk: the file's name (Content-Disposition, URL, default; never outside the
 * download directory), never over an existing file or another job's target, checksums, and
 * full or read-only disks that fail clearly and resume without losing finished bytes.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { harness } from './testing/engine-test-kit.ts';
import { bodySlice, generatedBody, makeBody, sha256Hex, startTestServer } from './testing/index.ts';

// Every test ends by itself well within this (bun's default is 5 s; a busy 2-core machine is slower).
setDefaultTimeout(20_000);

const MiB = 1024 * 1024;

describe('file names', () => {
  const cases: { title: string; path: string; disposition?: string; contentType?: string; expected: string }[] = [
    {
      title: 'filename* (RFC 8187) wins over filename',
      path: '/dl?id=1',
      disposition: `attachment; filename="fallback.bin"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf`,
      expected: 'résumé final.pdf',
    },
    {
      title: 'a percent-encoded filename is decoded',
      path: '/dl?id=2',
      disposition: 'attachment; filename="annual%20report.pdf"',
      expected: 'annual report.pdf',
    },
    { title: 'else the decoded URL path', path: '/files/my%20data%E2%9C%93.bin', expected: 'my data✓.bin' },
    {
      title: 'else a default, with an extension from the type',
      path: '/',
      contentType: 'application/zip',
      expected: 'download.zip',
    },
    {
      title: 'a path in the name cannot climb out of the directory',
      path: '/x1',
      disposition: 'attachment; filename="../../../etc/evil.sh"',
      expected: 'evil.sh',
    },
    {
      title: 'a Windows path and a hidden-file dot are stripped',
      path: '/x2',
      disposition: 'attachment; filename="..\\\\..\\\\.profile"',
      expected: 'profile',
    },
    {
      title: 'bidi overrides that spoof the extension are removed',
      path: '/x3',
      disposition: `attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe`,
      expected: 'invoicefdp.exe',
    },
  ];
  for (const c of cases) {
    test(`names the file from the response: ${c.title}`, async () => {
      const body = makeBody(4096, 90);
      await using server = await startTestServer({
        files: [
          {
            path: new URL(c.path, 'http://x').pathname,
            body,
            contentDisposition: c.disposition,
            contentType: c.contentType,
          },
        ],
      });
      await using h = harness();
      const id = h.engine.addJob(server.url(c.path), { dir: h.dir });
      await h.engine.run();

      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(job.fileName).toBe(c.expected);
      expect(h.files()).toEqual([c.expected]);
      expect(await h.sha256(c.expected)).toBe(sha256Hex(body));
      // Nothing was written next to the download directory either.
      expect(readdirSync(dirname(h.dir))).toEqual(['downloads']);
    });
  }
});

describe('collisions and overwrites', () => {
  test('never overwrites an existing file: saves as "name (1).ext"', async () => {
    const body = makeBody(8192, 91);
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });
    await using h = harness();
    mkdirSync(h.dir, { recursive: true });
    writeFileSync(h.path('f.bin'), 'precious');
    const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir });
    await h.engine.run();

    expect(h.job(id).fileName).toBe('f (1).bin');
    expect(readFileSync(h.path('f.bin'), 'utf8')).toBe('precious');
    expect(await h.sha256('f (1).bin')).toBe(sha256Hex(body));
  });

  test('overwrites the existing file only when asked (--overwrite)', async () => {
    const body = makeBody(8192, 92);
    await using server = await startTestServer({ files: [{ path: '/f.bin', body }] });
    await using h = harness();
    mkdirSync(h.dir, { recursive: true });
    writeFileSync(h.path('f.bin'), 'old');
    const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir, overwrite: true });
    await h.engine.run();

    expect(h.job(id).fileName).toBe('f.bin');
    expect(h.files()).toEqual(['f.bin']);
    expect(await h.sha256('f.bin')).toBe(sha256Hex(body));
  });

  test('the same URL added twice gives two complete files', async () => {
    const body = generatedBody(1 * MiB, 93);
    await using server = await startTestServer({ files: [{ path: '/twice.bin', body }] });
    await using h = harness();
    const a = h.engine.addJob(server.url('/twice.bin'), { dir: h.dir });
    const b = h.engine.addJob(server.url('/twice.bin'), { dir: h.dir });
    await h.engine.run();

    expect(h.job(a).state).toBe('completed');
    expect(h.job(b).state).toBe('completed');
    expect(h.files()).toEqual(['twice (1).bin', 'twice.bin']);
    expect(await h.sha256('twice.bin')).toBe(body.sha256Hex());
    expect(await h.sha256('twice (1).bin')).toBe(body.sha256Hex());
  });

  test("a Content-Disposition name never takes another running job's target", async () => {
    const one = generatedBody(1 * MiB, 94);
    const two = generatedBody(1 * MiB, 95);
    const disposition = 'attachment; filename="same.bin"';
    await using server = await startTestServer({
      files: [
        { path: '/one', body: one, contentDisposition: disposition, knobs: { throttleBytesPerSec: 8 * MiB } },
        { path: '/two', body: two, contentDisposition: disposition, knobs: { throttleBytesPerSec: 8 * MiB } },
      ],
    });
    await using h = harness();
    const a = h.engine.addJob(server.url('/one'), { dir: h.dir });
    const b = h.engine.addJob(server.url('/two'), { dir: h.dir });
    await h.engine.run();

    const names = [h.job(a).fileName, h.job(b).fileName];
    expect(names.sort()).toEqual(['same (1).bin', 'same.bin']);
    expect(await h.sha256(h.job(a).fileName)).toBe(one.sha256Hex());
    expect(await h.sha256(h.job(b).fileName)).toBe(two.sha256Hex());
  });

  test('each job keeps its absolute directory whatever the working directory later is', async () => {
    const body = makeBody(8192, 96);
    await using server = await startTestServer({ files: [{ path: '/abs.bin', body }] });
    await using h = harness();
    const cwd = process.cwd();
    const id = h.engine.addJob(server.url('/abs.bin'), { dir: relative(cwd, h.dir) });
    expect(h.job(id).dir).toBe(h.dir);
    const elsewhere = mkdtempSync(join(tmpdir(), 'ddm-cwd-'));
    process.chdir(elsewhere);
    try {
      await h.engine.run();
    } finally {
      process.chdir(cwd);
      rmSync(elsewhere, { recursive: true, force: true });
    }
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('abs.bin')).toBe(sha256Hex(body));
  });
});

describe('checksums', () => {
  test('a matching --checksum sha256 completes the job', async () => {
    const body = generatedBody(1 * MiB, 97);
    await using server = await startTestServer({ files: [{ path: '/ok.bin', body }] });
    await using h = harness();
    const id = h.engine.addJob(server.url('/ok.bin'), { dir: h.dir, checksum: `sha256:${body.sha256Hex()}` });
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(h.files()).toEqual(['ok.bin']);
  });

  test('a mismatch fails with ERR_CHECKSUM_MISMATCH and keeps the data as .part', async () => {
    const body = generatedBody(1 * MiB, 98);
    await using server = await startTestServer({ files: [{ path: '/bad.bin', body }] });
    await using h = harness();
    const id = h.engine.addJob(server.url('/bad.bin'), { dir: h.dir, checksum: `sha256:${'0'.repeat(64)}` });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('ERR_CHECKSUM_MISMATCH');
    expect(job.errorMessage).toContain(body.sha256Hex());
    expect(h.files()).toEqual(['bad.bin.part']);
    expect(await h.sha256('bad.bin.part')).toBe(body.sha256Hex());
  });
});

/** Mounts a tmpfs of `sizeMiB` at a fresh directory; null when this machine does not allow it. */
function mountTmpfs(sizeMiB: number): string | null {
  const at = mkdtempSync(join(tmpdir(), 'ddm-tmpfs-'));
  const result = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', at]);
  if (result.exitCode === 0) return at;
  rmSync(at, { recursive: true, force: true });
  return null;
}

function unmount(at: string): void {
  Bun.spawnSync(['umount', at]);
  rmSync(at, { recursive: true, force: true });
}

function remount(at: string, options: string): void {
  const result = Bun.spawnSync(['mount', '-o', `remount,${options}`, at]);
  if (result.exitCode !== 0) throw new Error(`remount ${options} failed: ${result.stderr.toString()}`);
}

const probeMount = mountTmpfs(1);
if (probeMount) unmount(probeMount);
/** Needs root (or CAP_SYS_ADMIN) to mount a small tmpfs; skipped, with this reason, otherwise. */
const canMount = probeMount !== null;
if (!canMount) console.warn('engine-files: cannot mount a tmpfs here (not root?); disk-full tests skipped');

describe('full or read-only disk', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const at of mounts) unmount(at);
  });

  test.skipIf(!canMount)(
    'a full disk fails with ERR_DISK_FULL; once space is freed, resume continues without losing bytes',
    async () => {
      const disk = mountTmpfs(8) as string;
      mounts.push(disk);
      writeFileSync(join(disk, 'filler'), new Uint8Array(5 * MiB));
      const body = generatedBody(4 * MiB, 99);
      await using server = await startTestServer({ files: [{ path: '/big.bin', body }] });
      await using h = harness({ dir: disk });
      const id = h.engine.addJob(server.url('/big.bin'), { dir: disk });
      await h.engine.run();

      const failed = h.job(id);
      expect(failed.state).toBe('failed');
      expect(failed.errorCode).toBe('ERR_DISK_FULL');
      expect(failed.errorMessage).toContain('Disk full while writing');
      expect(h.exists('big.bin')).toBe(false);
      // The DB claims only bytes that are really in the .part, and they are the right ones.
      const part = readFileSync(h.path('big.bin.part'));
      const saved = h.repos.segments.list(id);
      const claimed = saved.reduce((sum, s) => sum + s.writtenBytes, 0);
      expect(claimed).toBeGreaterThan(0);
      for (const s of saved) {
        const have = part.subarray(s.start, s.start + s.writtenBytes);
        expect(sha256Hex(have)).toBe(sha256Hex(bodySlice(body, s.start, s.start + s.writtenBytes)));
      }

      rmSync(join(disk, 'filler'));
      server.reset();
      await h.engine.resume(id);
      await h.engine.run();
      expect(h.job(id).state).toBe('completed');
      expect(await h.sha256('big.bin')).toBe(body.sha256Hex());
      // Finished bytes were kept: no range the resumed run asked for covers a claimed byte.
      const asked = server.requests.filter((r) => r.status === 206).map((r) => r.range ?? '');
      expect(asked.length).toBeGreaterThan(0);
      for (const range of asked) {
        const [from, to] = range.slice('bytes='.length).split('-').map(Number) as [number, number];
        for (const s of saved) {
          const overlaps = from < s.start + s.writtenBytes && to >= s.start;
          expect(overlaps && s.writtenBytes > 0).toBe(false);
        }
      }
    },
  );

  test.skipIf(!canMount)(
    'a read-only download directory fails with ERR_IO; once writable again, resume completes',
    async () => {
      const disk = mountTmpfs(8) as string;
      mounts.push(disk);
      const body = generatedBody(1 * MiB, 100);
      await using server = await startTestServer({ files: [{ path: '/ro.bin', body }] });
      await using h = harness({ dir: disk });
      const id = h.engine.addJob(server.url('/ro.bin'), { dir: disk });
      remount(disk, 'ro');
      await h.engine.run();

      const failed = h.job(id);
      expect(failed.state).toBe('failed');
      expect(failed.errorCode).toBe('ERR_IO');
      expect(failed.errorMessage).toContain('Permission denied while creating the download file');
      expect(h.files()).toEqual([]);

      remount(disk, 'rw');
      await h.engine.resume(id);
      await h.engine.run();
      expect(h.job(id).state).toBe('completed');
      expect(await h.sha256('ro.bin')).toBe(body.sha256Hex());
    },
  );

  test('a file-size limit (EFBIG) fails with ERR_IO; without the limit, resume completes', async () => {
    const body = generatedBody(2 * MiB, 101);
    await using server = await startTestServer({ files: [{ path: '/fb.bin', body }] });
    await using h = harness({ isFileDb: true });
    // Another process with `ulimit -f` (1 MiB) runs the engine; Bun ignores SIGXFSZ and gets EFBIG.
    const script = join(dirname(h.dbPath), 'limited-engine.ts');
    writeFileSync(
      script,
      [
        `import { openDb, reposFor } from ${JSON.stringify(join(import.meta.dir, '../../db/src/index.ts'))};`,
        `import { Engine } from ${JSON.stringify(join(import.meta.dir, 'engine.ts'))};`,
        `import { FAST_SETTINGS } from ${JSON.stringify(join(import.meta.dir, 'testing', 'engine-test-kit.ts'))};`,
        'const [dbPath, url, dir] = process.argv.slice(2);',
        'const repos = reposFor(openDb(dbPath));',
        'const engine = new Engine({ repos, settings: FAST_SETTINGS, env: {} });',
        'engine.addJob(url, { dir });',
        'await engine.run();',
      ].join('\n'),
    );
    // Asynchronous spawn: the test server lives in this process and must keep answering.
    const child = Bun.spawn(
      [
        'bash',
        '-c',
        'ulimit -f 1024 && exec "$0" "$@"',
        process.execPath,
        script,
        h.dbPath,
        server.url('/fb.bin'),
        h.dir,
      ],
      { stdout: 'ignore', stderr: 'pipe' },
    );
    expect(await child.exited).toBe(0);
    const [job] = h.repos.jobs.list();
    const id = job?.id ?? -1;
    expect(job?.state).toBe('failed');
    expect(job?.errorCode).toBe('ERR_IO');
    expect(job?.errorMessage).toContain('File too large');
    expect(h.exists('fb.bin')).toBe(false);

    await h.engine.resume(id);
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    expect(await h.sha256('fb.bin')).toBe(body.sha256Hex());
  });

  test('a download directory that is a file is refused with ERR_IO when the job is added', async () => {
    await using h = harness();
    mkdirSync(dirname(h.dir), { recursive: true });
    writeFileSync(h.dir, 'not a directory');
    expect(() => h.engine.addJob('http://127.0.0.1:9/x.bin', { dir: h.dir })).toThrow(
      expect.objectContaining({ code: 'ERR_IO' }),
    );
    expect(h.repos.jobs.list()).toEqual([]);
  });
});
