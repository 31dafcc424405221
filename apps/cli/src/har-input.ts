/** A browser request as input (a HAR file, `--pick`/`--match`), shared by `import-har`, `refresh` and `add`. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DdmError, errnoOf, type Har, type ImportedRequest, type PickedDownload, readHar, redactUrl } from '@ddm/core';
import type { Context } from './context.ts';
import { parseIntFlag } from './job-options.ts';

/**
 * Reads and parses a HAR file.
 * @throws DdmError ERR_NOT_FOUND (missing file), ERR_IO (unreadable), ERR_HAR (not JSON, not a
 *   HAR, no entries).
 */
export function readHarFile(file: string): Har {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = errnoOf(cause);
    if (code === 'ENOENT') throw new DdmError(`HAR file not found: ${path}`, { code: 'ERR_NOT_FOUND', cause });
    if (code === 'EISDIR') throw new DdmError(`Not a HAR file but a folder: ${path}`, { code: 'ERR_HAR', cause });
    throw new DdmError(`Cannot read the HAR file: ${path}`, { code: 'ERR_IO', cause });
  }
  return readHar(text);
}

/** `--pick` / `--match` as PickOptions. */
export function pickOptions(flags: { pick?: string | number; match?: string | number }) {
  const match = flags.match === undefined ? undefined : String(flags.match);
  if (match === '') throw new DdmError('--match needs some text', { code: 'ERR_USAGE' });
  const pick = flags.pick === undefined ? undefined : parseIntFlag('--pick', flags.pick, 0, Number.MAX_SAFE_INTEGER);
  return { pick, match };
}

/**
 * A job whose cookies live in this process only must be downloaded by this process.
 * @throws DdmError ERR_USAGE explaining the choices.
 */
export function assertSecretsCanRun(ctx: Context, request: ImportedRequest, isRunningHere: boolean): void {
  if (request.secrets === null) return;
  if (!isRunningHere) {
    throw new DdmError(
      'Cookies kept in memory would be gone before the job runs: download now with --start, or add --remember-cookies to store them in the job database (mode 0600)',
      { code: 'ERR_USAGE' },
    );
  }
  const other = ctx.store.runningEngine();
  if (other) {
    throw new DdmError(
      `The ddm engine (pid ${other.pid}) running on this database cannot receive cookies kept in memory: add --remember-cookies, or stop it first`,
      { code: 'ERR_USAGE' },
    );
  }
}

/** Human lines describing the chosen entry and the request that will be replayed. */
export function describePick(picked: PickedDownload, request: ImportedRequest): string[] {
  const lines = [`Entry ${picked.entryIndex}: ${picked.method} ${redactUrl(picked.url)}`];
  for (const reason of picked.reasons) lines.push(`  why: ${reason}`);
  if (picked.fileNameHint) lines.push(`  file name: ${picked.fileNameHint}`);
  const names = Object.keys(request.headers);
  lines.push(`  headers replayed: ${names.length > 0 ? names.join(', ') : 'none'}`);
  return lines;
}
