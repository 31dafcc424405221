import type { Database } from 'bun:sqlite';
import { write } from './write.ts';

export interface SegmentRow {
  jobId: number;
  index: number;
  start: number;
  /** Exclusive; null while the size is unknown. */
  end: number | null;
  writtenBytes: number;
  splitFrom: number | null;
}

interface RawSegment {
  job_id: number;
  idx: number;
  start: number;
  end: number | null;
  written_bytes: number;
  split_from: number | null;
}

function toSegment(r: RawSegment): SegmentRow {
  return {
    jobId: r.job_id,
    index: r.idx,
    start: r.start,
    end: r.end,
    writtenBytes: r.written_bytes,
    splitFrom: r.split_from,
  };
}

/** The `segments` table. */
export class SegmentsRepo {
  constructor(private readonly db: Database) {}

  list(jobId: number): SegmentRow[] {
    return (this.db.query('SELECT * FROM segments WHERE job_id = ? ORDER BY start').all(jobId) as RawSegment[]).map(
      toSegment,
    );
  }

  /** Every job's segments in one query, by job id, each list ordered by start. */
  listAll(): Map<number, SegmentRow[]> {
    const byJob = new Map<number, SegmentRow[]>();
    for (const r of this.db.query('SELECT * FROM segments ORDER BY job_id, start').all() as RawSegment[]) {
      let list = byJob.get(r.job_id);
      if (!list) {
        list = [];
        byJob.set(r.job_id, list);
      }
      list.push(toSegment(r));
    }
    return byJob;
  }

  /** Replaces every segment of a job (a new plan or a restart). */
  replace(jobId: number, segments: readonly Omit<SegmentRow, 'jobId'>[]): void {
    write(this.db, () => {
      this.db.query('DELETE FROM segments WHERE job_id = ?').run(jobId);
      const insert = this.db.query(
        'INSERT INTO segments (job_id, idx, start, "end", written_bytes, split_from) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const s of segments) insert.run(jobId, s.index, s.start, s.end, s.writtenBytes, s.splitFrom);
    });
  }

  /** Writes every given segment's range and progress (a checkpoint); upserts new segments. */
  save(jobId: number, segments: readonly Omit<SegmentRow, 'jobId'>[]): void {
    const upsert = this.db.query(
      `INSERT INTO segments (job_id, idx, start, "end", written_bytes, split_from) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, idx) DO UPDATE SET start = excluded.start, "end" = excluded."end",
         written_bytes = excluded.written_bytes, split_from = excluded.split_from`,
    );
    write(this.db, () => {
      for (const s of segments) upsert.run(jobId, s.index, s.start, s.end, s.writtenBytes, s.splitFrom);
    });
  }

  deleteAll(jobId: number): void {
    write(this.db, () => this.db.query('DELETE FROM segments WHERE job_id = ?').run(jobId));
  }
}
