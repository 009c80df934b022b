/**
 * The worker: the composition root. It builds the cloud clients, the SSH runner and the activities, connects to
 * Temporal and polls the region's migration task queue, plus one rate-limited queue per API action that changes the
 * cloud (src/shared/cloud-changes.ts). Credentials (Alibaba Cloud keys, SSH keys, the Temporal API key) live only
 * here: they never enter workflow inputs, results, history or logs.
 *
 *   ALIBABA_CLOUD_REGION_ID=cn-hangzhou eni-migrate worker        (or: node lib/worker.js)
 */
import type Credential from '@alicloud/credentials';
import { Connection } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import {
  NativeConnection,
  Runtime,
  Worker,
  type RuntimeOptions,
  type State,
  type WorkerOptions,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities, type TransitionTimes } from './activities';
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
  type TemporalSettings,
} from './config';
import { loadGuestScripts } from './guest-scripts';
import { activityLogContext, ProductLogger, runtimeLogging } from './observability/logging';
import { prometheusExporter } from './observability/metrics';
import {
  activityTracing,
  tracingFor,
  workflowSpanSinks,
  workflowTracingModule,
  type Tracing,
} from './observability/tracing';
import {
  actionTaskQueue,
  CHANGE_ACTIONS,
  changeActionOf,
  perSecond,
  rateLimitsWith,
  type RateLimits,
} from './shared/cloud-changes';
import { createSshRunner, withSshSpans } from './ssh';
import { ensureSearchAttributes } from './temporal';
import { reachTemporal, TemporalUnreachableError } from './temporal/unreachable';
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
  /**
   * How long each cloud transition typically takes, so that waits check when it can first be done (default: Alibaba
   * Cloud's, TYPICAL_TRANSITION_MS; the worker learns from there). The demo passes its local cloud's timings.
   */
  transitionMs?: Partial<TransitionTimes>;
  /**
   * Tracing installed by the caller (tests: an in-memory exporter); default: from the configuration
   * (OTEL_EXPORTER_OTLP_ENDPOINT). A `workflowBundle` given with it must include `workflowTracingModule()`.
   */
  tracing?: Tracing;
}

export interface MigrationWorker {
  /** The region's workers: the migration queue's, and one per rate-limited API action; they run and stop together. */
  worker: WorkerGroup;
  connection: NativeConnection;
  /** Closes the connection; call after the workers have stopped. */
  close(): Promise<void>;
}

/**
 * Workers that run and stop as one: a worker process that polled the migration queue without the action queues would
 * leave the migrations it runs waiting for their cloud changes. The same shape as one Worker where callers need it.
 */
export class WorkerGroup {
  constructor(readonly workers: readonly Worker[]) {}

  /** The task queues polled, the migration queue first. */
  get taskQueues(): string[] {
    return this.workers.map((w) => w.options.taskQueue);
  }

  /** The migration queue's worker's state (the others follow it). */
  getState(): State {
    return this.workers[0].getState();
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Polls until every worker has stopped; one that fails stops the others, and its error is thrown. */
  async run(): Promise<void> {
    const runs = this.workers.map((w) =>
      w.run().catch((err: unknown) => {
        this.shutdown();
        throw err;
      }),
    );
    const failed = (await Promise.allSettled(runs)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Runs the workers until `work` settles, then shuts them down; a worker failing first throws its error. */
  async runUntil<R>(work: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      const stopped = running.then((): never => {
        throw new Error('the workers stopped before the work they ran finished');
      });
      // Once the work is done this rejects as the workers stop: the race has settled, nobody needs to hear it.
      stopped.catch(() => undefined);
      return await Promise.race([typeof work === 'function' ? work() : work, stopped]);
    } finally {
      this.shutdown();
      await running;
    }
  }
}

export interface ActionWorkersOptions extends Omit<
  WorkerOptions,
  'taskQueue' | 'activities' | 'workflowBundle' | 'workflowsPath'
> {
  /** The workflows' queue (`<base>-<region>`): the action queues derive from it, as the workflows derive them. */
  workflowTaskQueue: string;
  /** Every activity; each action's worker registers those that issue its action. */
  activities: object;
  /** The rate of each action, for all workers together. */
  rateLimits: RateLimits;
}

/**
 * One activity worker per API action that changes the cloud, polling that action's queue. Its
 * `maxTaskQueueActivitiesPerSecond` is a limit of the whole queue that the Temporal server enforces, whichever worker
 * processes poll it: every worker of a region together starts at most that many of the action's activities a second
 * (each issues its action once, bar a re-issue of a change that did not take). Every worker must be given the same
 * rates: the server keeps the last one a poller sent.
 */
export async function createActionWorkers(options: ActionWorkersOptions): Promise<Worker[]> {
  const { workflowTaskQueue, activities, rateLimits, ...workerOptions } = options;
  const workers: Worker[] = [];
  try {
    for (const action of CHANGE_ACTIONS) {
      const issuing = Object.entries(activities).filter(([name]) => changeActionOf(name) === action);
      workers.push(
        await Worker.create({
          ...workerOptions,
          taskQueue: actionTaskQueue(workflowTaskQueue, action),
          activities: Object.fromEntries(issuing),
          maxTaskQueueActivitiesPerSecond: perSecond(rateLimits[action]),
        }),
      );
    }
    return workers;
  } catch (err) {
    // A created Worker holds the connection until it has run: run each for an instant so it lets go.
    await new WorkerGroup(workers).runUntil(Promise.resolve()).catch(() => undefined);
    throw err;
  }
}

const stderrLog = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * The worker's own progress lines: plain text on stderr, or with ENI_MIGRATE_LOG_FORMAT=json one JSON object each, as
 * every other line of the worker, so that a log shipper reads one format (a `WARNING:` line at warn).
 */
function workerLog(config: AppConfig): (line: string) => void {
  if (config.logging?.format !== 'json') return stderrLog;
  const logger = new ProductLogger({ format: 'json', level: config.logging.level });
  return (line) => {
    const text = line.replace(/^eni-migrate worker: /, '');
    const warning = /^WARNING: /.exec(text);
    if (warning) logger.warn(text.slice(warning[0].length), { sdkComponent: 'eni-migrate' });
    // The start-up configuration (describeConfig) is JSON already: a field, not a string in the message.
    else if (text.startsWith('{'))
      logger.info('configuration', { sdkComponent: 'eni-migrate', config: JSON.parse(text) });
    else logger.info(text, { sdkComponent: 'eni-migrate' });
  };
}

/** Builds everything and returns the workers ready to run (tests and the demo drive them with runUntil or run). */
export async function createMigrationWorker(options: RunWorkerOptions = {}): Promise<MigrationWorker> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? workerLog(config);
  const regionId = requireRegion(config.cloud);
  // The caller's transition times (the demo's: its local cloud's) over the environment's, and shown as used.
  const transitionMs = { ...config.transitionMs, ...options.transitionMs };
  log(`eni-migrate worker: ${JSON.stringify(describeConfig({ ...config, transitionMs }))}`);
  // Validated before anything connects: a bad file stops the worker with the file, the script and the fault named.
  const guestScripts = loadGuestScripts(config.guestScriptsPath);
  log(`eni-migrate worker: guest scripts ${guestScripts.names().join(', ')}`);

  const { ecs, vpc } = createCloudApis({
    regionId,
    ecsEndpoint: config.cloud.ecsEndpoint,
    vpcEndpoint: config.cloud.vpcEndpoint,
    credential: options.credential,
  });
  // OTEL_EXPORTER_OTLP_ENDPOINT: one trace per migration (workflow, activities, cloud calls, SSH sessions).
  const tracing = options.tracing ?? tracingFor(config.tracing, 'worker');
  const sshRunner = createSshRunner({
    sshConfigPath: config.ssh.sshConfigPath,
    user: config.ssh.user,
    privateKeyPath: config.ssh.privateKeyPath,
  });
  const ssh = tracing ? withSshSpans(sshRunner) : sshRunner;
  const activities = createActivities({
    ecs,
    vpc,
    ssh,
    guestScripts,
    pollIntervalMs: config.pollIntervalMs,
    transitionMs,
    ...(config.eipQuota !== undefined ? { eipQuota: config.eipQuota } : {}),
  });

  const connectionOptions = temporalConnectionOptions(config.temporal);
  if (options.registerSearchAttributes ?? true) {
    await registerSearchAttributes(config.temporal, connectionOptions, log);
  }

  // The runtime (its logger, its metrics exporter) is fixed by the process's first NativeConnection: install it before.
  // Its logger receives the SDK's lines, core's, the workflows' and the activities' (ENI_MIGRATE_LOG_FORMAT / _LEVEL).
  installRuntime({ metricsAddress: config.metricsAddress, ...runtimeLogging(config.logging) });
  if (config.metricsAddress) {
    log(`eni-migrate worker: Prometheus metrics at http://${config.metricsAddress}/metrics`);
  }
  const connection = await reachTemporal(config.temporal, () => NativeConnection.connect(connectionOptions));
  try {
    const taskQueue = taskQueueFor(regionId, config.temporal.taskQueue);
    // Payload encryption (ENI_MIGRATE_PAYLOAD_KEY): the codec runs outside the workflow sandbox, on every payload.
    const codec = withDataConverter(config.temporal.payloadKeys);
    const rateLimits = config.rateLimits ?? rateLimitsWith();
    // Every activity's log lines (cloud calls at debug among them) name the instance and the step; under tracing,
    // every activity is a span in its migration's trace.
    const interceptors = {
      activity: tracing ? [activityLogContext, activityTracing()] : [activityLogContext],
    };
    const workflowTracing = tracing
      ? { sinks: workflowSpanSinks(tracing), workflowModules: [workflowTracingModule()] }
      : undefined;
    if (tracing)
      log(`eni-migrate worker: tracing to ${config.tracing?.endpoint ?? 'the installed tracer provider'}`);
    const actionWorkers = await createActionWorkers({
      connection,
      namespace: config.temporal.namespace,
      workflowTaskQueue: taskQueue,
      activities,
      rateLimits,
      interceptors,
      ...codec,
    });
    let main: Worker;
    try {
      main = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue,
        // Bundling at start: webpack's statistics go to the runtime's logger at debug.
        workflowBundle:
          options.workflowBundle ??
          (await loadWorkflowBundle(
            log,
            { interceptorModules: workflowTracing?.workflowModules },
            Runtime.instance().logger,
          )),
        // Every activity, for the migrations a release before 0.3 started (they schedule all on this queue).
        activities,
        ...(config.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.maxCachedWorkflows } : {}),
        interceptors,
        ...(workflowTracing ? { sinks: workflowTracing.sinks } : {}),
        ...codec,
      });
    } catch (err) {
      await new WorkerGroup(actionWorkers).runUntil(Promise.resolve()).catch(() => undefined);
      throw err;
    }
    const group = new WorkerGroup([main, ...actionWorkers]);
    await warnIfPartitioned(connection, config.temporal.namespace, group.taskQueues.slice(1), log);
    return {
      worker: group,
      connection,
      close: async () => {
        await connection.close();
        // The last spans of a stopping worker leave before the process does.
        await tracing?.flush();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/**
 * Installs the process's Temporal Runtime, with a Prometheus exporter at `metricsAddress` (ENI_MIGRATE_METRICS) when
 * given: it serves the runtime's own metrics and the migrations' (src/observability/metrics.ts) at `/metrics`. The
 * Runtime is one per process, fixed by the first Worker or NativeConnection (a dev server or test environment started
 * by the SDK counts too): call this before any, with the other options the process wants: its logger, say
 * (`...runtimeLogging(config.logging)`, src/observability/logging.ts). A runtime already installed is kept (with its
 * logger); one serving metrics elsewhere, or none, when `metricsAddress` is asked is a ConfigError, as is an address
 * in use.
 */
export function installRuntime(options: RuntimeOptions & { metricsAddress?: string } = {}): void {
  const { metricsAddress, ...runtimeOptions } = options;
  const metrics = metricsAddress ? prometheusExporter(metricsAddress) : undefined;
  try {
    Runtime.install(
      metrics
        ? { ...runtimeOptions, telemetryOptions: { ...runtimeOptions.telemetryOptions, metrics } }
        : runtimeOptions,
    );
  } catch (err) {
    if (!(err instanceof IllegalStateError)) {
      if (!metricsAddress) throw err;
      throw new ConfigError(
        `ENI_MIGRATE_METRICS=${metricsAddress}: cannot serve metrics there: ${(err as Error).message}`,
      );
    }
    if (!metricsAddress) return; // installed already: keep it
    const installed = Runtime.defaultOptions.telemetryOptions?.metrics;
    if (installed && 'prometheus' in installed && installed.prometheus.bindAddress === metricsAddress) return;
    throw new ConfigError(
      `ENI_MIGRATE_METRICS=${metricsAddress}: this process's Temporal runtime was started before the worker, without that exporter; install it first (installRuntime in src/worker.ts) or unset ENI_MIGRATE_METRICS`,
    );
  }
}

function withDataConverter(keys: AppConfig['temporal']['payloadKeys']) {
  const dataConverter = dataConverterFor(keys);
  return dataConverter ? { dataConverter } : {};
}

/** Runs the worker until the signal aborts (default: SIGINT / SIGTERM), then shuts it down gracefully. */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? workerLog(config);
  const { worker, close } = await createMigrationWorker({ ...options, config, log });
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
    // The first queue is the region's (workflows, reads); the others pace one API action each.
    const [main, ...paced] = worker.taskQueues;
    log(
      `eni-migrate worker: polling task queue ${main} and the rate-limited action queues ${paced.join(', ')}`,
    );
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
 * A queue's rate limit is split evenly among its partitions (4 by default): each enforces its share with its own
 * burst, so a partitioned action queue admits bursts of up to rate + partitions, and may dispatch below the rate when
 * its tasks sit unevenly. Say so, with the fix; a server that will not answer is left alone.
 */
async function warnIfPartitioned(
  connection: NativeConnection,
  namespace: string,
  queues: string[],
  log: (line: string) => void,
): Promise<void> {
  const partitioned: string[] = [];
  try {
    for (const name of queues) {
      const { activityTaskQueuePartitions } = await connection.workflowService.listTaskQueuePartitions({
        namespace,
        taskQueue: { name },
      });
      const partitions = activityTaskQueuePartitions?.length ?? 0;
      if (partitions > 1) partitioned.push(`${name} (${partitions})`);
    }
  } catch {
    // Listing partitions is an operator's API some servers refuse; the limit still holds on average.
    return;
  }
  if (partitioned.length > 0) {
    log(
      `eni-migrate worker: WARNING: these rate-limited task queues have several partitions, so each admits bursts of up to its rate plus its partitions: ${partitioned.join(', ')}; give them one (dynamic config matching.numTaskqueueReadPartitions and matching.numTaskqueueWritePartitions = 1, docs/configuration.md "Rate limits")`,
    );
  }
}

/**
 * A plain `temporal server start-dev` lacks the project's search attributes; register them. Where we may not
 * (Temporal Cloud: the API key usually lacks the operator role), say exactly what to do and carry on: the
 * attributes may already exist there.
 */
async function registerSearchAttributes(
  temporal: TemporalSettings,
  connectionOptions: ReturnType<typeof temporalConnectionOptions>,
  log: (line: string) => void,
): Promise<void> {
  const { namespace } = temporal;
  // The worker's first contact with Temporal: a wrong address is said as such (the CLI exits 5).
  const connection = await reachTemporal(temporal, () => Connection.connect(connectionOptions));
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
    process.exit(err instanceof ConfigError ? 2 : err instanceof TemporalUnreachableError ? 5 : 1);
  });
}
