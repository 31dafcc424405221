import { describe, expect, test } from 'bun:test';
import type { EngineEvent } from '@ddm/core';
import { makeJob, makeSegment } from '../testing/fake-engine.ts';
import { describeEvent } from './events.ts';
import { whyText } from './why.ts';

describe('whyText', () => {
  test('starts from the engine’s why and adds a retry countdown for retrying segments', () => {
    const job = makeJob({
      id: 4,
      why: 'single connection: server sent no Accept-Ranges',
      segments: [makeSegment({ index: 0, status: 'retrying', retries: 1 })],
    });
    const events: EngineEvent[] = [
      {
        type: 'segment-retry',
        jobId: 4,
        index: 0,
        attempt: 1,
        delayMs: 8000,
        code: 'ERR_HTTP_STATUS',
        message: '503',
        at: 1000,
      },
      {
        type: 'segment-retry',
        jobId: 5,
        index: 0,
        attempt: 9,
        delayMs: 1000,
        code: 'ERR_NETWORK',
        message: 'x',
        at: 1000,
      },
    ];
    expect(whyText(job, events, 4000)).toBe(
      'single connection: server sent no Accept-Ranges · segment 0 retrying in 5s (ERR_HTTP_STATUS, attempt 1)',
    );
  });

  test('a failed job shows its error; a restart its reason; nothing gives null', () => {
    const failed = makeJob({
      id: 1,
      state: 'failed',
      errorCode: 'ERR_DISK_FULL',
      errorMessage: 'No space left: /tmp/x',
    });
    expect(whyText(failed, [], 0)).toBe('ERR_DISK_FULL: No space left: /tmp/x');
    const restarted: EngineEvent = {
      type: 'job-restarted',
      jobId: 2,
      code: 'ERR_RESOURCE_CHANGED',
      reason: 'ETag changed',
      at: 0,
    };
    expect(whyText(makeJob({ id: 2 }), [restarted], 0)).toBe('restarted because ETag changed');
    expect(whyText(makeJob({ id: 3, state: 'completed' }), [], 0)).toBeNull();
  });

  test('without a reason from the engine, the job’s state says what happens (never "-")', () => {
    const reasons = (['queued', 'probing', 'downloading', 'verifying', 'paused', 'canceled', 'failed'] as const).map(
      (state) => whyText(makeJob({ id: 1, state, connections: 2, maxConnections: 4 }), [], 0),
    );
    expect(reasons).toEqual([
      'queued: waits for a free download slot',
      'asking the server for the size and range support',
      'downloading over 2 of 4 connections',
      'verifying the checksum',
      'paused: p resumes',
      'canceled: p starts it again',
      'failed: p retries',
    ]);
  });
});

describe('describeEvent', () => {
  test('one readable line per event type', () => {
    const events: EngineEvent[] = [
      { type: 'job-added', jobId: 1, url: 'http://h/f', at: 0 },
      { type: 'job-state', jobId: 1, from: 'downloading', to: 'failed', reason: 'disk full', at: 0 },
      { type: 'segments-planned', jobId: 1, count: 4, sizeBytes: 4096, at: 0 },
      { type: 'segment-split', jobId: 1, from: 0, to: 4, atByte: 2048, at: 0 },
      {
        type: 'segment-retry',
        jobId: 1,
        index: 2,
        attempt: 3,
        delayMs: 2000,
        code: 'ERR_NETWORK',
        message: 'reset',
        at: 0,
      },
      { type: 'job-restarted', jobId: 1, code: 'ERR_RESOURCE_CHANGED', reason: 'ETag changed', at: 0 },
      { type: 'job-why', jobId: 1, why: 'single connection', at: 0 },
      { type: 'job-removed', jobId: 1, at: 0 },
      { type: 'limit-changed', jobId: null, bytesPerSec: 1024, at: 0 },
      { type: 'connections-changed', jobId: 1, connections: 8, at: 0 },
    ];
    expect(events.map((event) => describeEvent(event).text)).toEqual([
      '#1 added http://h/f',
      '#1 downloading → failed: disk full',
      '#1 planned 4 segments over 4.0 KiB',
      '#1 split segment 0 at 2.0 KiB → segment 4',
      '#1 segment 2 retry 3 in 2s: ERR_NETWORK reset',
      '#1 restarted: ERR_RESOURCE_CHANGED ETag changed',
      '#1 single connection',
      '#1 removed',
      'global limit 1.0 KiB/s',
      '#1 connections → 8',
    ]);
    expect(describeEvent(events[1]!).tone).toBe('error');
  });
});
