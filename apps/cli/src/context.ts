/** Everything a command needs: paths, config, logger, the job store, and an engine factory. */
import { resolve } from 'node:path';
import {
  assertJobDbWritable,
  type ConfigFlags,
  createLogger,
  type DdmConfig,
  DdmError,
  type DdmPaths,
  defaultNetrcPath,
  type Engine,
  type EngineSettings,
  ensureDirs,
  ensurePrivateFile,
  expandHome,
  homeDirFrom,
  type JobDbAccess,
  type JobStore,
  type LoadedConfig,
  type Logger,
  loadConfig,
  openJobStore,
  type RequestEnvironment,
  readNetrcFile,
  resolvePaths,
  settingsFromConfig,
} from '@ddm/core';

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
  /** The job DB: reads and commands; rows are written by the engine (or the offline control path) only. */
  store: JobStore;
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
export type DbAccess = JobDbAccess;

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
  if (access === 'write') {
    // Before any folder or log is created: a read-only DB is the error to report.
    assertJobDbWritable(paths.dbFile);
    ensureDirs(paths);
  }
  const log = createLogger({
    file: access === 'write' ? paths.logFile : null,
    level: config.logLevel,
    maxBytes: config.logMaxBytes,
  });
  for (const note of loaded.notes) log.warn('config', { note });
  const store = openJobStore(paths.dbFile, access);
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
    store,
    env,
    flags,
    requestEnvironment: getRequestEnvironment,
    createEngine: () =>
      store.createEngine({
        settings,
        log,
        env,
        flagProxy: flags.proxy,
        netrc: [...(getRequestEnvironment().netrc ?? [])],
        hooks: { onComplete: config.onComplete || undefined, onError: config.onError || undefined },
        lockStaleMs,
      }),
    close: () => store.close(),
  };
}

/** The directory downloads go to: `-d`, else `download_dir`, else the working directory. */
export function downloadDir(ctx: Context, dirFlag: string | undefined): string {
  const home = homeDirFrom(ctx.env);
  if (dirFlag) return resolve(expandHome(String(dirFlag), home));
  if (ctx.config.downloadDir) return resolve(expandHome(ctx.config.downloadDir, home));
  return process.cwd();
}
