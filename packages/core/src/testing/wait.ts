/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 10_000 */
  readonly timeoutMs?: number;
  /** Poll interval. @default 5 */
  readonly intervalMs?: number;
  /** Said in the timeout error, after "Timed out waiting for". @default 'condition' */
  readonly what?: string;
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that value; the way
 * tests wait for a server-side fact instead of sleeping.
 *
 * @throws Error `Timed out waiting for <what> after <ms> ms` when the time runs out.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 5, what = 'condition' } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (performance.now() >= deadline) {
      throw new Error(`Timed out waiting for ${what} after ${timeoutMs} ms`);
    }
    await Bun.sleep(intervalMs);
  }
}
