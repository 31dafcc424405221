/** Runs a UI {@link Command} on the engine and turns the outcome into a status line. */
import type { EngineController } from '@ddm/core';
import { formatLimit } from './format.ts';
import type { Command, StatusMessage } from './key-map.ts';

/** `"ERR_HTTP_STATUS: Server answered 404: GET <url>"` for typed errors, else the message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Awaits `call` (which may also throw synchronously) and describes the outcome. */
async function attempt(
  what: string,
  call: () => Promise<unknown>,
  done: (value: unknown) => string,
): Promise<StatusMessage> {
  try {
    const value = await call();
    return { tone: 'info', text: done(value) };
  } catch (error) {
    return { tone: 'error', text: `${what} failed: ${errorText(error)}` };
  }
}

/**
 * Calls the controller for `command`. Never rejects: a failed call becomes an error status.
 * `quit` is not an engine call; the caller handles it before coming here.
 */
export function executeCommand(
  controller: EngineController,
  command: Exclude<Command, { type: 'quit' }>,
): Promise<StatusMessage> {
  switch (command.type) {
    case 'add':
      return attempt(
        'add',
        () => controller.add(command.url),
        (jobId) => `added #${String(jobId)}`,
      );
    case 'pause':
      return attempt(
        `pause #${command.jobId}`,
        () => controller.pause(command.jobId),
        () => `paused #${command.jobId}`,
      );
    case 'resume':
      return attempt(
        `resume #${command.jobId}`,
        () => controller.resume(command.jobId),
        () => `resumed #${command.jobId}`,
      );
    case 'cancel':
      return attempt(
        `cancel #${command.jobId}`,
        () => controller.cancel(command.jobId),
        () => `canceled #${command.jobId}`,
      );
    case 'remove':
      return attempt(
        `remove #${command.jobId}`,
        () => controller.remove(command.jobId, { deleteFiles: command.deleteFiles }),
        () => (command.deleteFiles ? `removed #${command.jobId} and deleted its files` : `removed #${command.jobId}`),
      );
    case 'set-connections':
      return attempt(
        `connections of #${command.jobId}`,
        () => controller.setConnections(command.jobId, command.connections),
        () => `#${command.jobId} may use ${command.connections} connections`,
      );
    case 'set-limit': {
      const subject = command.jobId === null ? 'global limit' : `limit of #${command.jobId}`;
      return attempt(
        subject,
        () => controller.setLimit(command.jobId, command.bytesPerSec),
        () => `${subject}: ${formatLimit(command.bytesPerSec)}`,
      );
    }
    default: {
      const unhandled: never = command;
      return Promise.resolve({ tone: 'error', text: `unknown command ${JSON.stringify(unhandled)}` });
    }
  }
}
