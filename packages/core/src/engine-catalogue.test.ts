/**
 * The catalogue: every misbehaviour of the test server, alone and combined, must end either
 * with a file whose SHA-256 is that of a version the server really served, or with a failed
 * job, a clear error code and no final file. Never a wrong file.
 */
import { expect, setDefaultTimeout, test } from 'bun:test';
import { harness } from './testing/engine-test-kit.ts';
import { generatedBody, type Knobs, startTestServer } from './testing/index.ts';

// Every test ends by itself well within this (bun's default is 5 s; a busy 2-core machine is slower).
setDefaultTimeout(20_000);

const MiB = 1024 * 1024;
const OLD = generatedBody(1 * MiB + 777, 200);
const NEW = generatedBody(1 * MiB + 777, 201);

const cases: { name: string; knobs: Knobs; expect: 'completed' | 'failed' | 'either' }[] = [
  { name: 'no ranges', knobs: { noRanges: true }, expect: 'completed' },
  { name: 'no length', knobs: { noLength: true }, expect: 'completed' },
  { name: 'HEAD 405 and no ranges', knobs: { headStatus: 405, noRanges: true }, expect: 'completed' },
  {
    name: 'HEAD 403 and a wrong Content-Range to the probe',
    knobs: { headStatus: 403, wrongContentRange: true },
    expect: 'completed',
  },
  {
    name: 'HEAD without length and drops',
    knobs: { headNoLength: true, dropAfterBytes: { bytes: 50_000, times: 3 } },
    expect: 'completed',
  },
  { name: '200 to the first ranged GET', knobs: { range200AfterRequests: 0 }, expect: 'completed' },
  {
    name: '200 to ranges after one GET, with drops',
    knobs: { range200AfterRequests: 1, dropAfterBytes: { bytes: 100_000, times: 2 } },
    expect: 'completed',
  },
  { name: 'wrong Content-Range after two GETs', knobs: { wrongContentRange: { afterRequests: 2 } }, expect: 'failed' },
  {
    name: 'drops that race the data (no grace)',
    knobs: { dropAfterBytes: { bytes: 70_000, times: 6, graceMs: 0 } },
    expect: 'completed',
  },
  {
    name: 'no ranges and drops that race the data',
    knobs: { noRanges: true, dropAfterBytes: { bytes: 300_000, times: 2, graceMs: 0 } },
    expect: 'completed',
  },
  { name: 'gzip on every range', knobs: { compressRanges: true }, expect: 'completed' },
  {
    name: 'gzip on ranges and drops',
    knobs: { compressRanges: true, dropAfterBytes: { bytes: 20_000, times: 2 } },
    expect: 'completed',
  },
  {
    name: 'changed after two GETs',
    knobs: { changeAfterRequests: { requests: 2, body: NEW, etag: '"new"' } },
    expect: 'completed',
  },
  {
    name: 'changed after three GETs, with drops',
    knobs: {
      changeAfterRequests: { requests: 3, body: NEW, etag: '"new"' },
      dropAfterBytes: { bytes: 64_000, times: 4 },
    },
    expect: 'completed',
  },
  {
    name: 'a stall, then 503s',
    knobs: { stallAfterBytes: { bytes: 10_000, times: 1 }, failFirst: { count: 2, status: 503 } },
    expect: 'completed',
  },
  { name: 'only 500s', knobs: { failFirst: { count: 1000, status: 500 } }, expect: 'failed' },
  { name: '403 on every GET', knobs: { failFirst: { count: 1000, status: 403 } }, expect: 'failed' },
];

for (const c of cases) {
  test(`ends with a right file or a clear failure, never a wrong file: ${c.name}`, async () => {
    await using server = await startTestServer({
      files: [{ path: '/c.bin', body: OLD, etag: '"old"', knobs: c.knobs }],
    });
    await using h = harness({ settings: { lowSpeedBytesPerSec: 16 * 1024, lowSpeedTimeMs: 200 } });
    const id = h.engine.addJob(server.url('/c.bin'), { dir: h.dir });
    await h.engine.run();

    const job = h.job(id);
    if (c.expect !== 'either') expect(job.state).toBe(c.expect);
    if (job.state === 'completed') {
      expect([OLD.sha256Hex(), NEW.sha256Hex()]).toContain(await h.sha256('c.bin'));
      expect(h.files()).toEqual(['c.bin']);
    } else {
      expect(job.state).toBe('failed');
      expect(job.errorCode).toMatch(/^ERR_/);
      expect(job.errorMessage).toBeTruthy();
      expect(h.exists('c.bin')).toBe(false);
    }
  });
}
