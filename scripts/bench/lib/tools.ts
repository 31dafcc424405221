/** How each tool downloads one file with N connections, or a list of files N at a time. */
import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { combine, type Measurement, runMeasured } from './measure.ts';

/** `curl-sync` is curl followed by `sync FILE`: durable on disk, as ddm's fdatasync'ed result is. */
export type Tool = 'ddm' | 'aria2c' | 'curl' | 'curl-sync';

export interface Download {
  url: string;
  /** File name in the output dir. */
  name: string;
}

export interface ToolEnv {
  /** argv prefix that runs ddm: the compiled binary, or `bun apps/cli/src/main.ts`. */
  ddm: string[];
  /** Scratch dir (time files, lists, DDM_HOMEs). */
  scratchDir: string;
}

/** The environment of every tool: no proxies, no colours. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    NO_COLOR: '1',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    ALL_PROXY: '',
    all_proxy: '',
    ...extra,
  };
}

export const ARIA2_COMMON = [
  '--no-conf=true',
  '--allow-overwrite=true',
  '--auto-file-renaming=false',
  '--file-allocation=none',
  '--console-log-level=error',
  '--summary-interval=0',
];

/** The command line shown in the report for each tool (one file, N connections). */
export function describeSingle(tool: Tool): string {
  switch (tool) {
    case 'ddm':
      return 'ddm get URL -x N -d OUT -q (fresh DDM_HOME per run)';
    case 'aria2c':
      return `aria2c -xN -sN -k1M ${ARIA2_COMMON.join(' ')} -d OUT -o NAME URL`;
    case 'curl':
      return 'curl -s -o OUT/NAME URL';
    case 'curl-sync':
      return 'curl -s -o OUT/NAME URL && sync OUT/NAME (durable on disk, like ddm)';
  }
}

export function describeMany(tool: Tool, parallel: number): string {
  switch (tool) {
    case 'ddm':
      return `ddm add URL... -d OUT -q, then ddm run --jobs ${parallel} -q (times and CPU added up)`;
    case 'aria2c':
      return `aria2c -i LIST -j ${parallel} ${ARIA2_COMMON.join(' ')} -d OUT`;
    case 'curl':
    case 'curl-sync':
      return `curl -s --parallel --parallel-max ${parallel} -o OUT/NAME1 URL1 -o OUT/NAME2 URL2 ...`;
  }
}

/** Downloads one file into `outDir` with `connections` connections (curl always uses one). */
export async function downloadOne(
  tool: Tool,
  env: ToolEnv,
  file: Download,
  connections: number,
  outDir: string,
  runId: string,
): Promise<Measurement> {
  mkdirSync(outDir, { recursive: true });
  const opts = { scratchDir: env.scratchDir, env: cleanEnv() };
  switch (tool) {
    case 'ddm': {
      const home = join(env.scratchDir, `home-${runId}`);
      const m = await runMeasured([...env.ddm, 'get', file.url, '-x', String(connections), '-d', outDir, '-q'], {
        ...opts,
        env: cleanEnv({ DDM_HOME: home }),
      });
      const transferSeconds = downloadingSeconds(join(home, 'ddm.db'));
      return transferSeconds === null ? m : { ...m, transferSeconds };
    }
    case 'aria2c':
      return runMeasured(
        [
          'aria2c',
          `-x${connections}`,
          `-s${connections}`,
          '-k1M',
          ...ARIA2_COMMON,
          '-d',
          outDir,
          '-o',
          file.name,
          file.url,
        ],
        opts,
      );
    case 'curl':
      return runMeasured(['curl', '-s', '-o', join(outDir, file.name), file.url], opts);
    case 'curl-sync': {
      const out = join(outDir, file.name);
      return runMeasured(['sh', '-c', 'curl -s -o "$1" "$2" && sync "$1"', 'sh', out, file.url], opts);
    }
  }
}

/** Downloads every file into `outDir`, `parallel` at a time. */
export async function downloadMany(
  tool: Tool,
  env: ToolEnv,
  files: Download[],
  parallel: number,
  outDir: string,
  runId: string,
): Promise<Measurement> {
  mkdirSync(outDir, { recursive: true });
  const opts = { scratchDir: env.scratchDir, env: cleanEnv() };
  switch (tool) {
    case 'ddm': {
      const ddmEnv = cleanEnv({ DDM_HOME: join(env.scratchDir, `home-${runId}`) });
      const added = await runMeasured([...env.ddm, 'add', ...files.map((f) => f.url), '-d', outDir, '-q'], {
        ...opts,
        env: ddmEnv,
      });
      if (added.exitCode !== 0) return added;
      const ran = await runMeasured([...env.ddm, 'run', '--jobs', String(parallel), '-q'], { ...opts, env: ddmEnv });
      return combine([added, ran]);
    }
    case 'aria2c': {
      const list = join(env.scratchDir, `list-${runId}.txt`);
      writeFileSync(list, files.map((f) => `${f.url}\n  out=${f.name}\n`).join(''));
      return runMeasured(['aria2c', '-i', list, '-j', String(parallel), ...ARIA2_COMMON, '-d', outDir], opts);
    }
    case 'curl':
    case 'curl-sync':
      return runMeasured(
        [
          'curl',
          '-s',
          '--parallel',
          '--parallel-max',
          String(parallel),
          ...files.flatMap((f) => ['-o', join(outDir, f.name), f.url]),
        ],
        opts,
      );
  }
}

/**
 * Seconds job 1 spent in `downloading` (last entry to `verifying`), read from the `events`
 * table of a finished run's DB; null when the DB or the events are missing.
 */
export function downloadingSeconds(dbFile: string): number | null {
  if (!existsSync(dbFile)) return null;
  let db: Database | null = null;
  try {
    db = new Database(dbFile, { readonly: true });
    const rows = db.query("SELECT at, data_json FROM events WHERE type = 'job-state' ORDER BY id").all() as {
      at: number;
      data_json: string;
    }[];
    let startedAt: number | null = null;
    let endedAt: number | null = null;
    for (const row of rows) {
      const to = (JSON.parse(row.data_json) as { to?: string }).to;
      if (to === 'downloading') startedAt = row.at;
      if (to === 'verifying' && startedAt !== null) endedAt = row.at;
    }
    return startedAt !== null && endedAt !== null ? (endedAt - startedAt) / 1000 : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}
