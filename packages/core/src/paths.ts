/**
 * Where ddm keeps its files. `DDM_HOME` puts the config, the DB and the log in one folder;
 * otherwise they follow the XDG Base Directory specification.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DdmError, errnoOf } from './errors.ts';

/** Mode of ddm's own folders: the DB holds URLs and headers, the log URLs and paths. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of the DB file (SQLite gives its -wal and -shm files the same mode). */
export const PRIVATE_FILE_MODE = 0o600;

export interface DdmPaths {
  /** `DDM_HOME` made absolute, or null when the XDG folders are used. */
  home: string | null;
  configDir: string;
  dataDir: string;
  stateDir: string;
  /** `<configDir>/config.toml` */
  configFile: string;
  /** `<dataDir>/ddm.db` */
  dbFile: string;
  /** `<stateDir>/ddm.log` */
  logFile: string;
}

/** Resolves `~` and `~/...` against `home`; other paths are returned unchanged. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** The user's home folder: `HOME` from `env`, else the OS's idea of it. */
export function homeDirFrom(env: Record<string, string | undefined>): string {
  const home = env.HOME;
  return home !== undefined && home !== '' ? home : homedir();
}

/**
 * XDG base folder from `name`, or `fallback` under the home folder. Per the XDG spec an empty
 * or relative value is invalid and ignored.
 */
function xdgDir(env: Record<string, string | undefined>, name: string, fallback: string): string {
  const value = env[name];
  if (value !== undefined && value !== '' && isAbsolute(value)) return value;
  return join(homeDirFrom(env), fallback);
}

/**
 * Resolves ddm's paths from `env` (pure: touches no file).
 * - `DDM_HOME` set and non-empty: `<DDM_HOME>/config.toml`, `<DDM_HOME>/ddm.db`,
 *   `<DDM_HOME>/ddm.log` (a relative `DDM_HOME` is resolved against the current directory,
 *   `~` against `HOME`).
 * - otherwise `$XDG_CONFIG_HOME/ddm/config.toml` (default `~/.config`),
 *   `$XDG_DATA_HOME/ddm/ddm.db` (default `~/.local/share`) and
 *   `$XDG_STATE_HOME/ddm/ddm.log` (default `~/.local/state`).
 */
export function resolvePaths(env: Record<string, string | undefined>): DdmPaths {
  const ddmHome = env.DDM_HOME;
  if (ddmHome !== undefined && ddmHome !== '') {
    const home = resolve(expandHome(ddmHome, homeDirFrom(env)));
    return {
      home,
      configDir: home,
      dataDir: home,
      stateDir: home,
      configFile: join(home, 'config.toml'),
      dbFile: join(home, 'ddm.db'),
      logFile: join(home, 'ddm.log'),
    };
  }
  const configDir = join(xdgDir(env, 'XDG_CONFIG_HOME', '.config'), 'ddm');
  const dataDir = join(xdgDir(env, 'XDG_DATA_HOME', join('.local', 'share')), 'ddm');
  const stateDir = join(xdgDir(env, 'XDG_STATE_HOME', join('.local', 'state')), 'ddm');
  return {
    home: null,
    configDir,
    dataDir,
    stateDir,
    configFile: join(configDir, 'config.toml'),
    dbFile: join(dataDir, 'ddm.db'),
    logFile: join(stateDir, 'ddm.log'),
  };
}

/**
 * Creates ddm's folders (parents as needed, with the usual mode). A folder ddm creates gets mode
 * 0700; an existing `ddm` folder under the XDG folders is chmod-ed to 0700. An existing
 * `DDM_HOME` is the user's choice and keeps its mode.
 * @throws DdmError `ERR_IO` when a folder cannot be created or is not a folder.
 */
export function ensureDirs(paths: DdmPaths): void {
  const dirs = [...new Set([paths.configDir, paths.dataDir, paths.stateDir])];
  for (const dir of dirs) {
    const isUserChosen = paths.home !== null && dir === paths.home;
    try {
      mkdirSync(dirname(dir), { recursive: true });
      let isCreated = false;
      try {
        mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
        isCreated = true;
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw error;
      }
      const stat = statSync(dir);
      if (!stat.isDirectory()) {
        throw new DdmError(`Not a folder: ${dir}`, { code: 'ERR_IO' });
      }
      // mkdir's mode is filtered by the umask; set it exactly.
      if ((isCreated || !isUserChosen) && (stat.mode & 0o777) !== PRIVATE_DIR_MODE) {
        chmodSync(dir, PRIVATE_DIR_MODE);
      }
    } catch (error) {
      if (error instanceof DdmError) throw error;
      throw new DdmError(`Cannot create folder: ${dir}`, { code: 'ERR_IO', cause: error });
    }
  }
}

/**
 * Creates `file` empty with mode 0600 if it is missing, and sets mode 0600 if it exists. Call it
 * on the DB path before opening the DB so SQLite never creates it world-readable.
 * @throws DdmError `ERR_IO` when the file cannot be created or chmod-ed.
 */
export function ensurePrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
    if ((statSync(file).mode & 0o777) !== PRIVATE_FILE_MODE) chmodSync(file, PRIVATE_FILE_MODE);
  } catch (error) {
    throw new DdmError(`Cannot create private file: ${file}`, { code: 'ERR_IO', cause: error });
  }
}
