/** aria2's WebSocket notifications from ddm's engine events. Pure. */
import type { EngineEvent } from '@ddm/core';
import { gidOf } from './gid.ts';

export interface Notification {
  jsonrpc: '2.0';
  method: string;
  params: [{ gid: string }];
}

/**
 * The notification an event stands for, or null. A download starts when it leaves the queue
 * (a restart inside a running job is not a new start); canceling is aria2's "stop".
 */
export function notificationFor(event: EngineEvent): Notification | null {
  if (event.type !== 'job-state') return null;
  const method = methodFor(event.from, event.to);
  return method === null ? null : { jsonrpc: '2.0', method, params: [{ gid: gidOf(event.jobId) }] };
}

function methodFor(from: string, to: string): string | null {
  switch (to) {
    case 'probing':
      return from === 'queued' ? 'aria2.onDownloadStart' : null;
    case 'paused':
      return 'aria2.onDownloadPause';
    case 'canceled':
      return 'aria2.onDownloadStop';
    case 'completed':
      return 'aria2.onDownloadComplete';
    case 'failed':
      return 'aria2.onDownloadError';
    default:
      return null;
  }
}
