/**
 * The worker: the composition root. It builds the cloud clients, the SSH runner and the activities, connects to
 * Temporal and polls the migration task queue. Credentials (Alibaba Cloud keys, SSH keys, the Temporal API key)
 * live only here: they never enter workflow inputs, results, history or logs.
 *
 *   ALIBABA_CLOUD_REGION_ID=cn-hangzhou eni-migrate worker        (or: node lib/worker.js)
 */
import type Credential from '@alicloud/credentials';
import { Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from './activities';
import { dataConverterFor } from './codec/payload-codec';
import { createCloudApis } from './cloud/clients';
import {
  ConfigError,
  describeConfig,
  loadConfig,
  requireRegion,
  taskQueueFor,
  temporalConnectionOptions,
  type AppConfig,
} from './config';
import { loadGuestScripts } from './guest-scripts';
import { createSshRunner } from './ssh';
import { ensureSearchAttributes } from './temporal';
import { loadWorkflowBundle } from './workflow-bundle';

export interface RunWorkerOptions {
  /** Default: loadConfig() (the environment). */
  config?: AppConfig;
  /**
   * Alibaba Cloud credential. Default: @alicloud/credentials' default chain (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET,
   * profiles, RAM roles). The demo passes the local cloud's key pair here.
   */
  credential?: Credential;
  /** Stops the worker when aborted. Default: SIGINT / SIGTERM. */
  signal?: AbortSignal;
  /** Where progress lines go (default stderr). Never receives a secret. */
  log?: (line: string) => void;
  /** A workflow bundle (tests build it once); default: lib/workflows.bundle.js when current (see workflow-bundle.ts). */
  workflowBundle?: WorkflowBundleOption;
  /** Register missing search attributes on start (default true). */
  registerSearchAttributes?: boolean;
}

export interface MigrationWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Closes the connection; call after the worker has stopped. */
  close(): Promise<void>;
}

const stderrLog = (line: string): void => void process.stderr.write(`${line}\n`);

/** Builds everything and returns a Worker ready to run (tests and the demo drive it with runUntil or run). */
export async function createMigrationWorker(options: RunWorkerOptions = {}): Promise<MigrationWorker> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? stderrLog;
  const regionId = requireRegion(config.cloud);
  log(`eni-migrate worker: ${JSON.stringify(describeConfig(config))}`);
  // Validated before anything connects: a bad file stops the worker with the file, the script and the fault named.
  const guestScripts = loadGuestScripts(config.guestScriptsPath);
  log(`eni-migrate worker: guest scripts ${guestScripts.names().join(', ')}`);

  const { ecs, vpc } = createCloudApis({
    regionId,
    ecsEndpoint: config.cloud.ecsEndpoint,
    vpcEndpoint: config.cloud.vpcEndpoint,
    credential: options.credential,
  });
  const ssh = createSshRunner({
    sshConfigPath: config.ssh.sshConfigPath,
    user: config.ssh.user,
    privateKeyPath: config.ssh.privateKeyPath,
  });
  const activities = createActivities({
    ecs,
    vpc,
    ssh,
    guestScripts,
    pollIntervalMs: config.pollIntervalMs,
  });

  const connectionOptions = temporalConnectionOptions(config.temporal);
  if (options.registerSearchAttributes ?? true) {
    await registerSearchAttributes(connectionOptions, config.temporal.namespace, log);
  }

  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: taskQueueFor(regionId, config.temporal.taskQueue),
      workflowBundle: options.workflowBundle ?? (await loadWorkflowBundle(log)),
      activities,
      // Payload encryption (ENI_MIGRATE_PAYLOAD_KEY): the codec runs outside the workflow sandbox, on every payload.
      ...withDataConverter(config.temporal.payloadKeys),
    });
    return { worker, connection, close: () => connection.close() };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

function withDataConverter(keys: AppConfig['temporal']['payloadKeys']) {
  const dataConverter = dataConverterFor(keys);
  return dataConverter ? { dataConverter } : {};
}

/** Runs the worker until the signal aborts (default: SIGINT / SIGTERM), then shuts it down gracefully. */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const log = options.log ?? stderrLog;
  const { worker, close } = await createMigrationWorker(options);
  const stop = (why: string) => {
    if (worker.getState() !== 'RUNNING') return;
    log(
      `eni-migrate worker: ${why}, shutting down (running activities are cancelled; their retries resume from the last heartbeat)`,
    );
    worker.shutdown();
  };
  const onSignal = (signal: NodeJS.Signals) => stop(`received ${signal}`);
  const onAbort = () => stop('stop requested');
  if (options.signal) {
    if (options.signal.aborted) onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
  } else {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const run = worker.run();
    // The signal may have fired between create and run.
    if (options.signal?.aborted) onAbort();
    log(`eni-migrate worker: polling task queue ${worker.options.taskQueue}`);
    await run;
    log('eni-migrate worker: stopped');
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}

/**
 * A plain `temporal server start-dev` lacks the project's search attributes; register them. Where we may not
 * (Temporal Cloud: the API key usually lacks the operator role), say exactly what to do and carry on: the
 * attributes may already exist there.
 */
async function registerSearchAttributes(
  connectionOptions: ReturnType<typeof temporalConnectionOptions>,
  namespace: string,
  log: (line: string) => void,
): Promise<void> {
  const connection = await Connection.connect(connectionOptions);
  try {
    const result = await ensureSearchAttributes(connection, namespace);
    if (result === 'registered')
      log(`eni-migrate worker: registered search attributes in namespace ${namespace}`);
  } catch (err) {
    log(`eni-migrate worker: WARNING: ${(err as Error).message}`);
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    process.stderr.write(
      `eni-migrate worker: ${err instanceof ConfigError ? '' : 'failed: '}${(err as Error).message}\n`,
    );
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
