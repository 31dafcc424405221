/**
 * `snapshotFromDb` as `ddm status` reads it: a fixed number of queries whatever the number of
 * jobs, no segment row in JavaScript, and the same numbers as the full snapshot.
 */
import { describe, expect, test } from 'bun:test';
import { openDb, reposFor } from '@ddm/db';
import { snapshotFromDb } from './control.ts';

function filledRepos(count: number) {
  const repos = reposFor(openDb(':memory:'));
  repos.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const isDone = i % 10 === 0;
      const job = repos.jobs.insert({
        url: `http://user:secret@127.0.0.1:9/f${i}?token=abc`,
        dir: '/tmp/ddm-status',
        fileName: `f${i}.bin`,
        connections: 4,
        state: isDone ? 'completed' : i % 3 === 0 ? 'queued' : 'paused',
        settings: { headers: { Authorization: 'Bearer secret' } },
      });
      repos.jobs.update(job.id, { sizeBytes: 4000, why: i % 7 === 0 ? 'slow server' : null });
      // Every fifth job has no segments yet (queued, never probed).
      if (i % 5 === 4) continue;
      repos.segments.replace(
        job.id,
        [0, 1, 2, 3].map((k) => ({
          index: k,
          start: k * 1000,
          end: (k + 1) * 1000,
          writtenBytes: isDone ? 1000 : (i + k) % 1000,
          splitFrom: null,
        })),
      );
    }
  })();
  return repos;
}

describe('snapshotFromDb for a status listing', () => {
  test('sums segments in SQL: the same jobs and numbers as the full snapshot, without segment rows', () => {
    const repos = filledRepos(300);
    const full = snapshotFromDb(repos);
    const summary = snapshotFromDb(repos, { withSegments: false });
    expect(summary.jobs).toHaveLength(300);
    expect(summary.jobs.map(({ segments: _, ...j }) => j)).toEqual(full.jobs.map(({ segments: _, ...j }) => j));
    expect(summary.jobs.every((j) => j.segments.length === 0)).toBe(true);
    expect(full.jobs.map((j) => j.segmentCount)).toEqual(full.jobs.map((j) => j.segments.length));
    expect(summary.jobs.find((j) => j.id === 5)).toMatchObject({ segmentCount: 0, doneBytes: 0 });
    repos.db.close();
  });

  test("keeps a job's mirrors (redacted) without its other settings, as the full snapshot does", () => {
    const repos = filledRepos(3);
    const mirrors = ['http://user:secret@127.0.0.1:9/m1?token=abc', 'http://127.0.0.1:9/m2'];
    const job = repos.jobs.insert({
      url: 'http://127.0.0.1:9/with-mirrors',
      dir: '/tmp/ddm-status',
      fileName: 'm.bin',
      connections: 4,
      settings: { mirrors, headers: { Authorization: 'Bearer secret' } },
    });
    const full = snapshotFromDb(repos).jobs.find((j) => j.id === job.id);
    const summary = snapshotFromDb(repos, { withSegments: false }).jobs.find((j) => j.id === job.id);
    // The job's own URL and its two mirrors.
    expect(full?.mirrors).toHaveLength(3);
    expect(full?.mirrors[1]?.url).not.toContain('secret');
    expect(summary?.mirrors).toEqual(full?.mirrors ?? []);
    expect(snapshotFromDb(repos, { withSegments: false }).jobs.filter((j) => j.mirrors.length > 0)).toHaveLength(1);
    repos.db.close();
  });

  test('takes the same number of queries for 10 jobs as for 2,000, and never parses settings', () => {
    const counts: number[] = [];
    for (const n of [10, 2000]) {
      const repos = filledRepos(n);
      let queries = 0;
      const query = repos.db.query.bind(repos.db);
      repos.db.query = ((sql: string) => {
        queries++;
        return query(sql);
      }) as typeof repos.db.query;
      const parse = JSON.parse;
      let parses = 0;
      JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
        parses++;
        return parse(text, reviver);
      }) as typeof JSON.parse;
      try {
        expect(snapshotFromDb(repos, { withSegments: false }).jobs).toHaveLength(n);
      } finally {
        JSON.parse = parse;
      }
      expect(parses).toBe(0);
      counts.push(queries);
      repos.db.close();
    }
    expect(counts[0]).toBeLessThanOrEqual(6);
    expect(counts[1]).toBe(counts[0] as number);
  });
});
