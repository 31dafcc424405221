/**
 * JSON-RPC 2.0 envelopes as aria2 1.36 answers them, independent of the transport: single
 * requests, batches and `system.multicall`, with aria2's error codes and HTTP statuses (checked
 * against aria2c: a method error is code 1 with HTTP 400, a parse error -32700 with HTTP 500, an
 * invalid request -32600 with HTTP 400; a multicall wraps each success in an array and answers a
 * failed entry with a fault object). Nothing here throws: every input becomes an answer.
 */

/** aria2's code for every method-level error ("GID ... is not found", "Unauthorized", bad params). */
export const ARIA2_ERROR = 1;
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/** An error a method answers with; `code` is the JSON-RPC error code (aria2 uses 1). */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    message: string,
    readonly code: number = ARIA2_ERROR,
  ) {
    super(message);
  }
}

/** Runs one method call; throws RpcError (or any error, answered as code 1) on failure. */
export type Dispatch = (method: string, params: unknown[]) => Promise<unknown>;

export interface RpcReply {
  /** The JSON value to send back (an object, or an array for a batch). */
  body: unknown;
  httpStatus: number;
}

type Id = string | number | null;

function fault(error: unknown): { code: number; message: string } {
  if (error instanceof RpcError) return { code: error.code, message: error.message };
  return { code: ARIA2_ERROR, message: error instanceof Error ? error.message : String(error) };
}

function errorReply(id: Id, error: unknown): Record<string, unknown> {
  return { id, jsonrpc: '2.0', error: fault(error) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(request: Record<string, unknown>): Id {
  const id = request.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** `system.multicall`: each entry runs on its own; successes are wrapped in a one-element array. */
async function multicall(params: unknown[], dispatch: Dispatch): Promise<unknown> {
  const calls = params[0];
  if (!Array.isArray(calls)) throw new RpcError('The parameter at 0 has wrong type.');
  const results: unknown[] = [];
  for (const call of calls) {
    try {
      if (!isRecord(call) || typeof call.methodName !== 'string') throw new RpcError('Missing methodName.');
      if (call.params !== undefined && !Array.isArray(call.params)) throw new RpcError('params must be a list.');
      if (call.methodName === 'system.multicall') throw new RpcError('Recursive system.multicall forbidden.');
      results.push([await dispatch(call.methodName, (call.params as unknown[] | undefined) ?? [])]);
    } catch (error) {
      results.push(fault(error));
    }
  }
  return results;
}

/** Answers one request object (not a batch). */
async function handleOne(request: unknown, dispatch: Dispatch): Promise<{ reply: unknown; isError: boolean }> {
  if (!isRecord(request)) {
    return { reply: errorReply(null, new RpcError('Invalid Request.', INVALID_REQUEST)), isError: true };
  }
  const id = idOf(request);
  if (typeof request.method !== 'string') {
    return { reply: errorReply(id, new RpcError('Invalid Request.', INVALID_REQUEST)), isError: true };
  }
  if (request.params !== undefined && !Array.isArray(request.params)) {
    return { reply: errorReply(id, new RpcError('params must be a list.')), isError: true };
  }
  const params = (request.params as unknown[] | undefined) ?? [];
  try {
    const result =
      request.method === 'system.multicall'
        ? await multicall(params, dispatch)
        : await dispatch(request.method, params);
    return { reply: { id, jsonrpc: '2.0', result }, isError: false };
  } catch (error) {
    return { reply: errorReply(id, error), isError: true };
  }
}

/** Answers an already parsed JSON value: a request object or a batch (array). */
export async function handleValue(value: unknown, dispatch: Dispatch): Promise<RpcReply> {
  if (Array.isArray(value)) {
    const replies: unknown[] = [];
    for (const request of value) replies.push((await handleOne(request, dispatch)).reply);
    return { body: replies, httpStatus: 200 };
  }
  const { reply, isError } = await handleOne(value, dispatch);
  return { body: reply, httpStatus: isError ? 400 : 200 };
}

/** Answers the text of a request body; text that is not JSON is a -32700 parse error (HTTP 500). */
export async function handleText(text: string, dispatch: Dispatch): Promise<RpcReply> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { body: errorReply(null, new RpcError('Parse error.', PARSE_ERROR)), httpStatus: 500 };
  }
  return handleValue(value, dispatch);
}

/**
 * The GET form: `?method=M&id=I&params=<base64 of the JSON params array>` (aria2 echoes the id as
 * a string). A missing method is an invalid request; undecodable params are a parse error.
 */
export async function handleQuery(query: URLSearchParams, dispatch: Dispatch): Promise<RpcReply> {
  const method = query.get('method');
  const id = query.get('id');
  const encoded = query.get('params');
  let params: unknown = [];
  if (encoded !== null) {
    try {
      params = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    } catch {
      return { body: errorReply(id, new RpcError('Parse error.', PARSE_ERROR)), httpStatus: 500 };
    }
  }
  return handleValue({ jsonrpc: '2.0', id, method: method ?? undefined, params }, dispatch);
}
