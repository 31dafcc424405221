/**
 * A recording `EngineController` for TUI tests: a double of the UI contract in types.ts (not of
 * fetch or the engine's internals). It returns the snapshot a test sets and records every call.
 */
import type {
  AddOptions,
  EngineController,
  EngineEvent,
  EngineSnapshot,
  JobSnapshot,
  SegmentSnapshot,
} from '@ddm/core';
import { jobSnapshot } from '@ddm/core/testing';

export type ControllerMethod = Exclude<keyof EngineController, 'snapshot' | 'subscribe'>;

export interface RecordedCall {
  readonly method: ControllerMethod;
  readonly args: readonly unknown[];
}

export function makeSegment(overrides: Partial<SegmentSnapshot> & Pick<SegmentSnapshot, 'index'>): SegmentSnapshot {
  return {
    start: 0,
    end: null,
    writtenBytes: 0,
    status: 'pending',
    rateBytesPerSec: 0,
    retries: 0,
    splitFrom: null,
    ...overrides,
  };
}

export function makeJob(overrides: Partial<JobSnapshot> & Pick<JobSnapshot, 'id'>): JobSnapshot {
  return jobSnapshot({
    fileName: overrides.fileName ?? `file-${overrides.id}.bin`,
    connections: 1,
    maxConnections: 4,
    ...overrides,
  });
}

export function makeSnapshot(jobs: readonly JobSnapshot[], overrides: Partial<EngineSnapshot> = {}): EngineSnapshot {
  return {
    at: 1_700_000_000_000,
    jobs,
    activeJobs: jobs.filter((job) => job.state === 'downloading').length,
    rateBytesPerSec: jobs.reduce((sum, job) => sum + job.rateBytesPerSec, 0),
    connections: jobs.reduce((sum, job) => sum + job.connections, 0),
    limitBytesPerSec: null,
    isAttached: false,
    ...overrides,
  };
}

export class FakeEngine implements EngineController {
  readonly calls: RecordedCall[] = [];
  /** Calls to `snapshot()`, to check the poll rate. */
  snapshotCalls = 0;
  /** Method -> error it throws (rejects with) on its next calls. */
  readonly failures = new Map<ControllerMethod, Error>();
  private current: EngineSnapshot;
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private nextJobId = 100;

  constructor(snapshot: EngineSnapshot = makeSnapshot([])) {
    this.current = snapshot;
  }

  setSnapshot(snapshot: EngineSnapshot): void {
    this.current = snapshot;
  }

  emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  snapshot(): EngineSnapshot {
    this.snapshotCalls++;
    return this.current;
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async record(method: ControllerMethod, args: readonly unknown[]): Promise<void> {
    this.calls.push({ method, args });
    const failure = this.failures.get(method);
    if (failure !== undefined) throw failure;
  }

  async add(url: string, options?: AddOptions): Promise<number> {
    await this.record('add', options === undefined ? [url] : [url, options]);
    return this.nextJobId++;
  }
  pause(jobId: number): Promise<void> {
    return this.record('pause', [jobId]);
  }
  resume(jobId: number): Promise<void> {
    return this.record('resume', [jobId]);
  }
  cancel(jobId: number): Promise<void> {
    return this.record('cancel', [jobId]);
  }
  remove(jobId: number, options?: { deleteFiles?: boolean }): Promise<void> {
    return this.record('remove', options === undefined ? [jobId] : [jobId, options]);
  }
  setConnections(jobId: number, connections: number): Promise<void> {
    return this.record('setConnections', [jobId, connections]);
  }
  setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void> {
    return this.record('setLimit', [jobId, bytesPerSec]);
  }
}
