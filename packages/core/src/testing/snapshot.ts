/** A job snapshot for tests of what front ends show: a plain downloading job, fields overridable. */
import type { JobSnapshot } from '../types.ts';

export function jobSnapshot(overrides: Partial<JobSnapshot> = {}): JobSnapshot {
  const fileName = overrides.fileName ?? 'file.bin';
  return {
    id: 1,
    url: `http://127.0.0.1/${fileName}`,
    fileName,
    dir: '/tmp',
    path: `/tmp/${fileName}`,
    state: 'downloading',
    sizeBytes: 1000,
    doneBytes: 0,
    rateBytesPerSec: 0,
    etaSec: null,
    connections: 0,
    maxConnections: 8,
    limitBytesPerSec: null,
    priority: 0,
    errorCode: null,
    errorMessage: null,
    why: null,
    segments: [],
    segmentCount: overrides.segments?.length ?? 0,
    mirrors: [],
    createdAt: 0,
    completedAt: null,
    ...overrides,
  };
}
