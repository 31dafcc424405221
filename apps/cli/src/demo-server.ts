/**
 * The synthetic files of `ddm demo`, on loopback. Every response is capped per connection, so
 * the full demo runs for over 20 seconds: long enough to watch a file split across
 * connections, a slow connection's range taken over, a server that answers 503 before it
 * works, and a pause and resume. `--quick` shrinks the same scenario to a few seconds (tests).
 */
import { generatedBody, startTestServer, type TestServer } from '@ddm/core/testing';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What a demo file is there to show; the demo's script acts on some of them (pause). */
export type DemoRole = 'split' | 'no-ranges' | 'retry' | 'pause';

export interface DemoFile {
  readonly role: DemoRole;
  readonly url: string;
  /** Connections the demo asks for. */
  readonly connections: number;
}

export interface DemoServer extends AsyncDisposable {
  /** In the order the demo adds them: the first is the one to watch. */
  readonly files: readonly DemoFile[];
  stop(): Promise<void>;
}

/** Sizes and per-connection caps of one demo run. */
interface Scenario {
  readonly splitBytes: number;
  readonly splitRate: number;
  readonly slowRate: number;
  readonly noRangesBytes: number;
  readonly noRangesRate: number;
  readonly retryBytes: number;
  readonly retryRate: number;
  readonly pauseBytes: number;
  readonly pauseRate: number;
}

/**
 * Full: 64 MiB at 512 KiB/s per connection sets the pace: 4 connections until a quarter is in,
 * then 8 (the script raises them, so running ranges are split), about 21 s. One request is held
 * at 96 KiB/s, so the engine restarts it as a laggard. Quick: the same shapes in about 4 s.
 */
const SCENARIOS: Record<'full' | 'quick', Scenario> = {
  full: {
    splitBytes: 64 * MiB,
    splitRate: 512 * KiB,
    slowRate: 96 * KiB,
    noRangesBytes: 8 * MiB,
    noRangesRate: 512 * KiB,
    retryBytes: 16 * MiB,
    retryRate: 1 * MiB,
    pauseBytes: 16 * MiB,
    pauseRate: 1 * MiB,
  },
  quick: {
    splitBytes: 4 * MiB,
    splitRate: 512 * KiB,
    slowRate: 96 * KiB,
    noRangesBytes: 512 * KiB,
    noRangesRate: 1 * MiB,
    retryBytes: 1 * MiB,
    retryRate: 2 * MiB,
    pauseBytes: 2 * MiB,
    pauseRate: 512 * KiB,
  },
};

/**
 * Starts the demo's servers: one for the split, no-ranges and pause files, and one (another
 * port, so another host to the engine) for the file that answers 503 three times: the engine
 * lowers its connections to a host that answers 503, and that must not slow the other files.
 */
export async function startDemoServer(options: { isQuick?: boolean } = {}): Promise<DemoServer> {
  const s = SCENARIOS[options.isQuick ? 'quick' : 'full'];
  const main = await startTestServer({
    files: [
      {
        path: '/split-across-connections.bin',
        body: generatedBody(s.splitBytes, 11),
        knobs: { throttleBytesPerSec: s.splitRate, slowRequest: { nth: 3, bytesPerSec: s.slowRate } },
      },
      {
        path: '/no-range-support.bin',
        body: generatedBody(s.noRangesBytes, 13),
        knobs: { noRanges: true, throttleBytesPerSec: s.noRangesRate },
      },
      {
        path: '/paused-then-resumed.bin',
        body: generatedBody(s.pauseBytes, 15),
        knobs: { throttleBytesPerSec: s.pauseRate },
      },
    ],
  });
  let flaky: TestServer;
  try {
    flaky = await startTestServer({
      files: [
        {
          path: '/503-then-fine.bin',
          body: generatedBody(s.retryBytes, 14),
          knobs: { failFirst: { count: 3, status: 503, retryAfter: '1' }, throttleBytesPerSec: s.retryRate },
        },
      ],
    });
  } catch (error) {
    await main.stop();
    throw error;
  }
  const stop = async (): Promise<void> => {
    await Promise.all([main.stop(), flaky.stop()]);
  };
  return {
    files: [
      { role: 'split', url: main.url('/split-across-connections.bin'), connections: 4 },
      { role: 'retry', url: flaky.url('/503-then-fine.bin'), connections: 4 },
      { role: 'pause', url: main.url('/paused-then-resumed.bin'), connections: 2 },
      { role: 'no-ranges', url: main.url('/no-range-support.bin'), connections: 8 },
    ],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
