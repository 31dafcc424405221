/**
 * The contract between the engine and its front ends (CLI, TUI, an attached TUI in another
 * process). Events are low-rate facts; byte counters live in the snapshot.
 */
import type { JobStateName } from '@ddm/db';
import type { ErrorCode } from './errors.ts';

/** The job states; the DB's CHECK constraint and `job.ts`'s transition table use the same union. */
export type JobState = JobStateName;

/** A segment's live status, for the heatmap and the segment table. */
export type SegmentStatus = 'pending' | 'active' | 'stalled' | 'retrying' | 'done';

export interface SegmentSnapshot {
  readonly index: number;
  /** First byte of the range (inclusive). */
  readonly start: number;
  /** One past the last byte of the range (exclusive); `null` while the size is unknown. */
  readonly end: number | null;
  /** Bytes from `start` on that are written (and, at the last checkpoint, synced). */
  readonly writtenBytes: number;
  readonly status: SegmentStatus;
  readonly rateBytesPerSec: number;
  readonly retries: number;
  /** Index of the segment this one was split from, when it came from a split. */
  readonly splitFrom: number | null;
}

export interface JobSnapshot {
  readonly id: number;
  readonly url: string;
  readonly fileName: string;
  readonly dir: string;
  /** Absolute path of the final file. */
  readonly path: string;
  readonly state: JobState;
  readonly sizeBytes: number | null;
  readonly doneBytes: number;
  readonly rateBytesPerSec: number;
  readonly etaSec: number | null;
  /** Connections open right now. */
  readonly connections: number;
  /** Connections this job may use. */
  readonly maxConnections: number;
  readonly limitBytesPerSec: number | null;
  readonly priority: number;
  readonly errorCode: ErrorCode | null;
  readonly errorMessage: string | null;
  /** Why the job is the way it is: "single connection: server sent no Accept-Ranges", ... */
  readonly why: string | null;
  /**
   * The job's segments. Empty in a summary snapshot (`snapshotFromDb(repos, {withSegments:
   * false})`, what `ddm status` reads); `segmentCount` is always right.
   */
  readonly segments: readonly SegmentSnapshot[];
  /** How many segments the job has (also in a summary snapshot). */
  readonly segmentCount: number;
  /** The URLs of the file (aria2's URIs), each with its state; empty for a job with a single URL. */
  readonly mirrors: readonly MirrorSnapshot[];
  readonly createdAt: number;
  readonly completedAt: number | null;
}

/** `checking`: probed before use; `usable`: serves the same file; `dropped`: no more requests (see `why`). */
export type MirrorState = 'checking' | 'usable' | 'dropped';

/** One URL of a job's file as a snapshot shows it. */
export interface MirrorSnapshot {
  /** Redacted. */
  readonly url: string;
  readonly state: MirrorState;
  /** Sum of the rates of its running connections. */
  readonly rateBytesPerSec: number;
  /** Bytes written from it in the current run. */
  readonly bytes: number;
  /** Why it was dropped (names it and the reason), or null. */
  readonly why: string | null;
}

export interface EngineSnapshot {
  /** ms since epoch when the snapshot was taken. */
  readonly at: number;
  readonly jobs: readonly JobSnapshot[];
  readonly activeJobs: number;
  readonly rateBytesPerSec: number;
  readonly connections: number;
  readonly limitBytesPerSec: number | null;
  /** True when this snapshot describes an engine running in another process. */
  readonly isAttached: boolean;
}

/** Low-rate, JSON-serialisable facts. Never one per chunk. */
export type EngineEvent =
  | { type: 'job-added'; jobId: number; url: string; at: number }
  | { type: 'job-state'; jobId: number; from: JobState; to: JobState; reason: string | null; at: number }
  | { type: 'segments-planned'; jobId: number; count: number; sizeBytes: number | null; at: number }
  | { type: 'segment-split'; jobId: number; from: number; to: number; atByte: number; at: number }
  | {
      type: 'segment-retry';
      jobId: number;
      index: number;
      attempt: number;
      delayMs: number;
      code: ErrorCode;
      message: string;
      at: number;
    }
  | { type: 'job-restarted'; jobId: number; code: ErrorCode; reason: string; at: number }
  | { type: 'job-why'; jobId: number; why: string; at: number }
  | { type: 'job-removed'; jobId: number; at: number }
  | { type: 'limit-changed'; jobId: number | null; bytesPerSec: number | null; at: number }
  | { type: 'connections-changed'; jobId: number; connections: number; at: number };

export type EngineEventType = EngineEvent['type'];

export interface AddOptions {
  dir?: string;
  fileName?: string;
  connections?: number;
  headers?: Record<string, string>;
  checksum?: string;
  limitBytesPerSec?: number | null;
  priority?: number;
  overwrite?: boolean;
}

/**
 * What a front end may do to an engine. The in-process engine and the attached controller (an
 * engine in another process, steered through the shared DB) both implement it.
 */
export interface EngineController {
  snapshot(): EngineSnapshot;
  /** Returns an unsubscribe function. */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  add(url: string, options?: AddOptions): Promise<number>;
  pause(jobId: number): Promise<void>;
  resume(jobId: number): Promise<void>;
  cancel(jobId: number): Promise<void>;
  remove(jobId: number, options?: { deleteFiles?: boolean }): Promise<void>;
  setConnections(jobId: number, connections: number): Promise<void>;
  /** `jobId` null sets the global limit; `bytesPerSec` null removes the limit. */
  setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void>;
}
