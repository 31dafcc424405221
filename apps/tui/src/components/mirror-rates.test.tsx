import { afterEach, describe, expect, test } from 'bun:test';
import { cleanup, render } from 'ink-testing-library';
import { makeJob } from '../testing/fake-engine.ts';
import { waitFor } from '../testing/render-sized.ts';
import { JobSummary } from './job-summary.tsx';
import { MirrorRates } from './mirror-rates.tsx';

afterEach(cleanup);

const MiB = 1024 ** 2;
const mirrors = [
  { url: 'http://a.example/x.iso', state: 'usable', rateBytesPerSec: 4 * MiB, bytes: 10, why: null },
  { url: 'http://b.example:8080/x.iso', state: 'usable', rateBytesPerSec: 1 * MiB, bytes: 5, why: null },
  { url: 'http://c.example/x.iso', state: 'dropped', rateBytesPerSec: 0, bytes: 0, why: 'mirror dropped: gone' },
] as const;

async function frameOf(element: Parameters<typeof render>[0]): Promise<string> {
  const { lastFrame } = render(element);
  await waitFor(
    () => lastFrame() !== undefined,
    () => 'the first frame',
  );
  return Bun.stripANSI(lastFrame() ?? '');
}

describe('MirrorRates', () => {
  test('shows each mirror by host with its rate, a dropped one as dropped', async () => {
    const frame = await frameOf(<MirrorRates mirrors={mirrors} isColor={false} />);
    expect(frame).toBe('  mirrors a.example 4.0 MiB/s · b.example:8080 1.0 MiB/s · c.example dropped');
  });

  test('shows nothing for a job with a single URL', async () => {
    const { lastFrame } = render(<MirrorRates mirrors={[]} isColor={false} />);
    expect(lastFrame() ?? '').toBe('');
  });

  test('the job summary ends with the mirror rates', async () => {
    const job = makeJob({ id: 3, fileName: 'x.iso', sizeBytes: 4 * MiB, doneBytes: MiB, mirrors });
    const frame = await frameOf(<JobSummary job={job} width={200} isColor={false} />);
    expect(frame).toContain('#3 x.iso downloading');
    expect(frame).toEndWith('mirrors a.example 4.0 MiB/s · b.example:8080 1.0 MiB/s · c.example dropped');
  });
});
