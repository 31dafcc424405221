import { describe, expect, test } from 'bun:test';
import { planLayout, plannedRows } from './layout.ts';

const plan = (columns: number, rows: number, jobCount = 3, segmentCount = 4) =>
  planLayout({ columns, rows, jobCount, segmentCount, hasSelection: jobCount > 0, isSizeKnown: true });

describe('planLayout', () => {
  test('80x24 shows every panel', () => {
    const layout = plan(80, 24);
    expect(layout).toMatchObject({ showKeyHints: true, showDetail: true, showSparkline: true, isNarrow: false });
    expect(layout.jobRows).toBe(3);
    expect(layout.heatmapRows).toBeGreaterThanOrEqual(2);
    expect(layout.segmentRows).toBe(4);
    expect(layout.eventRows).toBeGreaterThanOrEqual(2);
    expect(plannedRows(layout)).toBe(24);
  });

  test('never plans more rows than the terminal has (from 4 rows up)', () => {
    for (let rows = 4; rows <= 60; rows++) {
      for (const jobCount of [0, 1, 5, 30]) {
        for (const segmentCount of [0, 1, 16]) {
          const layout = plan(80, rows, jobCount, segmentCount);
          expect(plannedRows(layout)).toBeLessThanOrEqual(rows);
          expect(layout.jobRows).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });

  test('drops the event log, then the segment table, sparkline, detail and key hints', () => {
    const dropped = (rows: number) => {
      const layout = plan(80, rows);
      return [
        layout.eventRows === 0,
        layout.segmentRows === 0,
        !layout.showSparkline,
        !layout.showDetail,
        !layout.showKeyHints,
      ];
    };
    const seen = [20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5].map(dropped);
    // Each panel, once dropped, stays dropped for smaller terminals, and they go in order.
    for (let index = 1; index < seen.length; index++) {
      const previous = seen[index - 1] ?? [];
      seen[index]?.forEach((isDropped, panel) => {
        if (previous[panel]) expect(isDropped).toBe(true);
        if (isDropped && panel > 0) expect(seen[index]?.[panel - 1]).toBe(true);
      });
    }
    expect(seen.at(-1)).toEqual([true, true, true, true, true]);
    expect(seen[0]).toEqual([false, false, false, false, false]);
  });

  test('a file of unknown size gets one heatmap row; the rows go to the other panels', () => {
    const known = plan(80, 24, 1, 1);
    const unknown = planLayout({
      columns: 80,
      rows: 24,
      jobCount: 1,
      segmentCount: 1,
      hasSelection: true,
      isSizeKnown: false,
    });
    expect(unknown.heatmapRows).toBe(1);
    expect(unknown.eventRows).toBeGreaterThan(known.eventRows);
    expect(plannedRows(unknown)).toBe(24);
  });

  test('marks terminals narrower than 80 columns', () => {
    expect(plan(79, 24).isNarrow).toBe(true);
  });
});
