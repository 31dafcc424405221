import { afterEach, describe, expect, test } from 'bun:test';
import { cleanup, render } from 'ink-testing-library';
import { makeJob } from '../testing/fake-engine.ts';
import { waitFor } from '../testing/render-sized.ts';
import { JobList, scrollOffset, visibleColumns } from './job-list.tsx';

afterEach(cleanup);

const jobs = [
  makeJob({
    id: 1,
    fileName: 'ubuntu.iso',
    state: 'downloading',
    sizeBytes: 4 * 1024 ** 3,
    doneBytes: 1024 ** 3,
    rateBytesPerSec: 12.5 * 1024 ** 2,
    etaSec: 245,
    connections: 6,
    maxConnections: 8,
  }),
  makeJob({ id: 2, fileName: 'notes.pdf', state: 'paused', sizeBytes: 2048, doneBytes: 1024, connections: 0 }),
  makeJob({ id: 3, fileName: 'stream.bin', state: 'failed', sizeBytes: null, doneBytes: 10 }),
];

async function linesOf(element: Parameters<typeof render>[0]): Promise<string[]> {
  const { lastFrame } = render(element);
  await waitFor(
    () => lastFrame() !== undefined,
    () => 'the first frame',
  );
  return Bun.stripANSI(lastFrame() ?? '').split('\n');
}

describe('JobList', () => {
  test('shows name, size, %, rate, ETA, state and connections; marks the selection', async () => {
    const lines = await linesOf(<JobList jobs={jobs} selectedJobId={2} rows={3} width={80} isColor={false} />);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/#\s+name\s+size\s+%\s+rate\s+eta\s+state\s+conn$/);
    expect(lines[1]).toMatch(/^ {2}#1 {3}ubuntu\.iso\s+4\.0 GiB\s+25%\s+12\.5 MiB\/s\s+4m05s\s+downloading\s+6\/8$/);
    expect(lines[2]).toMatch(/^> #2 {3}notes\.pdf\s+2\.0 KiB\s+50%\s+paused\s+0\/4$/);
    expect(lines[3]).toMatch(/^ {2}#3 {3}stream\.bin\s+\?\s+--\s+failed\s+1\/4$/);
    expect(lines.every((line) => line.length <= 80)).toBe(true);
  });

  test('narrow terminals drop size, ETA and connections before the name gets short', async () => {
    expect(visibleColumns(80).map((column) => column.key)).toEqual([
      'size',
      'percent',
      'rate',
      'eta',
      'state',
      'connections',
    ]);
    expect(visibleColumns(56).map((column) => column.key)).toEqual(['percent', 'rate', 'state']);
    expect(visibleColumns(20).map((column) => column.key)).toEqual([]);
    const lines = await linesOf(<JobList jobs={jobs} selectedJobId={1} rows={3} width={56} isColor={false} />);
    expect(lines[1]).toMatch(/^> #1 {3}ubuntu\.iso\s+25%\s+12\.5 MiB\/s\s+downloading$/);
    expect(lines.every((line) => line.length <= 56)).toBe(true);
  });

  test('scrolls to keep the selected job in view', async () => {
    const many = Array.from({ length: 20 }, (_, index) =>
      makeJob({ id: index + 1, fileName: `part-${index + 1}.bin` }),
    );
    expect(scrollOffset(20, 15, 5)).toBe(13);
    expect(scrollOffset(20, 19, 5)).toBe(15);
    expect(scrollOffset(3, 2, 5)).toBe(0);
    const lines = await linesOf(<JobList jobs={many} selectedJobId={16} rows={5} width={80} isColor={false} />);
    expect(lines.slice(1).map((line) => line.slice(2, 6).trim())).toEqual(['#14', '#15', '#16', '#17', '#18']);
    expect(lines.find((line) => line.startsWith('>'))).toContain('part-16.bin');
  });

  test('an empty list says how to add a download', async () => {
    const lines = await linesOf(<JobList jobs={[]} selectedJobId={null} rows={1} width={80} isColor={false} />);
    expect(lines[1]).toContain('no downloads: press a to add a URL');
  });
});
