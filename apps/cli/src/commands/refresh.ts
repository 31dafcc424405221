import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

export interface RefreshFlags {
  url?: string;
  har?: string;
  pick?: string | number;
  match?: string;
  allowCookies?: boolean;
  rememberCookies?: boolean;
}

/** `ddm refresh <id> --url <new> | --har <file>`: give a job a new URL/request for the same resource. */
export async function refreshCommand(
  _ctx: Context,
  _out: Output,
  _id: string | number,
  _flags: RefreshFlags,
): Promise<ExitCode> {
  throw new DdmError('ddm refresh is not implemented yet', { code: 'ERR_USAGE' });
}
