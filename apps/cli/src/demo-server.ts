/** The synthetic files of `ddm demo`: everything ddm can show, on loopback, in about 20 seconds. */
import { generatedBody, startTestServer, type TestServer } from '@ddm/core/testing';

const MiB = 1024 * 1024;

export interface DemoServer {
  server: TestServer;
  urls: string[];
}

export async function startDemoServer(): Promise<DemoServer> {
  const server = await startTestServer({
    files: [
      { path: '/fast.bin', body: generatedBody(96 * MiB, 11) },
      {
        path: '/capped-per-connection.bin',
        body: generatedBody(48 * MiB, 12),
        knobs: { throttleBytesPerSec: 3 * MiB, slowRequest: { nth: 2, bytesPerSec: 256 * 1024 } },
      },
      {
        path: '/no-range-support.bin',
        body: generatedBody(8 * MiB, 13),
        knobs: { noRanges: true, throttleBytesPerSec: 2 * MiB },
      },
      {
        path: '/flaky-then-fine.bin',
        body: generatedBody(24 * MiB, 14),
        knobs: { failFirst: { count: 3, status: 503, retryAfter: '1' }, throttleBytesPerSec: 4 * MiB },
      },
    ],
  });
  return {
    server,
    urls: ['/fast.bin', '/capped-per-connection.bin', '/no-range-support.bin', '/flaky-then-fine.bin'].map((p) =>
      server.url(p),
    ),
  };
}
