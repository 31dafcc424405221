import { describe, expect, test } from 'bun:test';
import type { JobSnapshot } from '@ddm/core';
import { jobSnapshot } from '@ddm/core/testing';
import { EXIT } from './exit-codes.ts';
import { jobsExitCode } from './report-jobs.ts';

function failed(id: number, errorCode: string): JobSnapshot {
  return jobSnapshot({
    id,
    fileName: `x${id}.bin`,
    state: 'failed',
    errorCode: errorCode as JobSnapshot['errorCode'],
    errorMessage: 'failed',
  });
}

describe('jobsExitCode: the most serious failure wins, whatever the order of the jobs', () => {
  const cases: [string, string, number][] = [
    ['ERR_DISK_FULL', 'ERR_CHECKSUM_MISMATCH', EXIT.io],
    ['ERR_CHECKSUM_MISMATCH', 'ERR_TLS', EXIT.integrity],
    ['ERR_TLS', 'ERR_HTTP_STATUS', EXIT.tls],
    ['ERR_HTTP_STATUS', 'ERR_USAGE', EXIT.network],
    ['ERR_USAGE', 'ERR_LOCK_LOST', EXIT.usage],
  ];
  for (const [a, b, expected] of cases) {
    test(`${a} with ${b}: exit ${expected}`, () => {
      expect(jobsExitCode([failed(1, a), failed(2, b)], false)).toBe(expected as never);
      expect(jobsExitCode([failed(2, b), failed(1, a)], false)).toBe(expected as never);
    });
  }
});
