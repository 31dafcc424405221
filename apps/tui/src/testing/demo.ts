/**
 * A simulated engine for looking at the TUI in a real terminal (and for the tmux test):
 * `bun apps/tui/src/testing/demo.ts`. No network; jobs advance on a timer. Exits 0 on quit.
 */
import type { EngineController, EngineEvent, EngineSnapshot, JobSnapshot, SegmentSnapshot } from '@ddm/core';
import { runTui } from '../index.ts';
import { makeJob, makeSegment } from './fake-engine.ts';

const MIB = 1024 * 1024;

class DemoEngine implements EngineController {
  private jobs: JobSnapshot[];
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly timer: ReturnType<typeof setInterval>;
  private nextId = 4;
  private ticks = 0;

  constructor() {
    const size = 64 * MIB;
    const quarter = size / 4;
    this.jobs = [
      makeJob({
        id: 1,
        fileName: 'ubuntu-24.04-desktop-amd64.iso',
        sizeBytes: size,
        maxConnections: 4,
        why: 'split into 4 segments: server accepts ranges',
        segments: [0, 1, 2, 3].map((index) =>
          makeSegment({ index, start: index * quarter, end: (index + 1) * quarter, status: 'active' }),
        ),
      }),
      makeJob({
        id: 2,
        fileName: 'stream.log',
        sizeBytes: null,
        maxConnections: 1,
        why: 'single connection: server sent no Content-Length',
        segments: [makeSegment({ index: 0, start: 0, end: null, status: 'active' })],
      }),
      makeJob({ id: 3, fileName: 'notes.pdf', state: 'paused', sizeBytes: 3 * MIB, doneBytes: MIB, connections: 0 }),
    ];
    this.timer = setInterval(() => this.tick(), 100);
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private tick(): void {
    this.ticks++;
    const now = Date.now();
    this.jobs = this.jobs.map((job) => {
      if (job.state !== 'downloading') return { ...job, rateBytesPerSec: 0, connections: 0 };
      const segments = job.segments.map((segment): SegmentSnapshot => {
        if (segment.status !== 'active') return segment;
        const rate = (0.5 + ((segment.index * 7 + this.ticks) % 10) / 10) * MIB;
        const length = segment.end === null ? Number.POSITIVE_INFINITY : segment.end - segment.start;
        const writtenBytes = Math.min(length, segment.writtenBytes + rate / 10);
        return { ...segment, writtenBytes, rateBytesPerSec: rate, status: writtenBytes >= length ? 'done' : 'active' };
      });
      const doneBytes = segments.reduce((sum, segment) => sum + segment.writtenBytes, 0);
      const rate = segments.reduce(
        (sum, segment) => sum + (segment.status === 'active' ? segment.rateBytesPerSec : 0),
        0,
      );
      const isDone = segments.every((segment) => segment.status === 'done');
      if (isDone)
        this.emit({ type: 'job-state', jobId: job.id, from: 'downloading', to: 'completed', reason: null, at: now });
      return {
        ...job,
        segments,
        doneBytes,
        rateBytesPerSec: rate,
        connections: segments.filter((segment) => segment.status === 'active').length,
        etaSec: job.sizeBytes === null || rate === 0 ? null : (job.sizeBytes - doneBytes) / rate,
        state: isDone ? 'completed' : job.state,
      };
    });
    if (this.ticks === 30)
      this.emit({
        type: 'segment-retry',
        jobId: 1,
        index: 2,
        attempt: 1,
        delayMs: 3000,
        code: 'ERR_HTTP_STATUS',
        message: 'Server answered 503',
        at: now,
      });
  }

  snapshot(): EngineSnapshot {
    return {
      at: Date.now(),
      jobs: this.jobs,
      activeJobs: this.jobs.filter((job) => job.state === 'downloading').length,
      rateBytesPerSec: this.jobs.reduce((sum, job) => sum + job.rateBytesPerSec, 0),
      connections: this.jobs.reduce((sum, job) => sum + job.connections, 0),
      limitBytesPerSec: null,
      isAttached: false,
    };
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(jobId: number, change: (job: JobSnapshot) => JobSnapshot): void {
    this.jobs = this.jobs.map((job) => (job.id === jobId ? change(job) : job));
  }

  async add(url: string): Promise<number> {
    const id = this.nextId++;
    const fileName = new URL(url).pathname.split('/').pop() || 'index.html';
    this.jobs = [...this.jobs, makeJob({ id, url, fileName, state: 'queued', sizeBytes: null })];
    this.emit({ type: 'job-added', jobId: id, url, at: Date.now() });
    return id;
  }
  async pause(jobId: number): Promise<void> {
    this.update(jobId, (job) => ({ ...job, state: 'paused' }));
    this.emit({
      type: 'job-state',
      jobId,
      from: 'downloading',
      to: 'paused',
      reason: 'paused by the user',
      at: Date.now(),
    });
  }
  async resume(jobId: number): Promise<void> {
    this.update(jobId, (job) => ({ ...job, state: 'downloading' }));
    this.emit({ type: 'job-state', jobId, from: 'paused', to: 'downloading', reason: null, at: Date.now() });
  }
  async cancel(jobId: number): Promise<void> {
    this.update(jobId, (job) => ({ ...job, state: 'canceled' }));
  }
  async remove(jobId: number): Promise<void> {
    this.jobs = this.jobs.filter((job) => job.id !== jobId);
    this.emit({ type: 'job-removed', jobId, at: Date.now() });
  }
  async setConnections(jobId: number, connections: number): Promise<void> {
    this.update(jobId, (job) => ({ ...job, maxConnections: connections }));
    this.emit({ type: 'connections-changed', jobId, connections, at: Date.now() });
  }
  async setLimit(jobId: number | null, bytesPerSec: number | null): Promise<void> {
    if (jobId !== null) this.update(jobId, (job) => ({ ...job, limitBytesPerSec: bytesPerSec }));
    this.emit({ type: 'limit-changed', jobId, bytesPerSec, at: Date.now() });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// The tmux test signals this process; tell it the pid.
const pidFile = process.env.DDM_DEMO_PID_FILE;
if (pidFile !== undefined && pidFile !== '') await Bun.write(pidFile, String(process.pid));

const engine = new DemoEngine();
await runTui(engine, { title: 'ddm demo', onQuit: () => engine.stop() });
console.log('demo: quit');
