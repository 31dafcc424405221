import { describe, expect, test } from 'bun:test';
import type { JobSnapshot } from '@ddm/core';
import { jobSnapshot } from '@ddm/core/testing';
import {
  createProgressPrinter,
  doneLine,
  fitProgressLine,
  type Output,
  percent,
  singleConnectionReason,
  textWidth,
  truncateToWidth,
} from './output.ts';

const MiB = 1024 * 1024;

function job(overrides: Partial<JobSnapshot> = {}): JobSnapshot {
  return jobSnapshot({
    id: 12,
    url: 'http://127.0.0.1/x',
    sizeBytes: 640 * MiB,
    doneBytes: 123 * MiB,
    rateBytesPerSec: 12.3 * MiB,
    etaSec: 3725,
    connections: 8,
    ...overrides,
  });
}

const LONG_ASCII = `${'ubuntu-24.04.1-desktop-amd64-with-a-very-long-suffix-'.repeat(4)}final.iso`;
const LONG_CJK = `${'長いファイル名の例です'.repeat(6)}.zip`;
const LONG_EMOJI = `${'📦🚀é'.repeat(30)}.tar.gz`;
const SINGLE = 'single connection: the server does not support Range requests; no length: size learned at the end';

describe('fitProgressLine: the name goes first, never the percentage, rate or ETA', () => {
  const cases: [string, Partial<JobSnapshot>][] = [
    ['short name', {}],
    ['long ASCII name', { fileName: LONG_ASCII }],
    ['long CJK name (2 columns a character)', { fileName: LONG_CJK }],
    ['long emoji and accented name', { fileName: LONG_EMOJI }],
    ['one connection with its reason', { fileName: LONG_ASCII, why: SINGLE, connections: 1 }],
    ['unknown size and ETA', { fileName: LONG_CJK, sizeBytes: null, etaSec: null }],
    ['verifying, six-digit id', { fileName: LONG_ASCII, id: 123456, state: 'verifying' }],
  ];
  for (const [name, overrides] of cases) {
    test(`${name}: fits every width from 60 to 200 and keeps %, rate, ETA`, () => {
      const j = job(overrides);
      const must = [percent(j), '12.3 MiB/s', j.etaSec === null ? 'ETA --' : 'ETA 1h02m', `#${j.id} `];
      if (j.state !== 'downloading') must.push(j.state);
      for (let columns = 60; columns <= 200; columns++) {
        const line = fitProgressLine(j, columns);
        expect({ columns, width: textWidth(line) <= columns - 1 }).toEqual({ columns, width: true });
        for (const part of must)
          expect({ columns, line, has: line.includes(part) }).toEqual({ columns, line, has: true });
        // Some of the name is always there at 60 columns and up.
        expect(line.slice(`#${j.id} `.length).length).toBeGreaterThan(0);
      }
    });
  }

  test('a line that fits is printed whole; a long name is cut in the middle, keeping its extension', () => {
    expect(fitProgressLine(job(), 200)).toBe(
      '#12 file.bin  123.0 MiB/640.0 MiB  19.2%  12.3 MiB/s  ETA 1h02m  8/8 conn',
    );
    const line = fitProgressLine(job({ fileName: LONG_ASCII }), 100);
    expect(line).toContain('….iso');
    expect(line).toContain('123.0 MiB/640.0 MiB');
    expect(line).toContain('8/8 conn');
  });

  test('the name is cut before the byte counts and the connection count go', () => {
    const full = fitProgressLine(job({ fileName: LONG_ASCII }), 200);
    expect(full).toContain('123.0 MiB/640.0 MiB');
    // At 80 columns the name is cut but the bytes and connections are kept.
    const at80 = fitProgressLine(job({ fileName: LONG_ASCII }), 80);
    expect(at80).toContain('123.0 MiB/640.0 MiB');
    expect(at80).toContain('8/8 conn');
  });

  test('one connection: the line says why, shortened when room is short', () => {
    const j = job({ why: SINGLE, connections: 1, maxConnections: 8 });
    expect(fitProgressLine(j, 200)).toContain('1 conn (server does not support Range requests)');
    const at90 = fitProgressLine(j, 90);
    expect(at90).toContain('1 conn (server does no');
    expect(textWidth(at90)).toBeLessThanOrEqual(89);
  });

  test('multibyte names are cut on grapheme boundaries', () => {
    const line = fitProgressLine(job({ fileName: LONG_EMOJI }), 70);
    expect(line).not.toContain('\uFFFD');
    // No lone surrogate halves.
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(line)).toBe(false);
    expect(truncateToWidth('長い名前', 5)).toBe('長い…');
    expect(textWidth(truncateToWidth('長い名前', 5))).toBe(5);
  });
});

test('singleConnectionReason takes the clause of the why that says so', () => {
  expect(singleConnectionReason({ why: SINGLE })).toBe('server does not support Range requests');
  expect(singleConnectionReason({ why: 'saved as x (1).bin' })).toBeNull();
  expect(singleConnectionReason({ why: null })).toBeNull();
});

function fakeOutput(isTty: boolean, isQuiet = false): Output {
  return {
    isJson: false,
    isQuiet,
    isTty,
    hasColor: false,
    line: () => {},
    data: () => {},
    json: () => {},
    note: () => {},
    error: () => {},
  };
}

describe('non-TTY progress', () => {
  function printer(isTty = false, isQuiet = false) {
    let nowMs = 1_000_000;
    const written: string[] = [];
    const p = createProgressPrinter(fakeOutput(isTty, isQuiet), {
      intervalMs: 3000,
      now: () => nowMs,
      write: (text) => written.push(text),
      columns: () => 80,
    });
    return { p, written, advance: (ms: number) => (nowMs += ms) };
  }

  test('a download that ends within the interval prints no progress line', () => {
    const { p, written, advance } = printer();
    for (let i = 0; i < 5; i++) {
      advance(200);
      p.update([job()]);
    }
    p.done();
    expect(written).toEqual([]);
  });

  test('at most one line per interval, however often it is updated', () => {
    const { p, written, advance } = printer();
    for (let i = 0; i < 100; i++) {
      advance(250);
      p.update([job()]);
    }
    // 25 s of updates every 250 ms: one line per 3 s at most.
    expect(written.length).toBeGreaterThanOrEqual(7);
    expect(written.length).toBeLessThanOrEqual(8);
    for (const line of written) expect(line).toEndWith('\n');
  });

  test('never a "0 B/s ETA --" line: nothing while no bytes flow', () => {
    const { p, written, advance } = printer();
    for (let i = 0; i < 20; i++) {
      advance(1000);
      p.update([job({ rateBytesPerSec: 0, etaSec: null, doneBytes: 0 })]);
      p.update([job({ rateBytesPerSec: 0, etaSec: null, doneBytes: 5 * MiB })]);
    }
    expect(written).toEqual([]);
    advance(1000);
    p.update([job({ etaSec: null, sizeBytes: null })]);
    expect(written).toHaveLength(1);
    expect(written[0]).not.toContain('ETA --');
    expect(written[0]).not.toContain(' 0 B/s');
  });

  test('--quiet prints no progress at all', () => {
    const { p, written, advance } = printer(true, true);
    advance(5000);
    p.update([job()]);
    expect(written).toEqual([]);
  });

  test('TTY: one live line rewritten in place, fit to the width, cleared at the end', () => {
    const { p, written } = printer(true);
    p.update([job({ fileName: LONG_ASCII })]);
    expect(written[0]).toStartWith('\r#12 ');
    expect(textWidth(written[0]?.slice(1) ?? '')).toBeLessThanOrEqual(79);
    p.done();
    expect(written.at(-1)).toMatch(/^\r +\r$/);
  });
});

describe('doneLine: the summary when a download ends', () => {
  test('name, size, time, average rate, connections and the verified checksum', () => {
    const j = job({ state: 'completed', sizeBytes: 64 * MiB, doneBytes: 64 * MiB, fileName: 'big.iso' });
    expect(doneLine(j, { elapsedMs: 3200, fetchedBytes: 64 * MiB, connectionsUsed: 8 }, 'sha256')).toBe(
      'big.iso: 64.0 MiB in 3.2s, 20.0 MiB/s average, 8 connections, sha256 verified',
    );
  });

  test('a continued download says how much this run fetched; one connection says why', () => {
    const j = job({ state: 'completed', sizeBytes: 64 * MiB, doneBytes: 64 * MiB, fileName: 'big.iso', why: SINGLE });
    expect(doneLine(j, { elapsedMs: 65_000, fetchedBytes: 16 * MiB, connectionsUsed: 1 }, null)).toBe(
      'big.iso: 64.0 MiB (continued; 16.0 MiB fetched) in 1m05s, 252.1 KiB/s average, 1 connection (server does not support Range requests)',
    );
  });
});
