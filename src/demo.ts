/**
 * `eni-migrate demo`: the whole product on one machine, with nothing to configure. It starts a real Temporal dev
 * server (Web UI on), the local cloud (ECS + VPC over HTTP, instances that answer SSH) and a worker in this process,
 * migrates the demo VPC as one batch (or, with `batch: false`, every instance by a migration of its own, side by
 * side), prints the progress and the Web UI's link, and ends with the reports.
 * With `encrypt`, every payload is encrypted (the worker's and the client's codec) and a codec server in this process
 * decrypts them for the Web UI, which the dev server is pointed at.
 * Whatever happens (success, failure, Ctrl-C) it stops the worker, the cloud and the server: nothing stays running.
 */
import { randomBytes } from 'node:crypto';
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import { Client, Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { MigrationClient, MigrationClosedError } from './client';
import { BatchClient } from './client/batches';
import { followBatch } from './cli/batch/follow';
import { BatchProgressView, type ProgressOutput } from './cli/batch/progress-view';
import { formatDuration, ProgressPrinter } from './cli/progress';
import { startCodecServer, type CodecServer } from './codec/codec-server';
import { dataConverterFor, EncryptionCodec, type PayloadKeys } from './codec/payload-codec';
import type { AppConfig } from './config';
import { FAST_TIMINGS, startLocalCloud, type LocalCloud } from './local-cloud';
import { runtimeLogging } from './observability/logging';
import { FLEET_SUCCESS, type FleetProgress, type FleetReport } from './shared/fleet';
import { TASK_QUEUE_DEFAULT, type MigrationReport } from './shared/migration';
import { startDevServer, type DevServer } from './temporal';
import { createMigrationWorker, type MigrationWorker } from './worker';

export interface DemoOptions {
  /** Demo instances to create and migrate. Default 3. */
  instances?: number;
  /** Test-speed cloud transitions and polls (a migration in a few seconds instead of about a minute). */
  fast?: boolean;
  /** Serve the Temporal Web UI. Default true. */
  ui?: boolean;
  /** Keep the servers up after the migrations, until Ctrl-C, to look around in the Web UI. */
  keepRunning?: boolean;
  /** Migrate the demo VPC as one batch (default true); false: one migration per instance, side by side. */
  batch?: boolean;
  /**
   * Encrypt every payload (the worker and the client alike) and serve a codec server, on a free loopback port, that
   * the dev server's Web UI decodes them through. Default false.
   */
  encrypt?: boolean;
  /** With `encrypt`: the payload keys (the CLI's ENI_MIGRATE_PAYLOAD_KEY...). Default: a random key for this run. */
  payloadKeys?: PayloadKeys;
  /** Where a batch's progress goes (default: lines through `log`); on a terminal, a live bar. */
  progress?: ProgressOutput;
  /** Progress and status lines (default: stderr). */
  log?: (line: string) => void;
  /** Abort = stop everything now (Ctrl-C). */
  signal?: AbortSignal;
}

/** A migration that ended without a report (the workflow failed, was cancelled...), or a batch that did. */
export interface DemoError {
  /** The instance; absent when the batch itself ended without a report. */
  instanceId?: string;
  workflowId?: string;
  error: string;
}

/** Payload encryption in a demo run: never the key itself. */
export interface DemoEncryption {
  /** The id of the key that encrypts (as each payload's `encryption-key-id` names it). */
  keyId: string;
  /** The key was made up for this run (none configured): it went nowhere, and nothing can read the histories after. */
  randomKey: boolean;
  /** The codec server (the Web UI's codec endpoint). */
  codecServer: string;
}

export interface DemoResult {
  webUi?: string;
  /** With `encrypt`. */
  encryption?: DemoEncryption;
  /** The batch (the default): its workflow id, its page in the Web UI, and its report. */
  batchId?: string;
  batchUi?: string;
  batch?: FleetReport;
  /** A batch that stopped before its end for an operator (paused: a canary or the breaker): where it is. */
  batchProgress?: FleetProgress;
  /** Every migration's own report (in a batch: each child's). */
  reports: MigrationReport[];
  errors: DemoError[];
  durationMs: number;
}

/** Thrown when the demo was interrupted (Ctrl-C); everything has been stopped by then. */
export class DemoInterruptedError extends Error {
  override name = 'DemoInterruptedError';
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const started = Date.now();
  quietTemporalLogs();

  const cleanups: Array<() => Promise<unknown>> = [];
  const starting: Promise<unknown>[] = [];
  const interrupted = new Promise<never>((_, reject) => {
    const abort = () =>
      reject(new DemoInterruptedError('interrupted: stopping the worker, the local cloud and Temporal'));
    if (opts.signal?.aborted) abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
  });
  interrupted.catch(() => undefined);
  // Each start-up step races the interruption, so Ctrl-C during a slow start does not wait for it.
  const step = <T>(work: Promise<T>, stop?: (value: T) => Promise<unknown>): Promise<T> => {
    if (stop)
      starting.push(
        work.then(
          (value) => cleanups.unshift(() => stop(value)),
          () => undefined,
        ),
      );
    return Promise.race([work, interrupted]);
  };

  try {
    // Encryption: the codec server first, so that the dev server's Web UI can be pointed at it.
    const payloadKeys = opts.encrypt
      ? (opts.payloadKeys ?? { current: randomBytes(32), previous: [] })
      : undefined;
    let codecServer: CodecServer | undefined;
    let encryption: DemoEncryption | undefined;
    if (payloadKeys) {
      const codec = new EncryptionCodec(payloadKeys);
      // No origin yet: the Web UI's is known once the dev server runs, on a free port.
      codecServer = await step(startCodecServer({ codec, port: 0, origins: [] }), (s) => s.stop());
      encryption = { keyId: codec.currentKeyId, randomKey: !opts.payloadKeys, codecServer: codecServer.url };
    }

    log('starting Temporal dev server...');
    const server: DevServer = await step(
      startDevServer({
        ui: opts.ui ?? true,
        ...(codecServer ? { uiCodecEndpoint: codecServer.url } : {}),
      }),
      (s) => s.stop(),
    );
    const webUi = server.uiUrl ? `${server.uiUrl}/namespaces/${server.namespace}/workflows` : undefined;
    log(`Temporal ${server.address} (namespace ${server.namespace})${webUi ? `, Web UI: ${webUi}` : ''}`);
    if (codecServer && encryption) {
      if (server.uiUrl) {
        // The browser calls the codec server from the UI's page: as printed (127.0.0.1), or as localhost.
        const ui = new URL(server.uiUrl);
        codecServer.allowOrigin(ui.origin);
        codecServer.allowOrigin(`${ui.protocol}//localhost:${ui.port}`);
      }
      log(
        `payload encryption on: key id ${encryption.keyId} (` +
          (encryption.randomKey
            ? 'a random key for this run, never shown; ENI_MIGRATE_PAYLOAD_KEY sets your own'
            : 'the configured key') +
          `), codec server ${encryption.codecServer}` +
          (webUi ? ' (the Web UI decrypts through it)' : ''),
      );
    }

    const cloud: LocalCloud = await step(
      startLocalCloud({ instances: opts.instances ?? 3, timings: opts.fast ? FAST_TIMINGS : undefined }),
      (c) => c.stop(),
    );
    const instances = (cloud.info().instances as Array<{ instanceId: string; publicIp?: string }>) ?? [];
    log(
      `local cloud ${cloud.url} (region ${cloud.regionId}): ` +
        instances.map((i) => `${i.instanceId}${i.publicIp ? ` @ ${i.publicIp}` : ''}`).join(', '),
    );

    // The worker reaches the local cloud over HTTP like the real one; its key pair stays on the worker.
    const config: AppConfig = {
      temporal: {
        address: server.address,
        namespace: server.namespace,
        taskQueue: TASK_QUEUE_DEFAULT,
        // With keys, the worker encrypts what it writes (results, activities, summaries) and decrypts what it reads.
        ...(payloadKeys ? { payloadKeys } : {}),
      },
      cloud: { regionId: cloud.regionId, ecsEndpoint: cloud.url, vpcEndpoint: cloud.url },
      ssh: { sshConfigPath: cloud.sshConfig, user: cloud.sshUser, privateKeyPath: cloud.sshPrivateKey },
      pollIntervalMs: opts.fast ? 100 : undefined,
      // The demo account's EIP quota (raised for its fleet), as an operator sets ENI_MIGRATE_EIP_QUOTA.
      eipQuota: Number(cloud.info().eipQuota),
    };
    const credential = new Credential(
      new CredentialConfig({
        type: 'access_key',
        accessKeyId: cloud.accessKeyId,
        accessKeySecret: cloud.accessKeySecret,
      }),
    );
    const migrationWorker: MigrationWorker = await step(
      // Waits follow the local cloud's own transition times, as they follow Alibaba Cloud's by default.
      createMigrationWorker({ config, credential, log: () => undefined, transitionMs: cloud.model.timings }),
      async (w) => {
        // Interrupted before it ran: run it for an instant so it shuts down and releases its connection.
        if (w.worker.getState() === 'INITIALIZED')
          await w.worker.runUntil(Promise.resolve()).catch(() => undefined);
        await w.close();
      },
    );

    const connection = await step(Connection.connect({ address: server.address }), (c) => c.close());
    // The client encrypts inputs and decrypts results, queries and progress with the same keys.
    const dataConverter = dataConverterFor(payloadKeys);
    const client = await MigrationClient.connect({
      client: new Client({
        connection,
        namespace: server.namespace,
        ...(dataConverter ? { dataConverter } : {}),
      }),
      temporal: { taskQueue: config.temporal.taskQueue },
    });

    let result: Omit<DemoResult, 'webUi' | 'durationMs'>;
    if (opts.batch ?? true) {
      const vpcId = (cloud.model.snapshot().Vpcs as Array<{ VpcId: string }>)[0].VpcId;
      result = await migrationWorker.worker.runUntil(
        Promise.race([migrateBatch(client, cloud.regionId, vpcId, server, { ...opts, log }), interrupted]),
      );
    } else {
      const migrateAll = Promise.all(
        instances.map((instance) => migrateOne(client, cloud.regionId, instance.instanceId, log, opts.fast)),
      );
      const outcomes = await migrationWorker.worker.runUntil(Promise.race([migrateAll, interrupted]));
      result = {
        reports: outcomes.filter((o): o is MigrationReport => 'outcome' in o),
        errors: outcomes.filter((o): o is DemoError => 'error' in o),
      };
    }

    if (opts.keepRunning && !opts.signal?.aborted) {
      log(`done; the Web UI stays up${webUi ? ` at ${result.batchUi ?? webUi}` : ''} until Ctrl-C`);
      await interrupted.catch(() => undefined);
    }
    return { webUi, ...(encryption ? { encryption } : {}), ...result, durationMs: Date.now() - started };
  } finally {
    // A start still under way when Ctrl-C came must finish before it can be stopped (bounded by its own timeout).
    await Promise.allSettled(starting);
    // Reverse order of start: connection, worker, cloud, server. Each runs even if another fails.
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/**
 * The demo VPC as one batch: a canary, then the rest side by side; progress per instance (and its steps), the batch's
 * page in the Web UI, and at the end each child migration's own report.
 */
async function migrateBatch(
  client: MigrationClient,
  regionId: string,
  vpcId: string,
  server: DevServer,
  opts: DemoOptions & { log: (line: string) => void },
): Promise<Omit<DemoResult, 'webUi' | 'durationMs'>> {
  const { log } = opts;
  const batches = new BatchClient(client);
  const { batchId } = await batches.start({
    regionId,
    vpcId,
    // As the CLI does by default: the guest set up through Cloud Assistant. Guest networking on a fresh secondary NIC
    // can lag; fast rehearsals need less patience.
    migration: { guestSetup: 'cloud-assistant', ...(opts.fast ? { verifyTimeoutSeconds: 30 } : {}) },
  });
  // The Web UI redirects a workflow id to its latest run (a batch continues as new when long).
  const batchUi = server.uiUrl
    ? `${server.uiUrl}/namespaces/${server.namespace}/workflows/${encodeURIComponent(batchId)}`
    : undefined;
  log(`started batch ${batchId}: every instance of ${vpcId}, a canary first, then the rest side by side`);
  if (batchUi) log(`the batch in the Web UI: ${batchUi}`);
  const view = new BatchProgressView(opts.progress ?? { line: log }, { steps: true });
  const entry = await followBatch(client, { batchId, exitCode: 0 }, view, {
    intervalMs: opts.fast ? 250 : 1000,
    signal: opts.signal,
  });
  const batch = entry.report ?? undefined;
  const reports: MigrationReport[] = [];
  const errors: DemoError[] = [];
  if (entry.error) errors.push({ workflowId: batchId, error: entry.error });
  for (const i of (batch ?? entry.progress)?.instances ?? []) {
    if (!i.workflowId || i.state !== 'done') {
      if (i.outcome && !FLEET_SUCCESS.includes(i.outcome))
        errors.push({ instanceId: i.instanceId, error: `${i.outcome}: ${i.cause ?? ''}` });
      continue;
    }
    try {
      reports.push(await client.result(i.workflowId));
    } catch (err) {
      errors.push({ instanceId: i.instanceId, workflowId: i.workflowId, error: (err as Error).message });
    }
  }
  return { batchId, batchUi, batch, batchProgress: entry.progress, reports, errors };
}

async function migrateOne(
  client: MigrationClient,
  regionId: string,
  instanceId: string,
  log: (line: string) => void,
  fast?: boolean,
): Promise<MigrationReport | DemoError> {
  const printer = new ProgressPrinter(log, `[${instanceId}] `);
  let workflowId: string | undefined;
  try {
    ({ workflowId } = await client.start({
      regionId,
      instanceId,
      guestSetup: 'cloud-assistant', // the CLI's default
      // Guest networking on a fresh secondary NIC can lag; fast rehearsals need less patience.
      ...(fast ? { verifyTimeoutSeconds: 30 } : {}),
    }));
    log(`[${instanceId}] started ${workflowId}`);
    const report = await client.result(workflowId, {
      onProgress: (p) => printer.update(p),
      progressIntervalMs: fast ? 250 : 1000,
    });
    const offline =
      report.offlineMs === undefined ? '' : ` (no public address for ${formatDuration(report.offlineMs)})`;
    log(`[${instanceId}] ${report.outcome}${offline}${report.cause ? `: ${report.cause}` : ''}`);
    return report;
  } catch (err) {
    const message =
      err instanceof MigrationClosedError ? `${err.status}: ${err.message}` : (err as Error).message;
    log(`[${instanceId}] ${message}`);
    return { instanceId, workflowId, error: message };
  }
}

/**
 * The SDK logs every worker start and activity at INFO; in a demo only warnings belong on screen, and not the action
 * workers' "No workflows registered" (the product's logger takes it down to debug).
 */
function quietTemporalLogs(): void {
  try {
    // shutdownSignals: [] because runDemo handles Ctrl-C itself (and must stop the servers, not only the worker).
    Runtime.install({ ...runtimeLogging({ format: 'pretty', level: 'warn' }), shutdownSignals: [] });
  } catch {
    // Already installed (e.g. an embedding process chose its own logger): keep it.
  }
}
