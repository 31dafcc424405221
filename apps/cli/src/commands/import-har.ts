import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import type { JobFlags } from '../job-options.ts';
import type { Output } from '../output.ts';

export interface ImportHarFlags extends JobFlags {
  list?: boolean;
  pick?: string | number;
  match?: string;
  allowCookies?: boolean;
  rememberCookies?: boolean;
  start?: boolean;
}

/** `ddm import-har <file>`: pick the download in a browser's HAR export and queue it with its request context. */
export async function importHarCommand(
  _ctx: Context,
  _out: Output,
  _file: string,
  _flags: ImportHarFlags,
): Promise<ExitCode> {
  throw new DdmError('ddm import-har is not implemented yet', { code: 'ERR_USAGE' });
}
