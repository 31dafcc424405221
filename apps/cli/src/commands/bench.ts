import { DdmError } from '@ddm/core';
import type { Context } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

/** `ddm bench <url> [--max 16]`: measure 1..N connections against the host and remember the best. */
export async function benchCommand(
  _ctx: Context,
  _out: Output,
  _url: string,
  _flags: { max?: string | number },
): Promise<ExitCode> {
  throw new DdmError('ddm bench is not implemented yet', { code: 'ERR_USAGE' });
}
