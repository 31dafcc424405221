import { afterEach, describe, expect, test } from 'bun:test';
import { App } from './app.tsx';
import { FakeEngine, makeJob, makeSegment, makeSnapshot } from './testing/fake-engine.ts';
import { KEYS, renderSized, type SizedRender, waitFor } from './testing/render-sized.ts';

const downloading = makeJob({
  id: 1,
  fileName: 'ubuntu.iso',
  state: 'downloading',
  sizeBytes: 1000,
  doneBytes: 600,
  rateBytesPerSec: 2048,
  connections: 2,
  maxConnections: 4,
  why: 'split segment 1 to use a free connection',
  segments: [
    makeSegment({ index: 0, start: 0, end: 500, writtenBytes: 500, status: 'done' }),
    makeSegment({ index: 1, start: 500, end: 750, writtenBytes: 100, status: 'active', rateBytesPerSec: 1024 }),
    makeSegment({ index: 2, start: 750, end: 1000, writtenBytes: 0, status: 'retrying', retries: 2, splitFrom: 1 }),
  ],
});
const paused = makeJob({ id: 2, fileName: 'notes.pdf', state: 'paused', connections: 0, maxConnections: 1 });

let view: SizedRender | null = null;
afterEach(() => {
  view?.unmount();
  view = null;
});

function start(engine: FakeEngine, size = { columns: 80, rows: 24 }, onQuit: () => void = () => {}): SizedRender {
  view = renderSized(<App controller={engine} onQuit={onQuit} isColor={false} />, size);
  return view;
}

async function waitForCalls(engine: FakeEngine, count: number): Promise<void> {
  await waitFor(
    () => engine.calls.length >= count,
    () => `${count} controller calls, got ${JSON.stringify(engine.calls)}`,
  );
}

describe('App key handling dispatches to the controller', () => {
  test('p pauses a downloading job and resumes a paused one', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.press('p');
    await waitForCalls(engine, 1);
    await ui.press(KEYS.down, 'p');
    await waitForCalls(engine, 2);
    expect(engine.calls).toEqual([
      { method: 'pause', args: [1] },
      { method: 'resume', args: [2] },
    ]);
  });

  test('j/k and arrows move the selection', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.press('j');
    await ui.waitForFrame((frame) => /^> #2/m.test(frame));
    await ui.press('k');
    await ui.waitForFrame((frame) => /^> #1/m.test(frame));
    await ui.press(KEYS.down);
    await ui.waitForFrame((frame) => /^> #2/m.test(frame));
    await ui.press(KEYS.up);
    await ui.waitForFrame((frame) => /^> #1/m.test(frame));
  });

  test('c asks before canceling; n keeps the job', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('c');
    await ui.waitForFrame((frame) => frame.includes('Cancel job #1 (ubuntu.iso)? (y/n)'));
    await ui.press('n');
    await ui.waitForFrame((frame) => !frame.includes('Cancel job'));
    await ui.press('c');
    await ui.waitForFrame((frame) => frame.includes('Cancel job #1'));
    await ui.press('y');
    await waitForCalls(engine, 1);
    expect(engine.calls).toEqual([{ method: 'cancel', args: [1] }]);
  });

  test('d asks; y removes keeping files, D removes and deletes them', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.press('d');
    await ui.waitForFrame((frame) =>
      frame.includes('Remove job #1 (ubuntu.iso)? (y = keep files, D = delete files, n)'),
    );
    await ui.press('y');
    await waitForCalls(engine, 1);
    await ui.press('j', 'd');
    await ui.waitForFrame((frame) => frame.includes('Remove job #2'));
    await ui.press('D');
    await waitForCalls(engine, 2);
    expect(engine.calls).toEqual([
      { method: 'remove', args: [1, { deleteFiles: false }] },
      { method: 'remove', args: [2, { deleteFiles: true }] },
    ]);
  });

  test('a opens an input line and adds the typed (or pasted) URL', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('a');
    await ui.waitForFrame((frame) => frame.includes('Add URL:'));
    await ui.press('http://127.0.0.1:8080/', 'x', KEYS.backspace, 'big.iso');
    await ui.waitForFrame((frame) => frame.includes('Add URL: http://127.0.0.1:8080/big.iso_'));
    await ui.press(KEYS.enter);
    await waitForCalls(engine, 1);
    expect(engine.calls).toEqual([{ method: 'add', args: ['http://127.0.0.1:8080/big.iso'] }]);
    await ui.waitForFrame((frame) => frame.includes('added #100'));
  });

  test('a paste that ends with Enter (one input chunk) adds the URL', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('a');
    await ui.waitForFrame((frame) => frame.includes('Add URL:'));
    await ui.press('http://127.0.0.1:8080/pasted.iso\r');
    await waitForCalls(engine, 1);
    expect(engine.calls).toEqual([{ method: 'add', args: ['http://127.0.0.1:8080/pasted.iso'] }]);
    await ui.waitForFrame((frame) => !frame.includes('Add URL:') && frame.includes('added #100'));
    // The same in the limit prompt, with a CRLF line end.
    await ui.press('l');
    await ui.waitForFrame((frame) => frame.includes('Limit for job #1'));
    await ui.press('2M\r\n');
    await waitForCalls(engine, 2);
    expect(engine.calls[1]).toEqual({ method: 'setLimit', args: [1, 2 * 1024 * 1024] });
  });

  test('escape leaves the input line without adding', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('a');
    await ui.waitForFrame((frame) => frame.includes('Add URL:'));
    await ui.press('http://x/', KEYS.escape);
    await ui.waitForFrame((frame) => !frame.includes('Add URL:'));
    await ui.press('p');
    await waitForCalls(engine, 1);
    expect(engine.calls).toEqual([{ method: 'pause', args: [1] }]);
  });

  test('+ and - change the selected job’s connections by one', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.press('+');
    await waitForCalls(engine, 1);
    await ui.press('-');
    await waitForCalls(engine, 2);
    expect(engine.calls).toEqual([
      { method: 'setConnections', args: [1, 5] },
      { method: 'setConnections', args: [1, 3] },
    ]);
    // Job 2 is at one connection already: no call, an explanation instead.
    await ui.press('j', '-');
    await ui.waitForFrame((frame) => frame.includes('#2 already uses a single connection'));
    expect(engine.calls).toHaveLength(2);
  });

  test('l sets the selected job’s limit, L the global one; off removes it', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('l');
    await ui.waitForFrame((frame) => frame.includes('Limit for job #1 (e.g. 2M, off):'));
    await ui.press('2M', KEYS.enter);
    await waitForCalls(engine, 1);
    await ui.press('L');
    await ui.waitForFrame((frame) => frame.includes('Global limit (e.g. 2M, off):'));
    await ui.press('off', KEYS.enter);
    await waitForCalls(engine, 2);
    expect(engine.calls).toEqual([
      { method: 'setLimit', args: [1, 2 * 1024 * 1024] },
      { method: 'setLimit', args: [null, null] },
    ]);
  });

  test('an invalid limit keeps the input open and says why', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('l', 'fast', KEYS.enter);
    await ui.waitForFrame((frame) => frame.includes('Invalid rate'));
    expect(ui.lastFrame()).toContain('Limit for job #1');
    expect(engine.calls).toHaveLength(0);
  });

  test('? toggles the help overlay', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.press('?');
    await ui.waitForFrame((frame) => frame.includes('Keys') && frame.includes('global speed limit'));
    await ui.press('?');
    await ui.waitForFrame((frame) => !frame.includes('global speed limit'));
  });

  test('q and Ctrl+C quit without an engine call', async () => {
    let quits = 0;
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine, { columns: 80, rows: 24 }, () => quits++);
    await ui.press('q');
    await waitFor(
      () => quits === 1,
      () => 'q to quit',
    );
    await ui.press(KEYS.ctrlC);
    await waitFor(
      () => quits === 2,
      () => 'Ctrl+C to quit',
    );
    // Ctrl+C is not `c`: no cancel prompt.
    expect(ui.lastFrame()).not.toContain('Cancel job');
    expect(engine.calls).toEqual([]);
  });

  test('a failing controller call shows its error and the UI keeps running', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    engine.failures.set(
      'pause',
      Object.assign(new Error('Job 1 cannot move from completed to paused'), { code: 'ERR_ILLEGAL_TRANSITION' }),
    );
    const ui = start(engine);
    await ui.press('p');
    await ui.waitForFrame((frame) => frame.includes('pause #1 failed: ERR_ILLEGAL_TRANSITION: Job 1 cannot move'));
    await ui.press('+');
    await waitForCalls(engine, 2);
  });

  test('keys that need a job explain when there is none', async () => {
    const engine = new FakeEngine(makeSnapshot([]));
    const ui = start(engine);
    await ui.press('p');
    await ui.waitForFrame((frame) => frame.includes('no job selected'));
    expect(engine.calls).toEqual([]);
  });
});

describe('App rendering', () => {
  test('shows header, job list, detail, segments, why line, events and key hints at 80x24', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused], { limitBytesPerSec: 1024 * 1024 }));
    const ui = start(engine);
    engine.emit({ type: 'segment-split', jobId: 1, from: 1, to: 2, atByte: 750, at: Date.now() });
    const frame = await ui.waitForFrame((text) => text.includes('split segment 1 at'));
    const lines = frame.split('\n');
    expect(lines[0]).toBe('ddm 1 active · ↓ 2.0 KiB/s · 2 conn · limit 1.0 MiB/s');
    expect(frame).toContain('#1 ubuntu.iso downloading');
    expect(frame).toMatch(/█+▸/);
    expect(frame).toContain('rate 60s');
    expect(frame).toMatch(/seg\s+range\s+done\s+conn\s+rate\s+retry\s+split/);
    expect(frame).toMatch(/2\s+750 B-1000 B\s+0%\s+retrying\s+2\s+<-1/);
    expect(frame).toContain('why: split segment 1 to use a free connection');
    expect(frame).toContain('q quit');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(lines.every((line) => line.length <= 80)).toBe(true);
  });

  test('the frame follows the snapshot, and an unchanged snapshot causes no redraw', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    const ui = start(engine);
    await ui.waitForFrame((frame) => frame.includes('60%'));
    engine.setSnapshot(makeSnapshot([{ ...downloading, doneBytes: 900, state: 'paused' }]));
    await ui.waitForFrame((frame) => frame.includes('90%') && frame.includes('paused'));
    const framesBefore = ui.frames.length;
    const callsBefore = engine.snapshotCalls;
    // Same content, new `at`: polled, but nothing to draw.
    engine.setSnapshot(makeSnapshot([{ ...downloading, doneBytes: 900, state: 'paused' }], { at: 1_700_000_000_500 }));
    await waitFor(
      () => engine.snapshotCalls >= callsBefore + 5,
      () => 'five more polls',
      5000,
    );
    expect(ui.frames.length).toBe(framesBefore);
  });

  test('polls at most 15 times a second', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading]));
    start(engine);
    const startedAt = performance.now();
    const callsAtStart = engine.snapshotCalls;
    await waitFor(
      () => engine.snapshotCalls >= callsAtStart + 8,
      () => 'eight polls',
      5000,
    );
    const elapsedMs = performance.now() - startedAt;
    // Eight polls at <= 15/s take at least 7 intervals of 66.7 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(7 * (1000 / 15) - 20);
  });

  test('fits 80x24 and degrades below it without overflowing', async () => {
    const jobs = Array.from({ length: 12 }, (_, index) => ({
      ...downloading,
      id: index + 1,
      fileName: `a-rather-long-file-name-number-${index + 1}.tar.gz`,
    }));
    const engine = new FakeEngine(makeSnapshot(jobs));
    const ui = start(engine);
    for (const [columns, rows] of [
      [80, 24],
      [60, 16],
      [40, 10],
      [30, 6],
      [120, 40],
    ] as const) {
      ui.resize(columns, rows);
      // The root box is exactly the terminal's height, so the line count tells the new frame.
      const frame = await ui.waitForFrame((text) => text.split('\n').length === rows);
      const lines = frame.split('\n');
      expect(lines.every((line) => line.length <= columns)).toBe(true);
      expect(lines[0]).toStartWith('ddm');
      expect(frame).toContain('> #1');
    }
  });

  test('below 80x24 the event log goes first, then the segment table', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.waitForFrame((text) => text.includes('no events yet') && text.includes('seg  range'));
    ui.resize(80, 16);
    const medium = await ui.waitForFrame((text) => text.split('\n').length === 16);
    expect(medium).not.toContain('no events yet');
    expect(medium).toContain('seg  range');
    ui.resize(80, 11);
    const small = await ui.waitForFrame((text) => text.split('\n').length === 11);
    expect(small).not.toContain('seg  range');
    expect(small).toContain('why:');
    expect(small).toContain('q quit');
  });

  test('the why line never shows "-": the state’s reason, or nothing for a finished job', async () => {
    const quiet = makeJob({ id: 3, fileName: 'quiet.bin', state: 'paused', why: null });
    const engine = new FakeEngine(makeSnapshot([quiet]));
    const ui = start(engine);
    const frame = await ui.waitForFrame((text) => text.includes('#3 quiet.bin'));
    expect(frame).toContain('why: paused: p resumes');
    engine.setSnapshot(makeSnapshot([{ ...quiet, state: 'completed' }]));
    const done = await ui.waitForFrame((text) => text.includes('quiet.bin completed'));
    expect(done).not.toContain('why:');
  });

  test('attached to another engine, the header says so once', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading], { isAttached: true }));
    view = renderSized(<App controller={engine} onQuit={() => {}} isColor={false} isAttached attachedPid={4242} />, {
      columns: 100,
      rows: 24,
    });
    const frame = await view.waitForFrame((text) => text.includes('ubuntu.iso'));
    const header = frame.split('\n')[0] ?? '';
    expect(header).toStartWith('ddm [attached to engine pid 4242] 1 active');
    expect(frame.match(/attached/g)).toHaveLength(1);
  });

  test('NO_COLOR-style output (isColor false) has no escape codes', async () => {
    const engine = new FakeEngine(makeSnapshot([downloading, paused]));
    const ui = start(engine);
    await ui.waitForFrame((frame) => frame.includes('ubuntu.iso'));
    expect(ui.lastRawFrame()).not.toMatch(/\u001B/);
  });
});
