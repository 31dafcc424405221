/** Everything a command needs: paths, config, logger, DB, and an engine factory. */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  type ConfigFlags,
  createLogger,
  type DdmConfig,
  DdmError,
  type DdmPaths,
  defaultNetrcPath,
  Engine,
  type EngineSettings,
  ensureDirs,
  ensurePrivateFile,
  expandHome,
  homeDirFrom,
  type LoadedConfig,
  type Logger,
  loadConfig,
  type RequestEnvironment,
  readNetrcFile,
  resolvePaths,
  settingsFromConfig,
} from '@ddm/core';
import { type Database, DbError, openDb, type Repos, reposFor } from '@ddm/db';

export interface GlobalFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  proxy?: string;
  netrcFile?: string;
}

export interface Context {
  paths: DdmPaths;
  loaded: LoadedConfig;
  config: DdmConfig;
  settings: EngineSettings;
  log: Logger;
  repos: Repos;
  env: Record<string, string | undefined>;
  flags: GlobalFlags;
  /**
   * Settings, environment, `--proxy` and netrc entries for every request of this process; the
   * netrc file (`--netrc-file`, else ~/.netrc) is read on first use, once.
   * @throws DdmError ERR_IO when a `--netrc-file` cannot be read.
   */
  requestEnvironment(): RequestEnvironment;
  createEngine(): Engine;
  close(): void;
}

/** Only loads the config (for `config` subcommands and early validation). */
export function loadContextConfig(
  configFlags: ConfigFlags,
  env = process.env,
): { paths: DdmPaths; loaded: LoadedConfig } {
  const paths = resolvePaths(env);
  const loaded = loadConfig({ file: paths.configFile, env, flags: configFlags });
  return { paths, loaded };
}

/**
 * `DDM_LOCK_STALE_MS`, for tests only: how long a silent engine keeps the lock before another
 * `ddm run` takes it over (default 30 s), so a frozen-engine test need not wait 30 s.
 * @throws DdmError ERR_CONFIG when it is not a whole number of at least 100 ms.
 */
export function lockStaleMsFrom(env: Record<string, string | undefined>): number | undefined {
  const raw = env.DDM_LOCK_STALE_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100) {
    throw new DdmError(`DDM_LOCK_STALE_MS must be a whole number of milliseconds, at least 100: ${raw}`, {
      code: 'ERR_CONFIG',
    });
  }
  return ms;
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'];

/**
 * Bun's fetch applies HTTP_PROXY/HTTPS_PROXY by itself, even when a request asks for no proxy.
 * ddm resolves proxies itself (flag > config > env, with NO_PROXY; core/src/proxy.ts) and passes
 * the result to every request, so the variables are taken out of the process environment.
 */
function takeProxyVariables(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const name of PROXY_VARIABLES) {
    delete process.env[name];
    delete process.env[name.toLowerCase()];
  }
  return env;
}

/**
 * What a command does with the job DB. A `read` command (`status`) creates nothing: no folder,
 * no DB, no log; it opens the DB read-only when this process cannot write it (a read-only
 * mount, a file or folder without write permission) and shows no jobs when there is no DB yet.
 */
export type DbAccess = 'read' | 'write';

/**
 * Opens everything a command needs.
 * @throws DbError ERR_DB_READONLY ("the job DB is read-only: <path>") for a `write` command
 *   on a DB this process cannot write; the errors of `openDb`; DdmError ERR_IO (folders).
 */
export function openContext(flags: GlobalFlags, configFlags: ConfigFlags = {}, access: DbAccess = 'write'): Context {
  const env = takeProxyVariables();
  const { paths, loaded } = loadContextConfig(
    { ...configFlags, ...(flags.verbose ? { logLevel: 'debug' as const } : {}) },
    env,
  );
  const config = loaded.config;
  const dbState = dbWritability(paths.dbFile);
  if (access === 'write' && dbState === 'read-only') {
    throw new DbError(`The job DB is read-only: ${paths.dbFile}`, 'ERR_DB_READONLY');
  }
  if (access === 'write') ensureDirs(paths);
  const log = createLogger({
    file: access === 'write' ? paths.logFile : null,
    level: config.logLevel,
    maxBytes: config.logMaxBytes,
  });
  for (const note of loaded.notes) log.warn('config', { note });
  const repos = reposFor(access === 'write' ? openDb(paths.dbFile) : openForReading(paths.dbFile, dbState));
  if (access === 'write') ensurePrivateFile(paths.dbFile);
  const settings = settingsFromConfig(config);
  let requestEnvironment: RequestEnvironment | null = null;
  const getRequestEnvironment = (): RequestEnvironment => {
    if (requestEnvironment === null) {
      const netrcPath = flags.netrcFile ? resolve(flags.netrcFile) : defaultNetrcPath(env);
      const netrc = readNetrcFile(netrcPath, Boolean(flags.netrcFile));
      requestEnvironment = { settings, env, flagProxy: flags.proxy, netrc };
    }
    return requestEnvironment;
  };
  const lockStaleMs = lockStaleMsFrom(env);
  return {
    paths,
    loaded,
    config,
    settings,
    log,
    repos,
    env,
    flags,
    requestEnvironment: getRequestEnvironment,
    createEngine: () =>
      new Engine({
        repos,
        settings,
        log,
        env,
        flagProxy: flags.proxy,
        netrc: [...(getRequestEnvironment().netrc ?? [])],
        hooks: { onComplete: config.onComplete || undefined, onError: config.onError || undefined },
        lockStaleMs,
      }),
    close: () => repos.db.close(),
  };
}

/**
 * Whether this process can write the DB: `missing` (no file yet), `read-only` (the file or its
 * folder refuses writing: EACCES, EPERM, or EROFS on a read-only mount, which stops root too),
 * else `writable`.
 */
export function dbWritability(path: string): 'missing' | 'writable' | 'read-only' {
  if (!existsSync(path)) return 'missing';
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return 'writable';
  } catch (error) {
    const errno = (error as { code?: unknown }).code;
    return errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS' ? 'read-only' : 'writable';
  }
}

/**
 * The DB for a `read` command: an empty in-memory one when there is none yet (nothing is
 * created), read-only when it cannot be written, else as usual (a migration may be written);
 * a DB that refuses a write after all (SQLITE_READONLY) is opened again read-only.
 */
function openForReading(path: string, state: 'missing' | 'writable' | 'read-only'): Database {
  if (state === 'missing') return openDb(':memory:');
  if (state === 'read-only') return openDb(path, { isReadOnly: true });
  try {
    return openDb(path);
  } catch (error) {
    if (error instanceof DbError && error.code === 'ERR_DB_READONLY') return openDb(path, { isReadOnly: true });
    throw error;
  }
}

/** The directory downloads go to: `-d`, else `download_dir`, else the working directory. */
export function downloadDir(ctx: Context, dirFlag: string | undefined): string {
  const home = homeDirFrom(ctx.env);
  if (dirFlag) return resolve(expandHome(String(dirFlag), home));
  if (ctx.config.downloadDir) return resolve(expandHome(ctx.config.downloadDir, home));
  return process.cwd();
}
