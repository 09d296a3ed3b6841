/** Polls `condition` until it holds (returns a value other than false/undefined) or the deadline passes. */
export async function waitFor<T>(
  condition: () => T | false | undefined | Promise<T | false | undefined>,
  { timeoutMs = 5000, intervalMs = 5, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
