// Shared by every test file that needs Temporal. Usage:
//   let temporal: TestTemporal;
//   before(async () => { temporal = await startTestTemporal(); });
//   after(() => temporal?.stop());
import { Client, Connection } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { startDevServer, type DevServer, type DevServerOptions } from '../../src/temporal/dev-server';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { createTimeSkippingEnvironment } from '../../src/temporal/time-skipping';

export interface TestTemporal {
  server: DevServer;
  client: Client;
  /** For `Worker.create({ connection: nativeConnection, namespace: server.namespace, ... })`. */
  nativeConnection: NativeConnection;
  /** Closes the connections, then stops the server (if this helper started it). */
  stop(): Promise<void>;
}

/**
 * A real Temporal server for a test file: the one at TEMPORAL_TEST_ADDRESS (namespace TEMPORAL_TEST_NAMESPACE, default
 * `default`) when set, else a fresh dev server on free ports. Either way the project's search attributes exist.
 * A test that needs the Web UI (`ui: true`) always gets a dev server of its own: the shared one may serve none.
 */
export async function startTestTemporal(opts: DevServerOptions = {}): Promise<TestTemporal> {
  quietRuntime();
  const shared = process.env.TEMPORAL_TEST_ADDRESS && !opts.ui;
  const server = shared ? await existingServer() : await startDevServer(opts);
  try {
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace });
    return {
      server,
      client,
      nativeConnection,
      stop: async () => {
        await nativeConnection.close();
        await connection.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The time-skipping test server (installed `temporal-test-server`). Call `teardown()` when done. */
export function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return createTimeSkippingEnvironment();
}

async function existingServer(): Promise<DevServer> {
  const address = process.env.TEMPORAL_TEST_ADDRESS!;
  const namespace = process.env.TEMPORAL_TEST_NAMESPACE ?? 'default';
  const connection = await Connection.connect({ address });
  try {
    await ensureSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  // Not ours to stop.
  return { address, namespace, stop: async () => undefined };
}

/**
 * Core logs at INFO drown test output. The Runtime is a per-process singleton that is dropped when the last
 * Worker or connection closes, so install it again whenever it is gone; if one is alive, keep it (the first
 * caller's level wins).
 */
export function quietRuntime(level: LogLevel = 'WARN'): void {
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err; // already installed or instantiated: keep it
  }
}
