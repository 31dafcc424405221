/**
 * The TUI in a real terminal: tmux runs the demo engine (testing/demo.ts) and the test reads the
 * screen and tmux's own view of the terminal state (alternate screen, cursor). Skipped where
 * tmux is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './testing/render-sized.ts';

const hasTmux = Bun.which('tmux') !== null;
const socket = `ddm-tui-test-${process.pid}`;
const demo = new URL('./testing/demo.ts', import.meta.url).pathname;
let work = '';

function tmux(...args: string[]): string {
  const result = Bun.spawnSync(['tmux', '-L', socket, ...args], { stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

const screen = (session: string): string => tmux('capture-pane', '-p', '-t', session);
const terminalState = (session: string) => {
  const [alternate, cursor] = tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag}')
    .trim()
    .split(' ');
  return { isAlternateScreen: alternate === '1', isCursorVisible: cursor === '1' };
};

async function waitForScreen(session: string, predicate: (text: string) => boolean): Promise<string> {
  await waitFor(
    () => predicate(screen(session)),
    () => `the screen; it shows:\n${screen(session)}`,
    15_000,
  );
  return screen(session);
}

/** The shell printed the demo's exit status (not just the echoed command line). */
const hasExited = (text: string): boolean => /^EXIT=\d+$/m.test(text);

async function startDemo(session: string): Promise<string> {
  const pidFile = join(work, `${session}.pid`);
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', 'bash --norc --noprofile');
  tmux('send-keys', '-t', session, `echo BEFORE-TUI; DDM_DEMO_PID_FILE=${pidFile} bun ${demo}; echo EXIT=$?`, 'Enter');
  await waitForScreen(session, (text) => text.includes('ddm demo'));
  return pidFile;
}

describe.skipIf(!hasTmux)('TUI in tmux', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ddm-tui-tmux-'));
  });
  afterAll(() => {
    // Only this test's own tmux server, on its own socket.
    Bun.spawnSync(['tmux', '-L', socket, 'kill-server'], { stdout: 'ignore', stderr: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  test('full screen on the alternate screen, fits resizes, q restores the terminal', async () => {
    const session = 'quit';
    await startDemo(session);
    expect(terminalState(session)).toEqual({ isAlternateScreen: true, isCursorVisible: false });
    const first = screen(session);
    expect(first).not.toContain('BEFORE-TUI');
    expect(first.split('\n')[23]).toContain('q quit');

    // A terminal reflows its content on resize before the app redraws: wait for a whole frame,
    // header on the first row and key hints on the last.
    const isFrame = (rows: number, hint: string) => (text: string) => {
      const lines = text.split('\n');
      return (lines[0] ?? '').startsWith('ddm demo') && (lines[rows - 1] ?? '').includes(hint);
    };
    tmux('resize-window', '-t', session, '-x', '100', '-y', '30');
    const large = await waitForScreen(session, isFrame(30, 'q quit'));
    expect(large).toContain('ubuntu-24.04-desktop-amd64.iso');
    tmux('resize-window', '-t', session, '-x', '60', '-y', '14');
    const small = await waitForScreen(session, isFrame(14, 'p pause'));
    expect(small.split('\n').every((line) => line.length <= 60)).toBe(true);

    tmux('send-keys', '-t', session, 'q');
    const after = await waitForScreen(session, hasExited);
    expect(after).toContain('BEFORE-TUI');
    expect(after).toContain('demo: quit\nEXIT=0');
    expect(terminalState(session)).toEqual({ isAlternateScreen: false, isCursorVisible: true });
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${signal} restores the terminal and ends cleanly`, async () => {
      const session = signal.toLowerCase();
      const pidFile = await startDemo(session);
      const pid = Number(await Bun.file(pidFile).text());
      process.kill(pid, signal);
      const after = await waitForScreen(session, hasExited);
      expect(after).toContain('demo: quit\nEXIT=0');
      expect(terminalState(session)).toEqual({ isAlternateScreen: false, isCursorVisible: true });
    });
  }
});
