import { MigrationClient } from '../client';
import { loadConfig, type AppConfig } from '../config';
import { tracingFor } from '../observability/tracing';
import { reachTemporal } from '../temporal/unreachable';

/** Connects the typed client from the environment; an unreachable server is exit code 5 with what to do. */
export async function connectClient(config: AppConfig = loadConfig()): Promise<MigrationClient> {
  const t = config.temporal;
  // OTEL_EXPORTER_OTLP_ENDPOINT: the command's calls are spans (a migration's trace starts at its StartWorkflow).
  const tracing = tracingFor(config.tracing, 'cli');
  // A CLI user waiting on a wrong address wants to know soon; toCliError makes the failure exit code 5.
  return reachTemporal(t, () => MigrationClient.connect({ temporal: t, connectTimeoutMs: 5000, tracing }));
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
