import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DdmError } from './errors.ts';
import { ensureDirs, ensurePrivateFile, expandHome, resolvePaths } from './paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'ddm-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('resolvePaths', () => {
  test('falls back to ~/.config, ~/.local/share and ~/.local/state', () => {
    expect(resolvePaths({ HOME: '/home/u' })).toEqual({
      home: null,
      configDir: '/home/u/.config/ddm',
      dataDir: '/home/u/.local/share/ddm',
      stateDir: '/home/u/.local/state/ddm',
      configFile: '/home/u/.config/ddm/config.toml',
      dbFile: '/home/u/.local/share/ddm/ddm.db',
      logFile: '/home/u/.local/state/ddm/ddm.log',
    });
  });

  test('follows XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME', () => {
    const paths = resolvePaths({
      HOME: '/home/u',
      XDG_CONFIG_HOME: '/cfg',
      XDG_DATA_HOME: '/data',
      XDG_STATE_HOME: '/state',
    });
    expect(paths.configFile).toBe('/cfg/ddm/config.toml');
    expect(paths.dbFile).toBe('/data/ddm/ddm.db');
    expect(paths.logFile).toBe('/state/ddm/ddm.log');
  });

  test('ignores empty and relative XDG variables, as the XDG spec requires', () => {
    const paths = resolvePaths({ HOME: '/home/u', XDG_CONFIG_HOME: '', XDG_DATA_HOME: 'relative/data' });
    expect(paths.configDir).toBe('/home/u/.config/ddm');
    expect(paths.dataDir).toBe('/home/u/.local/share/ddm');
  });

  test('DDM_HOME puts config, DB and log in one folder and beats XDG', () => {
    const paths = resolvePaths({ HOME: '/home/u', DDM_HOME: '/srv/ddm', XDG_CONFIG_HOME: '/cfg' });
    expect(paths).toEqual({
      home: '/srv/ddm',
      configDir: '/srv/ddm',
      dataDir: '/srv/ddm',
      stateDir: '/srv/ddm',
      configFile: '/srv/ddm/config.toml',
      dbFile: '/srv/ddm/ddm.db',
      logFile: '/srv/ddm/ddm.log',
    });
    expect(resolvePaths({ HOME: '/home/u', DDM_HOME: '~/ddm' }).home).toBe('/home/u/ddm');
  });

  test('expandHome expands only a leading ~', () => {
    expect(expandHome('~', '/h')).toBe('/h');
    expect(expandHome('~/a/b', '/h')).toBe('/h/a/b');
    expect(expandHome('/x/~/y', '/h')).toBe('/x/~/y');
    expect(expandHome('~other/x', '/h')).toBe('~other/x');
  });
});

describe('ensureDirs', () => {
  test('creates the XDG ddm folders with mode 0700 and tightens existing ones', () => {
    const root = join(dir, 'xdg');
    const env = {
      HOME: root,
      XDG_CONFIG_HOME: join(root, 'cfg'),
      XDG_DATA_HOME: join(root, 'data'),
      XDG_STATE_HOME: join(root, 'state'),
    };
    mkdirSync(join(root, 'cfg', 'ddm'), { recursive: true, mode: 0o755 });
    chmodSync(join(root, 'cfg', 'ddm'), 0o755);
    const paths = resolvePaths(env);
    ensureDirs(paths);
    for (const folder of [paths.configDir, paths.dataDir, paths.stateDir]) expect(modeOf(folder)).toBe(0o700);
    ensureDirs(paths);
  });

  test('creates DDM_HOME with mode 0700 but leaves an existing one alone', () => {
    const created = resolvePaths({ DDM_HOME: join(dir, 'home-new') });
    ensureDirs(created);
    expect(modeOf(join(dir, 'home-new'))).toBe(0o700);
    const existing = join(dir, 'home-old');
    mkdirSync(existing);
    chmodSync(existing, 0o750);
    ensureDirs(resolvePaths({ DDM_HOME: existing }));
    expect(modeOf(existing)).toBe(0o750);
  });

  test('fails with ERR_IO when a path is a file', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    let caught: unknown;
    try {
      ensureDirs(resolvePaths({ DDM_HOME: file }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DdmError);
    expect((caught as DdmError).code).toBe('ERR_IO');
  });
});

describe('ensurePrivateFile', () => {
  test('creates the DB file with mode 0600 and tightens an existing one', () => {
    const db = join(dir, 'ddm.db');
    ensurePrivateFile(db);
    expect(modeOf(db)).toBe(0o600);
    chmodSync(db, 0o644);
    ensurePrivateFile(db);
    expect(modeOf(db)).toBe(0o600);
  });
});
