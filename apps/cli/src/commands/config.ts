import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  configForShow,
  DdmError,
  formatConfigShow,
  initConfigText,
  setConfigValue,
  shownConfigArgument,
} from '@ddm/core';
import { loadContextConfig } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

/** `ddm config path | show | init | set <key> <value>`. */
export async function configCommand(
  out: Output,
  action: string | undefined,
  args: (string | number)[],
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
    case 'init': {
      if (existsSync(paths.configFile)) {
        throw new DdmError(`Config file already exists (edit it or use ddm config set): ${paths.configFile}`, {
          code: 'ERR_FILE_EXISTS',
        });
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
    default:
      throw new DdmError(`Unknown config action "${action}" (use path, show, init or set)`, { code: 'ERR_USAGE' });
  }
}
