/**
 * The checkpoint of a running job: capture each segment's written bytes (complete writes only),
 * `fdatasync` the file, then commit them in one fenced transaction. The DB never claims bytes
 * that are not on disk; a crash loses at most what was written since the last capture.
 */
import type { SegmentRow } from '@ddm/db';
import { checkpointThresholdBytes, type PartFile } from './file-writer.ts';

export interface CheckpointOptions {
  /** The open `.part`; null outside an attempt (nothing to checkpoint). */
  file: () => PartFile | null;
  /** The segments' rows as they stand now (the capture). */
  capture: () => Omit<SegmentRow, 'jobId'>[];
  /** Commits the captured rows (and the live row) in one fenced transaction. */
  commit: (rows: Omit<SegmentRow, 'jobId'>[]) => void;
  /** The file's size, for the byte trigger (1% of the file, 8-64 MiB). */
  sizeBytes: () => number | null;
  /** A checkpoint started by written bytes has nobody to throw to: its failure goes here. */
  onBackgroundError: (error: unknown) => void;
}

export class Checkpointer {
  private running: Promise<void> | null = null;
  private bytesSince = 0;

  constructor(private readonly o: CheckpointOptions) {}

  /**
   * Counts written bytes and starts a checkpoint early once enough piled up: on a fast link a
   * second's worth of data is a lot to fetch again after a crash, and syncing in smaller steps
   * costs the disk nothing extra.
   */
  noteWritten(bytes: number): void {
    this.bytesSince += bytes;
    if (this.bytesSince >= checkpointThresholdBytes(this.o.sizeBytes()) && !this.running) {
      void this.run().catch(this.o.onBackgroundError);
    }
  }

  /**
   * Checkpoints every `intervalMs` until the returned function is called. A periodic checkpoint
   * is skipped while one is still syncing (a stop forces a fresh one); a failure goes to
   * `onBackgroundError`, as a timer has nobody to throw to.
   */
  every(intervalMs: number): () => void {
    const timer = setInterval(() => {
      if (!this.running) void this.run().catch(this.o.onBackgroundError);
    }, intervalMs);
    return () => clearInterval(timer);
  }

  /** fdatasync, then one transaction with every segment's written bytes. */
  run(): Promise<void> {
    // A checkpoint already running may have captured older counts: run a fresh one after it.
    if (this.running) return this.running.then(() => this.run());
    const file = this.o.file();
    if (!file) return Promise.resolve();
    this.running = (async () => {
      this.bytesSince = 0;
      const captured = this.o.capture();
      await file.sync();
      this.o.commit(captured);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
