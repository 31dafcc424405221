import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  configForShow,
  configKeys,
  DdmError,
  formatConfigShow,
  getConfigValue,
  initConfigText,
  isConfigKey,
  setConfigValue,
  shownConfigArgument,
} from '@ddm/core';
import { loadContextConfig } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';
import { nearest } from '../suggest.ts';

const ACTIONS = ['path', 'show', 'get', 'init', 'set'];

/**
 * `ddm config path | show | get <key> | init [--force] | set <key> <value>`.
 * @throws ConfigError ERR_CONFIG for an unknown key (naming the nearest one) or a bad value;
 *   DdmError ERR_USAGE for a missing argument or an unknown action.
 */
export async function configCommand(
  out: Output,
  action: string | undefined,
  args: (string | number)[],
  flags: { force?: boolean } = {},
): Promise<ExitCode> {
  const { paths, loaded } = loadContextConfig({});
  switch (action) {
    case 'path':
      out.data(paths.configFile);
      return EXIT.ok;
    case 'show':
    case undefined:
      if (out.isJson)
        out.json({
          file: loaded.file,
          hasFile: loaded.hasFile,
          config: configForShow(loaded.config),
          sources: loaded.sources,
          notes: loaded.notes,
        });
      else {
        out.data(`# ${loaded.file}${loaded.hasFile ? '' : ' (not created yet; defaults apply)'}`);
        for (const note of loaded.notes) out.data(`# note: ${note}`);
        out.data(formatConfigShow(loaded));
      }
      return EXIT.ok;
    case 'get': {
      const [key] = args.map(String);
      if (key === undefined) throw new DdmError('Usage: ddm config get <key>', { code: 'ERR_USAGE' });
      if (!isConfigKey(key)) {
        const guess = nearest(
          key,
          configKeys().map((k) => k.key),
        );
        const hint = guess === null ? ' (see ddm config show)' : `; did you mean "${guess}"?`;
        throw new DdmError(`Unknown config key "${key}"${hint}`, { code: 'ERR_CONFIG' });
      }
      // Shown as `config show` shows it: a set rpc.secret stays "***".
      const value = getConfigValue(configForShow(loaded.config), key);
      if (out.isJson) out.json({ key, value, source: loaded.sources[key] });
      else out.data(String(value));
      return EXIT.ok;
    }
    case 'init': {
      // Running it twice is not an error: the file is there, as asked (exit 0, left as it is).
      if (existsSync(paths.configFile) && !flags.force) {
        out.note(`Config file already exists, left unchanged (--force replaces it): ${paths.configFile}`);
        return EXIT.ok;
      }
      mkdirSync(dirname(paths.configFile), { recursive: true, mode: 0o700 });
      writeFileSync(paths.configFile, initConfigText(), { mode: 0o600 });
      out.line(`wrote ${paths.configFile}`);
      return EXIT.ok;
    }
    case 'set': {
      const [key, value] = args.map(String);
      if (key === undefined || value === undefined) {
        throw new DdmError('Usage: ddm config set <key> <value>', { code: 'ERR_USAGE' });
      }
      const text = existsSync(paths.configFile) ? readFileSync(paths.configFile, 'utf8') : '';
      const next = setConfigValue(text, key, value, paths.configFile);
      mkdirSync(dirname(paths.configFile), { recursive: true, mode: 0o700 });
      writeFileSync(paths.configFile, next, { mode: 0o600 });
      loadContextConfig({});
      out.line(`${key} = ${shownConfigArgument(key, value)}  (${paths.configFile})`);
      return EXIT.ok;
    }
    default: {
      const guess = nearest(action, ACTIONS);
      const hint = guess === null ? '' : `; did you mean "${guess}"?`;
      throw new DdmError(`Unknown config action "${action}"${hint} (use ${ACTIONS.join(', ')})`, { code: 'ERR_USAGE' });
    }
  }
}
