/**
 * Entry for `bun scripts/build.ts --smoke`: proves a compiled binary can render Ink (with the
 * react-devtools-core stub) and reach `@ddm/tui` through a dynamic import, as the CLI's `tui`
 * command does. Prints one line per step; the TUI part quits itself with SIGTERM.
 */
import type { EngineController, EngineSnapshot } from '@ddm/core';
import { render, Text } from 'ink';

const ink = render(<Text>ddm build smoke</Text>, { patchConsole: false, interactive: false });
ink.unmount();
await ink.waitUntilExit();
console.log('ink rendered');

const { runTui } = await import('@ddm/tui');
console.log('tui loaded');

const snapshot: EngineSnapshot = {
  at: Date.now(),
  jobs: [],
  activeJobs: 0,
  rateBytesPerSec: 0,
  connections: 0,
  limitBytesPerSec: null,
  isAttached: false,
};
const idle = async (): Promise<void> => {};
const controller: EngineController = {
  snapshot: () => snapshot,
  subscribe: () => () => {},
  add: async () => 1,
  pause: idle,
  resume: idle,
  cancel: idle,
  remove: idle,
  setConnections: idle,
  setLimit: idle,
};
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 500);
await runTui(controller, { title: 'ddm smoke' });
console.log('tui quit on SIGTERM');
