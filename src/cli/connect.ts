import { MigrationClient } from '../client';
import { loadConfig, type AppConfig } from '../config';
import { tracingFor } from '../observability/tracing';
import { CliError, ExitCode } from './exit-codes';

/** Connects the typed client from the environment; an unreachable server is exit code 5 with what to do. */
export async function connectClient(config: AppConfig = loadConfig()): Promise<MigrationClient> {
  const t = config.temporal;
  try {
    // A CLI user waiting on a wrong address wants to know soon.
    // OTEL_EXPORTER_OTLP_ENDPOINT: the command's calls are spans (a migration's trace starts at its StartWorkflow).
    const tracing = tracingFor(config.tracing, 'cli');
    return await MigrationClient.connect({ temporal: t, connectTimeoutMs: 5000, tracing });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${t.address} (namespace ${t.namespace}): ${(err as Error).message}. ` +
        'Start one (`temporal server start-dev`) or set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (and TEMPORAL_API_KEY for Temporal Cloud).',
      ExitCode.UNAVAILABLE,
    );
  }
}

/** Runs `body` with a connected client, and closes it however `body` ends. */
export async function withClient<T>(
  config: AppConfig,
  body: (client: MigrationClient) => Promise<T>,
): Promise<T> {
  const client = await connectClient(config);
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}
