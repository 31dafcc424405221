/**
 * Collects the JS heap after every fixed amount of downloaded bytes.
 *
 * Bun's `fetch` hands every read of a response body to JS as a fresh array (64-256 KiB here),
 * freed only when the garbage collector runs. A young-generation collection promotes the chunks
 * that are in flight at that moment; promoted chunks are freed only by a full collection, which
 * the heap's own heuristics start late (ddm's heap is larger than a bare fetch loop's). Between
 * full collections tens of MiB of dead chunks stay resident: measured at 16 connections on 1 GiB,
 * peak RSS 138-149 MiB without pacing and 118-124 MiB with a full collection every 64 MiB, for
 * about 8 ms per collection (~0.1 CPU s per GiB); every 32 MiB gave 105-114 MiB for twice the
 * collections (docs/BENCHMARKS.md). The cost follows the bytes, so a slow download pays nearly
 * nothing.
 */

/** Bytes of body between two full collections. */
export const GC_INTERVAL_BYTES = 64 * 1024 * 1024;

export class GcPacer {
  private sinceBytes = 0;

  /**
   * @param intervalBytes bytes of body between two collections.
   * @param collect runs one collection; by default a synchronous full collection (`Bun.gc(true)`).
   */
  constructor(
    private readonly intervalBytes = GC_INTERVAL_BYTES,
    private readonly collect: () => void = () => Bun.gc(true),
  ) {}

  /** Counts `bytes` written; collects once `intervalBytes` have passed since the last collection. */
  note(bytes: number): void {
    this.sinceBytes += bytes;
    if (this.sinceBytes < this.intervalBytes) return;
    this.sinceBytes = 0;
    this.collect();
  }
}
