/**
 * Shared set-up for the engine behaviour tests (`engine-*.test.ts`): a real Engine on an
 * in-memory (or file) job DB, a temporary download directory, fast retry settings, every event
 * recorded, and helpers to hash the result and look for leftovers. Test-only; not exported from
 * the package.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobRow, openDb, type Repos, reposFor } from '@ddm/db';
import { Engine } from '../engine.ts';
import { DEFAULT_SETTINGS, type EngineSettings } from '../settings.ts';
import type { EngineEvent } from '../types.ts';

/** Settings that make failures and retries fast and give several segments on small files. */
export const FAST_SETTINGS: EngineSettings = {
  ...DEFAULT_SETTINGS,
  connections: 4,
  retryAttempts: 4,
  retryBaseDelayMs: 20,
  retryMaxDelayMs: 200,
  minSplitBytes: 64 * 1024,
  checkpointIntervalMs: 100,
  connectTimeoutMs: 5000,
};

export interface Harness extends AsyncDisposable {
  readonly dir: string;
  /** The job DB's path (`:memory:` unless `isFileDb`). */
  readonly dbPath: string;
  readonly repos: Repos;
  readonly engine: Engine;
  readonly events: EngineEvent[];
  /** The job row as stored. */
  job(id: number): JobRow;
  /** A fresh engine on the same DB (the previous one must have stopped). */
  restartEngine(settings?: Partial<EngineSettings>): Engine;
  /** Files in the download directory, sorted. */
  files(): string[];
  /** SHA-256 of a file in the download directory. */
  sha256(name: string): Promise<string>;
  /** Absolute path of a file in the download directory. */
  path(name: string): string;
  exists(name: string): boolean;
  eventsOf<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[];
}

export interface HarnessOptions {
  settings?: Partial<EngineSettings>;
  /** Use a DB file in a temp directory instead of `:memory:` (for multi-engine tests). */
  isFileDb?: boolean;
  /** Download into this directory instead of a fresh temp one (it is not deleted). */
  dir?: string;
}

/** Starts a harness; dispose it with `await using`. */
export function harness(options: HarnessOptions = {}): Harness {
  const root = mkdtempSync(join(tmpdir(), 'ddm-engine-'));
  const dir = options.dir ?? join(root, 'downloads');
  const dbPath = options.isFileDb ? join(root, 'ddm.db') : ':memory:';
  const repos = reposFor(openDb(dbPath));
  const events: EngineEvent[] = [];
  const settings = { ...FAST_SETTINGS, ...options.settings };
  const make = (extra: Partial<EngineSettings> = {}) => {
    const engine = new Engine({ repos, settings: { ...settings, ...extra }, env: {}, pollIntervalMs: 20 });
    engine.subscribe((event) => events.push(event));
    return engine;
  };
  let engine = make();
  return {
    dir,
    dbPath,
    repos,
    get engine() {
      return engine;
    },
    events,
    job(id) {
      const row = repos.jobs.get(id);
      if (!row) throw new Error(`no job ${id}`);
      return row;
    },
    restartEngine(extra) {
      engine = make(extra);
      return engine;
    },
    files: () => (existsSync(dir) ? readdirSync(dir).sort() : []),
    sha256: async (name) => {
      const hasher = new Bun.CryptoHasher('sha256');
      const stream = Bun.file(join(dir, name)).stream();
      for await (const chunk of stream) hasher.update(chunk);
      return hasher.digest('hex');
    },
    path: (name) => join(dir, name),
    exists: (name) => existsSync(join(dir, name)),
    eventsOf: <T extends EngineEvent['type']>(type: T) =>
      events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type),
    async [Symbol.asyncDispose]() {
      engine.stop();
      repos.db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
