/**
 * File safety: a job's files are never followed through a symlink, never written through a
 * planted hard link or a swapped file, and the move into place survives a name taken meanwhile
 * and a crash at any step. Also the file-system edge cases: empty files and 251-255 byte names.
 * Every attack asserts that no byte changes outside the download directory.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Engine } from './engine.ts';
import { FAST_SETTINGS, type Harness, harness } from './testing/engine-test-kit.ts';
import { generatedBody, makeBody, sha256Hex, startTestServer, type TestServer, waitFor } from './testing/index.ts';

setDefaultTimeout(20_000);

const KiB = 1024;
const MiB = 1024 * KiB;
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/** A file next to the download directory (outside `-d`) with known bytes, and a way to prove it unchanged. */
function outsideFile(h: Harness, name = 'outside.txt') {
  const path = join(dirname(h.dir), name);
  const bytes = makeBody(4096, 7);
  writeFileSync(path, bytes);
  const before = statSync(path);
  return {
    path,
    assertUnchanged() {
      const after = statSync(path);
      expect(sha256Hex(readFileSync(path))).toBe(sha256Hex(bytes));
      expect(after.size).toBe(bytes.length);
      expect(after.mtimeMs).toBe(before.mtimeMs);
    },
  };
}

/** Starts a throttled job, waits until it wrote bytes to its .part, and pauses it. */
async function pausedMidway(h: Harness, server: TestServer, path: string): Promise<number> {
  const id = h.engine.addJob(server.url(path), { dir: h.dir });
  const running = h.engine.run();
  await waitFor(() => h.repos.segments.list(id).some((s) => s.writtenBytes > 0), { what: 'a checkpoint' });
  await h.engine.pause(id);
  await running;
  expect(h.job(id).state).toBe('paused');
  return id;
}

describe('a planted .part is never written through', () => {
  const plants: { kind: string; plant: (part: string, outside: string) => void }[] = [
    {
      kind: 'a symlink to a file outside -d',
      plant: (part, outside) => {
        unlinkSync(part);
        symlinkSync(outside, part);
      },
    },
    {
      kind: 'a hard link to a file outside -d',
      plant: (part, outside) => {
        unlinkSync(part);
        linkSync(outside, part);
      },
    },
    {
      kind: 'another regular file moved into its place',
      plant: (part, outside) => {
        // A one-link regular file, but not the inode ddm created: only the recorded inode tells.
        // It exists before the .part goes (as a file moved in from elsewhere does), so it cannot
        // have been given the .part's inode number.
        writeFileSync(`${outside}.moved`, readFileSync(outside));
        renameSync(`${outside}.moved`, part);
      },
    },
  ];
  for (const { kind, plant } of plants) {
    test(`resuming over ${kind} fails with ERR_UNSAFE_PATH naming the path; no byte changes outside`, async () => {
      const body = generatedBody(2 * MiB, 11);
      await using server = await startTestServer({
        files: [{ path: '/p.bin', body, knobs: { throttleBytesPerSec: 1 * MiB } }],
      });
      await using h = harness();
      const outside = outsideFile(h);
      const id = await pausedMidway(h, server, '/p.bin');
      const part = h.path('p.bin.part');
      plant(part, outside.path);

      await h.engine.resume(id);
      await h.engine.run();

      const job = h.job(id);
      expect(job.state).toBe('failed');
      expect(job.errorCode).toBe('ERR_UNSAFE_PATH');
      expect(job.errorMessage).toContain(part);
      outside.assertUnchanged();
      expect(h.exists('p.bin')).toBe(false);
    });
  }

  test('a symlink planted at the .part name before the first run is never created through', async () => {
    const body = makeBody(64 * KiB, 12);
    await using server = await startTestServer({ files: [{ path: '/q.bin', body }] });
    await using h = harness();
    const outside = outsideFile(h);
    const id = h.engine.addJob(server.url('/q.bin'), { dir: h.dir });
    symlinkSync(outside.path, h.path('q.bin.part'));
    await h.engine.run();

    expect(h.job(id).state).toBe('failed');
    outside.assertUnchanged();
    expect(readlinkSync(h.path('q.bin.part'))).toBe(outside.path);
  });
});

describe('the final name taken while downloading', () => {
  const takers: { kind: string; take: (h: Harness, name: string, outside: string) => void }[] = [
    { kind: 'a user file', take: (h, name) => writeFileSync(h.path(name), 'users own') },
    { kind: 'a dangling symlink', take: (h, name, outside) => symlinkSync(`${outside}.never`, h.path(name)) },
    { kind: 'a symlink to a file outside -d', take: (h, name, outside) => symlinkSync(outside, h.path(name)) },
  ];
  for (const { kind, take } of takers) {
    test(`by ${kind}: the download lands as "name (1).ext", the taker untouched`, async () => {
      const body = generatedBody(2 * MiB, 13);
      await using server = await startTestServer({
        files: [{ path: '/t.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
      });
      await using h = harness();
      const outside = outsideFile(h);
      const id = h.engine.addJob(server.url('/t.bin'), { dir: h.dir });
      const running = h.engine.run();
      await waitFor(() => h.exists('t.bin.part'), { what: 'the .part' });
      const before = h.files();
      take(h, 't.bin', outside.path);
      await running;

      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(job.fileName).toBe('t (1).bin');
      expect(await h.sha256('t (1).bin')).toBe(body.sha256Hex());
      expect(h.files()).toEqual(['t (1).bin', 't.bin']);
      expect(before).toEqual(['t.bin.part']);
      outside.assertUnchanged();
      const taker = lstatSync(h.path('t.bin'));
      if (kind === 'a user file') expect(readFileSync(h.path('t.bin'), 'utf8')).toBe('users own');
      else expect(taker.isSymbolicLink()).toBe(true);
    });
  }

  test('a symlink planted as "name (1).ext" too: lands as "name (2).ext"', async () => {
    const body = generatedBody(2 * MiB, 14);
    await using server = await startTestServer({
      files: [{ path: '/u.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    await using h = harness();
    const outside = outsideFile(h);
    const id = h.engine.addJob(server.url('/u.bin'), { dir: h.dir });
    const running = h.engine.run();
    await waitFor(() => h.exists('u.bin.part'), { what: 'the .part' });
    writeFileSync(h.path('u.bin'), 'users own');
    symlinkSync(outside.path, h.path('u (1).bin'));
    symlinkSync(outside.path, h.path('u (1).bin.part'));
    await running;

    expect(h.job(id).state).toBe('completed');
    expect(h.job(id).fileName).toBe('u (2).bin');
    expect(await h.sha256('u (2).bin')).toBe(body.sha256Hex());
    expect(readFileSync(h.path('u.bin'), 'utf8')).toBe('users own');
    expect(readlinkSync(h.path('u (1).bin'))).toBe(outside.path);
    outside.assertUnchanged();
  });

  test('a dangling symlink at the name when the job is added: the job takes "name (1).ext"', async () => {
    const body = makeBody(64 * KiB, 15);
    await using server = await startTestServer({ files: [{ path: '/d.bin', body }] });
    await using h = harness();
    mkdirSync(h.dir, { recursive: true });
    const target = join(dirname(h.dir), 'not-there');
    symlinkSync(target, h.path('d.bin'));
    const id = h.engine.addJob(server.url('/d.bin'), { dir: h.dir });
    expect(h.job(id).fileName).toBe('d (1).bin');
    await h.engine.run();

    expect(h.job(id).state).toBe('completed');
    expect(readlinkSync(h.path('d.bin'))).toBe(target);
    expect(() => statSync(target)).toThrow();
  });

  test('overwrite = "fail": ERR_FILE_EXISTS, the .part kept, the taker untouched', async () => {
    const body = generatedBody(2 * MiB, 16);
    await using server = await startTestServer({
      files: [{ path: '/f.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    await using h = harness();
    const id = h.engine.addJob(server.url('/f.bin'), { dir: h.dir, settings: { overwrite: 'fail' } });
    const running = h.engine.run();
    await waitFor(() => h.exists('f.bin.part'), { what: 'the .part' });
    writeFileSync(h.path('f.bin'), 'users own');
    await running;

    expect(h.job(id).errorCode).toBe('ERR_FILE_EXISTS');
    expect(readFileSync(h.path('f.bin'), 'utf8')).toBe('users own');
    expect(await h.sha256('f.bin.part')).toBe(body.sha256Hex());
  });

  test('overwrite: a symlink at the name is replaced, its target untouched', async () => {
    const body = generatedBody(2 * MiB, 17);
    await using server = await startTestServer({
      files: [{ path: '/o.bin', body, knobs: { throttleBytesPerSec: 2 * MiB } }],
    });
    await using h = harness();
    const outside = outsideFile(h);
    const id = h.engine.addJob(server.url('/o.bin'), { dir: h.dir, overwrite: true });
    const running = h.engine.run();
    await waitFor(() => h.exists('o.bin.part'), { what: 'the .part' });
    symlinkSync(outside.path, h.path('o.bin'));
    await running;

    expect(h.job(id).state).toBe('completed');
    expect(lstatSync(h.path('o.bin')).isFile()).toBe(true);
    expect(await h.sha256('o.bin')).toBe(body.sha256Hex());
    outside.assertUnchanged();
  });
});

describe('a crash while moving into place resumes cleanly', () => {
  /** A completed job, then the DB put back to `verifying` as if the process died mid-move. */
  async function completedThenCrashed(h: Harness, server: TestServer, path: string): Promise<number> {
    const id = h.engine.addJob(server.url(path), { dir: h.dir });
    await h.engine.run();
    expect(h.job(id).state).toBe('completed');
    h.repos.jobs.update(id, { state: 'verifying', completedAt: null });
    server.reset();
    return id;
  }

  const states: { title: string; prepare: (h: Harness) => void; makesRequests: boolean }[] = [
    {
      title: 'before the link (only the .part)',
      prepare: (h) => renameSync(h.path('m.bin'), h.path('m.bin.part')),
      makesRequests: true,
    },
    {
      title: 'after the link, before the unlink (both names)',
      prepare: (h) => linkSync(h.path('m.bin'), h.path('m.bin.part')),
      makesRequests: false,
    },
    { title: 'after the unlink, before the DB said completed', prepare: () => {}, makesRequests: false },
  ];
  for (const { title, prepare, makesRequests } of states) {
    test(`${title}: the next run completes the job, one file, no duplicate`, async () => {
      const body = generatedBody(1 * MiB, 18);
      await using server = await startTestServer({ files: [{ path: '/m.bin', body }] });
      await using h = harness();
      const id = await completedThenCrashed(h, server, '/m.bin');
      prepare(h);

      await h.restartEngine().run();

      expect(h.job(id).state).toBe('completed');
      expect(h.files()).toEqual(['m.bin']);
      expect(await h.sha256('m.bin')).toBe(body.sha256Hex());
      expect(lstatSync(h.path('m.bin')).nlink).toBe(1);
      // A move left halfway is finished from the disk alone; only a job still at its .part asks again.
      expect(server.requests.length > 0).toBe(makesRequests);
    });
  }

  test('after linking under the fallback name "name (1).ext", before recording it: completes under that name', async () => {
    const body = generatedBody(1 * MiB, 19);
    await using server = await startTestServer({ files: [{ path: '/m.bin', body }] });
    await using h = harness();
    const id = await completedThenCrashed(h, server, '/m.bin');
    // The crashed run had found m.bin taken by the user and linked its file as "m (1).bin".
    renameSync(h.path('m.bin'), h.path('m (1).bin'));
    linkSync(h.path('m (1).bin'), h.path('m.bin.part'));
    writeFileSync(h.path('m.bin'), 'users own');

    await h.restartEngine().run();

    expect(h.job(id).state).toBe('completed');
    expect(h.job(id).fileName).toBe('m (1).bin');
    expect(h.files()).toEqual(['m (1).bin', 'm.bin']);
    expect(await h.sha256('m (1).bin')).toBe(body.sha256Hex());
    expect(readFileSync(h.path('m.bin'), 'utf8')).toBe('users own');
  });

  test('a hard link the user made to an unfinished .part is not taken for a finished move', async () => {
    const body = generatedBody(2 * MiB, 20);
    await using server = await startTestServer({
      files: [{ path: '/p.bin', body, knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    await using h = harness();
    const id = await pausedMidway(h, server, '/p.bin');
    linkSync(h.path('p.bin.part'), h.path('copy.bin'));
    await h.engine.resume(id);
    await h.engine.run();

    expect(h.job(id).state).toBe('failed');
    expect(h.job(id).errorCode).toBe('ERR_UNSAFE_PATH');
    expect(h.job(id).errorMessage).toContain('hard links');
  });
});

describe('remove --delete-files', () => {
  test('deletes only the file ddm created: a symlink or a user file at the name is left alone', async () => {
    const body = makeBody(64 * KiB, 21);
    await using server = await startTestServer({
      files: [
        { path: '/a.bin', body },
        { path: '/b.bin', body },
        { path: '/c.bin', body },
      ],
    });
    await using h = harness();
    const outside = outsideFile(h);
    const a = h.engine.addJob(server.url('/a.bin'), { dir: h.dir });
    const b = h.engine.addJob(server.url('/b.bin'), { dir: h.dir });
    const c = h.engine.addJob(server.url('/c.bin'), { dir: h.dir });
    await h.engine.run();
    unlinkSync(h.path('a.bin'));
    symlinkSync(outside.path, h.path('a.bin'));
    unlinkSync(h.path('b.bin'));
    writeFileSync(h.path('b.bin'), 'users own');

    await h.engine.remove(a, { deleteFiles: true });
    await h.engine.remove(b, { deleteFiles: true });
    await h.engine.remove(c, { deleteFiles: true });

    expect(readlinkSync(h.path('a.bin'))).toBe(outside.path);
    expect(readFileSync(h.path('b.bin'), 'utf8')).toBe('users own');
    expect(h.exists('c.bin')).toBe(false);
    outside.assertUnchanged();
  });
});

describe('empty files', () => {
  const servers: { title: string; knobs: Record<string, unknown> }[] = [
    { title: 'Content-Length: 0', knobs: {} },
    { title: 'HEAD refused, bytes=0-0 answered 416 bytes */0', knobs: { headStatus: 405 } },
    { title: 'HEAD refused, bytes=0-0 answered 200 empty', knobs: { headStatus: 405, noRanges: true } },
  ];
  for (const { title, knobs } of servers) {
    test(`an empty resource (${title}) downloads to an empty file, no .part left`, async () => {
      await using server = await startTestServer({ files: [{ path: '/empty.txt', body: new Uint8Array(0), knobs }] });
      await using h = harness();
      const id = h.engine.addJob(server.url('/empty.txt'), { dir: h.dir });
      const summary = await h.engine.run();

      expect(h.job(id).state).toBe('completed');
      expect(summary.completed).toEqual([id]);
      expect(h.files()).toEqual(['empty.txt']);
      expect(statSync(h.path('empty.txt')).size).toBe(0);
      const states = h.eventsOf('job-state').map((e) => e.to);
      expect(states).toEqual(['probing', 'downloading', 'verifying', 'completed']);
    });
  }
});

describe('long names', () => {
  const name255 = `${'n'.repeat(240)}-${'é'.repeat(5)}.bin`;
  test('a 255-byte name from -o: the .part fits, the extension is kept', async () => {
    expect(utf8Bytes(name255)).toBe(255);
    const body = makeBody(64 * KiB, 22);
    await using server = await startTestServer({ files: [{ path: '/x', body }] });
    await using h = harness();
    const id = h.engine.addJob(server.url('/x'), { dir: h.dir, fileName: name255 });
    await h.engine.run();

    const job = h.job(id);
    expect(job.state).toBe('completed');
    expect(utf8Bytes(job.fileName)).toBeLessThanOrEqual(250);
    expect(job.fileName.endsWith('.bin')).toBe(true);
    expect(await h.sha256(job.fileName)).toBe(sha256Hex(body));
  });

  test('a 255-byte Content-Disposition name, twice (the second gets "(1)"): both complete', async () => {
    const body = makeBody(64 * KiB, 23);
    const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(name255)}`;
    await using server = await startTestServer({
      files: [
        { path: '/cd1', body, contentDisposition: disposition },
        { path: '/cd2', body, contentDisposition: disposition },
      ],
    });
    await using h = harness();
    const a = h.engine.addJob(server.url('/cd1'), { dir: h.dir });
    const b = h.engine.addJob(server.url('/cd2'), { dir: h.dir });
    await h.engine.run();

    for (const id of [a, b]) {
      const job = h.job(id);
      expect(job.state).toBe('completed');
      expect(utf8Bytes(`${job.fileName}.part`)).toBeLessThanOrEqual(255);
      expect(job.fileName.endsWith('.bin')).toBe(true);
    }
    expect(h.files()).toHaveLength(2);
    expect(h.files().some((f) => f.endsWith(' (1).bin'))).toBe(true);
  });
});

describe('on_error hook', () => {
  test('gets DDM_JOB_PATH only when a file exists at that path', async () => {
    const body = makeBody(64 * KiB, 24);
    await using server = await startTestServer({ files: [{ path: '/bad.bin', body }] });
    await using h = harness();
    const record = join(dirname(h.dir), 'hook.txt');
    const engine = new Engine({
      repos: h.repos,
      settings: FAST_SETTINGS,
      env: {},
      pollIntervalMs: 20,
      hooks: { onError: `printf '%s\\n' "\${DDM_JOB_PATH-unset}" >> '${record}'` },
    });
    // A 404 creates no file; a checksum mismatch keeps the .part.
    engine.addJob(server.url('/missing.bin'), { dir: h.dir });
    engine.addJob(server.url('/bad.bin'), { dir: h.dir, checksum: `sha256:${'0'.repeat(64)}` });
    await engine.run();

    const lines = readFileSync(record, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual([h.path('bad.bin.part'), 'unset'].sort());
  });
});
