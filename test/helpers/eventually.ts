/**
 * Polls `probe` until it answers a value (anything but `undefined` or `false`), for what is eventually consistent:
 * Temporal visibility, a workflow reaching its approval gate. A probe that throws counts as "not yet"; on timeout
 * its last error is the cause.
 *
 *   const listed = await eventually(async () => (await client.list({ instanceId })).at(0), 'the migration listed');
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const value = await probe().catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
