/** The options and results of `Engine` (engine.ts). */
import type { Repos } from '@ddm/db';
import type { Logger } from './log.ts';
import type { NetrcEntry } from './netrc.ts';
import type { EngineSettings } from './settings.ts';

/** Credentials that live in this process only (not in the DB unless the user opted in). */
export interface JobSecrets {
  headers?: Record<string, string>;
  cookieHeaderFor?: (url: string) => string | null;
}

export interface EngineOptions {
  repos: Repos;
  settings: EngineSettings;
  log?: Logger;
  env?: Record<string, string | undefined>;
  /** `--proxy`: overrides config and environment; '' disables proxies. */
  flagProxy?: string;
  netrc?: NetrcEntry[];
  hooks?: { onComplete?: string; onError?: string };
  /** ms between checks for commands from other processes. */
  pollIntervalMs?: number;
  /** Dependency for tests and the CLI: the pid written into the engine lock. */
  pid?: number;
  /**
   * How long the lock's heartbeat may be silent before another engine may take the lock over
   * (and how long this engine waits before taking over a silent one). Writes are fenced by a
   * lease of a third of it. Tests set it low; users have no reason to.
   * @default 30_000
   */
  lockStaleMs?: number;
}

export interface RunOptions {
  /** Stay up and pick up jobs queued later (daemon mode). */
  isWatching?: boolean;
  /**
   * Only run these jobs (`ddm get`), and jobs handed over later by an `adopt` command (a second
   * `ddm get` while this one runs): the run ends when all of them ended.
   */
  jobIds?: readonly number[];
  signal?: AbortSignal;
}

export interface RunSummary {
  completed: number[];
  failed: number[];
  /** Interrupted by stop(): left queued for the next run. */
  interrupted: number[];
}
