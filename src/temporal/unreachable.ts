/**
 * Temporal did not answer at the configured address: the worker's and the CLI's first contact, with what to set. The
 * CLI exits 5 (UNAVAILABLE) on it.
 */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly address: string,
    readonly namespace: string,
    cause: unknown,
  ) {
    super(
      `cannot reach Temporal at ${address} (namespace ${namespace}): ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Start one (`temporal server start-dev`) or set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (and TEMPORAL_API_KEY for Temporal Cloud).',
      { cause },
    );
    this.name = 'TemporalUnreachableError';
  }
}

/** Runs a first connection to Temporal; its failure becomes a TemporalUnreachableError naming the address. */
export async function reachTemporal<T>(
  settings: { address: string; namespace: string },
  connect: () => Promise<T>,
): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    throw new TemporalUnreachableError(settings.address, settings.namespace, err);
  }
}
