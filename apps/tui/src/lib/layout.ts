/**
 * How many terminal rows each panel gets. Pure, so the degrade order is testable: as rows run
 * out the event log goes first, then the segment table, the sparkline, the job detail (title,
 * heatmap, why line) and last the key hints; the header, one job row and the status line stay.
 */

export interface LayoutInput {
  readonly columns: number;
  readonly rows: number;
  readonly jobCount: number;
  /** Segments of the selected job; 0 when nothing is selected. */
  readonly segmentCount: number;
  readonly hasSelection: boolean;
  /** False when the selected job's size is unknown: its heatmap is a single bar. */
  readonly isSizeKnown: boolean;
}

export interface LayoutPlan {
  /** Job rows below the job-list heading (at least 1: "no downloads" or the selected job). */
  readonly jobRows: number;
  readonly showKeyHints: boolean;
  /** Title line, heatmap and why line of the selected job. */
  readonly showDetail: boolean;
  readonly heatmapRows: number;
  readonly showSparkline: boolean;
  /** Segment rows below the segment-table heading; 0 hides the table. */
  readonly segmentRows: number;
  /** 0 hides the event log. */
  readonly eventRows: number;
  /** Narrow terminal: drop secondary columns. */
  readonly isNarrow: boolean;
}

/** Header, job-list heading, status/prompt line. */
const FIXED_ROWS = 3;
const DETAIL_CORE_ROWS = 2;
const MAX_JOB_ROWS = 8;
const MAX_HEATMAP_ROWS = 6;
const MAX_SEGMENT_ROWS = 8;

/** Plans the rows of every panel so that their sum never exceeds `rows` (when `rows >= 4`). */
export function planLayout(input: LayoutInput): LayoutPlan {
  let budget = Math.max(0, Math.floor(input.rows)) - FIXED_ROWS;
  const take = (wanted: number): number => {
    const granted = Math.max(0, Math.min(wanted, budget));
    budget -= granted;
    return granted;
  };
  const takeAllOrNothing = (wanted: number): boolean => {
    if (budget < wanted) return false;
    budget -= wanted;
    return true;
  };

  const jobsWanted = Math.max(1, input.jobCount);
  const maxHeatmapRows = input.isSizeKnown ? MAX_HEATMAP_ROWS : 1;
  let jobRows = Math.max(1, take(Math.min(jobsWanted, 3)));
  const showKeyHints = takeAllOrNothing(1);
  const showDetail = input.hasSelection && takeAllOrNothing(DETAIL_CORE_ROWS + 1);
  let heatmapRows = showDetail ? 1 : 0;
  const showSparkline = showDetail && takeAllOrNothing(1);
  // A segment table needs its heading and two rows (or its only row) to be worth its space.
  const segmentsWanted = showDetail ? Math.min(input.segmentCount, MAX_SEGMENT_ROWS) : 0;
  const firstSegmentRows = Math.min(3, segmentsWanted, budget - 1);
  let segmentRows = 0;
  if (segmentsWanted > 0 && firstSegmentRows >= Math.min(2, segmentsWanted))
    segmentRows = take(1 + firstSegmentRows) - 1;
  if (showDetail) heatmapRows += take(Math.min(2, maxHeatmapRows) - heatmapRows);
  // With a job selected but no room for its detail, the event log (less important) gets none either.
  let eventRows = (showDetail || !input.hasSelection) && takeAllOrNothing(2) ? 2 : 0;

  // Leftover rows, most useful first.
  if (showDetail) heatmapRows += take(Math.min(3, maxHeatmapRows) - heatmapRows);
  if (eventRows > 0) eventRows += take(4 - eventRows);
  jobRows += take(Math.min(jobsWanted, MAX_JOB_ROWS) - jobRows);
  if (segmentRows > 0) segmentRows += take(Math.min(6, segmentsWanted) - segmentRows);
  if (showDetail) heatmapRows += take(maxHeatmapRows - heatmapRows);
  if (segmentRows > 0) segmentRows += take(segmentsWanted - segmentRows);
  jobRows += take(jobsWanted - jobRows);
  // Whatever is left is history.
  if (eventRows > 0) eventRows += take(budget);

  return {
    jobRows,
    showKeyHints,
    showDetail,
    heatmapRows,
    showSparkline,
    segmentRows,
    eventRows,
    isNarrow: input.columns < 80,
  };
}

/** Total rows a plan uses, for tests and for sizing the root box. */
export function plannedRows(plan: LayoutPlan): number {
  return (
    FIXED_ROWS +
    plan.jobRows +
    (plan.showKeyHints ? 1 : 0) +
    (plan.showDetail ? DETAIL_CORE_ROWS + plan.heatmapRows : 0) +
    (plan.showSparkline ? 1 : 0) +
    (plan.segmentRows > 0 ? 1 + plan.segmentRows : 0) +
    plan.eventRows
  );
}
