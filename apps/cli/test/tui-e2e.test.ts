/**
 * `ddm tui` in a real pseudo-terminal (tmux) against a real local server: the heatmap appears,
 * `p` pauses (the server sees no more bytes), `p` resumes, `q` exits and the terminal leaves
 * the alternate screen. And when its engine cannot run, it says why and exits non-zero.
 */
import { Database } from 'bun:sqlite';
import { expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBody, startTestServer, waitFor } from '@ddm/core/testing';
import { cliHome, MAIN, sha256File } from './cli-harness.ts';

const hasTmux = Bun.which('tmux') !== null;
const MiB = 1024 * 1024;

function tmux(...args: string[]): string {
  const result = Bun.spawnSync(['tmux', ...args], { stdout: 'pipe', stderr: 'pipe' });
  return result.stdout.toString();
}

test.skipIf(!hasTmux)(
  'ddm tui: heatmap, p pauses at the server, p resumes, q restores the terminal',
  async () => {
    const body = generatedBody(24 * MiB, 41);
    await using server = await startTestServer({
      files: [{ path: '/tui.bin', body, knobs: { throttleBytesPerSec: 1 * MiB } }],
    });
    using cli = cliHome();
    expect((await cli.run(['add', server.url('/tui.bin'), '-x', '4', '-d', cli.dir])).exitCode).toBe(0);
    const session = `ddm-tui-${process.pid}-${Date.now()}`;
    const binary =
      process.env.DDM_TEST_BINARY && existsSync(process.env.DDM_TEST_BINARY) ? process.env.DDM_TEST_BINARY : null;
    const command = binary ? `'${binary}' tui` : `bun '${MAIN}' tui`;
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '120',
      '-y',
      '40',
      // The shell keeps the pane open after ddm exits, so the test reads what it printed.
      `env DDM_HOME='${cli.home}' NO_COLOR=1 ${command}; echo EXIT=$?; sleep 60`,
    );
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    const paneFlag = (flag: string) => tmux('display-message', '-p', '-t', session, `#{${flag}}`).trim();
    try {
      await waitFor(() => paneFlag('alternate_on') === '1', { timeoutMs: 15_000, what: 'alternate screen' });
      await waitFor(
        () => /tui\.bin/.test(screen()) && /[█▓▒░▸]/.test(screen()) && server.bytesServed('/tui.bin') > MiB,
        {
          timeoutMs: 20_000,
          what: 'heatmap with progress',
        },
      );

      tmux('send-keys', '-t', session, 'p');
      await waitFor(() => /paused/.test(screen()), { timeoutMs: 5_000, what: 'paused state on screen' });
      const pausedAt = server.now();
      await Bun.sleep(2500); // an observation window, not synchronisation
      expect(server.bytesServed('/tui.bin', pausedAt + 1000, server.now())).toBe(0);

      const before = server.bytesServed('/tui.bin');
      tmux('send-keys', '-t', session, 'p');
      await waitFor(() => server.bytesServed('/tui.bin') > before + 256 * 1024, {
        timeoutMs: 10_000,
        what: 'bytes after resume',
      });

      tmux('send-keys', '-t', session, 'q');
      await waitFor(() => /^EXIT=0$/m.test(screen()), { timeoutMs: 10_000, what: 'ddm tui to exit' });
      expect(paneFlag('alternate_on')).toBe('0');
      // It says what happens to the unfinished job.
      expect(screen()).toContain('1 unfinished job checkpointed: ddm run continues them');
    } finally {
      tmux('kill-session', '-t', session);
    }
    // q checkpointed the job; ddm run finishes it with the right bytes.
    const ran = await cli.run(['run']);
    expect(ran.exitCode).toBe(0);
    expect(await sha256File(join(cli.dir, 'tui.bin'))).toBe(body.sha256Hex());
  },
  90_000,
);

test.skipIf(!hasTmux)(
  'ddm tui whose engine cannot run shows the error on the restored terminal and exits non-zero',
  async () => {
    using cli = cliHome();
    // `run` creates the DB (`status` creates nothing).
    expect((await cli.run(['run'])).exitCode).toBe(0);
    // A damaged job DB: it opens, but the engine's first statement in run() fails.
    const db = new Database(join(cli.home, 'ddm.db'));
    db.run('DROP TABLE live');
    db.close();
    const session = `ddm-tui-fail-${process.pid}-${Date.now()}`;
    const binary =
      process.env.DDM_TEST_BINARY && existsSync(process.env.DDM_TEST_BINARY) ? process.env.DDM_TEST_BINARY : null;
    const command = binary ? `'${binary}' tui` : `bun '${MAIN}' tui`;
    // The shell keeps the pane open after ddm exits, so the test can read what the user sees.
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '100',
      '-y',
      '30',
      `env DDM_HOME='${cli.home}' NO_COLOR=1 ${command}; echo EXIT=$?; sleep 60`,
    );
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    try {
      await waitFor(() => /^EXIT=\d+$/m.test(screen()), { timeoutMs: 15_000, what: 'ddm tui to exit' });
      const text = screen();
      expect(text).toContain('no such table: live');
      expect(text).not.toMatch(/^EXIT=0$/m);
      expect(tmux('display-message', '-p', '-t', session, '#{alternate_on}').trim()).toBe('0');
    } finally {
      tmux('kill-session', '-t', session);
    }
  },
  30_000,
);

test.skipIf(!hasTmux)(
  'ddm tui attached to a running engine: the header says attached once; q leaves the job running there',
  async () => {
    const body = generatedBody(16 * MiB, 43);
    await using server = await startTestServer({
      files: [{ path: '/attached.bin', body, knobs: { throttleBytesPerSec: 512 * 1024 } }],
    });
    using cli = cliHome();
    expect((await cli.run(['add', server.url('/attached.bin'), '-c', '2', '-d', cli.dir])).exitCode).toBe(0);
    const engine = cli.spawn(['run']);
    const session = `ddm-tui-attached-${process.pid}-${Date.now()}`;
    try {
      await waitFor(() => server.bytesServed('/attached.bin') > 0, { timeoutMs: 15_000, what: 'ddm run to download' });
      tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        '120',
        '-y',
        '40',
        `env DDM_HOME='${cli.home}' NO_COLOR=1 bun '${MAIN}' tui; echo EXIT=$?; sleep 60`,
      );
      const screen = () => tmux('capture-pane', '-p', '-t', session);
      await waitFor(() => /attached\.bin/.test(screen()), { timeoutMs: 15_000, what: 'the attached dashboard' });
      const header = screen().split('\n')[0] ?? '';
      expect(header).toStartWith(`ddm [attached to engine pid ${engine.pid}]`);
      expect(screen().match(/attached to/g)).toHaveLength(1);

      tmux('send-keys', '-t', session, 'q');
      await waitFor(() => /^EXIT=0$/m.test(screen()), { timeoutMs: 10_000, what: 'ddm tui to exit' });
      expect(screen()).toContain(`1 unfinished job keep running in the ddm engine (pid ${engine.pid})`);
      const before = server.bytesServed('/attached.bin');
      await waitFor(() => server.bytesServed('/attached.bin') > before + 256 * 1024, {
        timeoutMs: 10_000,
        what: 'the engine to go on downloading',
      });
    } finally {
      tmux('kill-session', '-t', session);
      engine.kill();
      await engine.exited;
    }
  },
  60_000,
);
