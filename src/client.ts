/**
 * A typed client for scripts: start a migration, follow its progress, approve, cancel, list, and get the report.
 * The `eni-migrate` CLI is a thin layer over it.
 *
 *   const client = await MigrationClient.connect();            // TEMPORAL_* from the environment
 *   const { workflowId } = await client.start({ regionId: 'cn-hangzhou', instanceId: 'i-bp1…' });
 *   const report = await client.result(workflowId, { onProgress: (p) => console.log(p.currentStep) });
 *   await client.close();
 */
import {
  CancelledFailure,
  Client,
  Connection,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import {
  ApplicationFailure,
  TemporalFailure,
  WorkflowNotFoundError,
  type SearchAttributePair,
} from '@temporalio/common';
import { dataConverterFor } from './codec/payload-codec';
import { clientTracing, installedTracing, type Tracing } from './observability/tracing';
import { loadConfig, taskQueueFor, temporalConnectionOptions, type TemporalSettings } from './config';
import {
  MIGRATION_FAILED,
  TASK_QUEUE_DEFAULT,
  migrationWorkflowId,
  type MigrationInput,
  type MigrationProgress,
  type MigrationReport,
  type Outcome,
  type RevertInput,
  type StepName,
} from './shared/migration';
import {
  INSTANCE_ID,
  MIGRATION_OUTCOME,
  MIGRATION_STEP,
  REGION_ID,
  VPC_ID,
} from './shared/search-attributes';
import { migrationDetails, migrationSummary, revertDetails, revertSummary } from './shared/summaries';
import {
  approveUpdate,
  progressQuery,
  reportQuery,
  retryRollbackUpdate,
  rollForwardUpdate,
  type migrateInstance,
  type revertInstance,
} from './workflows';

export type { MigrationInput, MigrationProgress, MigrationReport, RevertInput } from './shared/migration';

const WORKFLOW_TYPE = 'migrateInstance' satisfies (typeof migrateInstance)['name'];
const REVERT_WORKFLOW_TYPE = 'revertInstance' satisfies (typeof revertInstance)['name'];

/** A second start for an instance whose migration is still running (and attaching was not asked for). */
export class MigrationAlreadyRunningError extends Error {
  override name = 'MigrationAlreadyRunningError';
  constructor(
    readonly instanceId: string,
    readonly workflowId: string,
  ) {
    super(
      `a migration of ${instanceId} is already running: ${workflowId}; use --attach to follow it, ` +
        `or \`eni-migrate status ${workflowId}\``,
    );
  }
}

/** How a migration ended when it did not return a report: the workflow failed, was cancelled, terminated or timed out. */
export type ClosedWithoutReport = 'failed' | 'cancelled' | 'terminated' | 'timed-out';

export class MigrationClosedError extends Error {
  override name = 'MigrationClosedError';
  constructor(
    readonly workflowId: string,
    readonly status: ClosedWithoutReport,
    message: string,
    /** The ApplicationFailure type raised by the workflow (e.g. a preflight refusal), when there is one. */
    readonly failureType?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface StartOptions {
  /** Follow the running migration of the same instance instead of refusing. */
  attachIfRunning?: boolean;
  /** Set the VpcId search attribute from the start, when the caller knows it (the workflow sets it in preflight). */
  vpcId?: string;
  /** The address that moves, when the caller knows it: the Web UI's summary and details then name it. */
  publicIp?: string;
}

export interface Started {
  workflowId: string;
  runId: string;
  /** True when this call attached to a migration that was already running. */
  attached: boolean;
}

export interface ResultOptions {
  /** Called with each new progress snapshot while the migration runs (polled through the `progress` query). */
  onProgress?: (progress: MigrationProgress) => void;
  progressIntervalMs?: number;
  /** Called when a progress query gets no answer (typically: no worker polls the task queue). */
  onProgressUnavailable?: (error: unknown) => void;
  signal?: AbortSignal;
}

export interface ListFilter {
  /** A raw Temporal visibility query, ANDed with the filters below. */
  query?: string;
  instanceId?: string;
  vpcId?: string;
  /** MigrationStep: a step name, `awaiting-approval`, `rollback:<step>`, `rollback-stuck:<step>` or `done`. */
  step?: StepName | 'done' | 'awaiting-approval' | `rollback:${StepName}` | `rollback-stuck:${StepName}`;
  /**
   * MigrationOutcome: `running` until the end, then the report's outcome (`cancelled` for a cancelled one, `refused`
   * for one preflight refused: nothing changed).
   */
  outcome?: Outcome | 'running' | 'cancelled' | 'refused';
  /** Stop after this many (default 100). */
  limit?: number;
}

export interface MigrationSummary {
  workflowId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  startTime: string;
  closeTime?: string;
  instanceId?: string;
  vpcId?: string;
  step?: string;
  outcome?: string;
}

export interface MigrationStatus extends MigrationSummary {
  /** While running: the live progress. */
  progress?: MigrationProgress;
  /** Once ended: the report (completed; failed with resources left; cancelled, while a worker answers). */
  report?: MigrationReport;
  /** Failed, cancelled, terminated or timed out: why. */
  failure?: string;
}

export interface ConnectOptions {
  /**
   * Default: from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TLS / API key).
   * `taskQueue` is the base name: a migration in region R starts on `<taskQueue>-R` (see taskQueueFor).
   * `payloadKeys` (ENI_MIGRATE_PAYLOAD_KEY...) turns payload encryption on.
   */
  temporal?: Partial<TemporalSettings>;
  /** Use an existing client (tests, embedding); close() then leaves its connection open. */
  client?: Client;
  /** How long to try reaching the server (default 10 s, the SDK's). */
  connectTimeoutMs?: number;
  /**
   * Trace the client's calls (a StartWorkflow span that the migration's trace hangs from): the CLI passes the tracing
   * it installed (OTEL_EXPORTER_OTLP_ENDPOINT). Default: when this process installed tracing (installTracing); a
   * program with its own OpenTelemetry set-up adds `clientTracing()` to its own Client instead.
   */
  tracing?: Tracing;
}

export class MigrationClient {
  private constructor(
    readonly client: Client,
    /** The base of the per-region task queue names. */
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
    private readonly tracing?: Tracing,
  ) {}

  /** The task queue a migration in this region runs on, which that region's worker polls. */
  taskQueueFor(regionId: string): string {
    return taskQueueFor(regionId, this.taskQueue);
  }

  static async connect(options: ConnectOptions = {}): Promise<MigrationClient> {
    if (options.client) {
      return new MigrationClient(options.client, options.temporal?.taskQueue ?? TASK_QUEUE_DEFAULT);
    }
    // What the caller passes wins; the environment (or its defaults) fills the rest.
    const given = Object.fromEntries(
      Object.entries(options.temporal ?? {}).filter(([, v]) => v !== undefined),
    );
    const settings: TemporalSettings = { ...loadConfig().temporal, ...given };
    const tracing = options.tracing ?? installedTracing();
    const connection = await Connection.connect({
      ...temporalConnectionOptions(settings),
      ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
    });
    // With payload keys (ENI_MIGRATE_PAYLOAD_KEY...), inputs go out encrypted and results, queries and failure
    // details come back decrypted; without, the default converter.
    const dataConverter = dataConverterFor(settings.payloadKeys);
    const client = new Client({
      connection,
      namespace: settings.namespace,
      ...(dataConverter ? { dataConverter } : {}),
      ...(tracing ? { interceptors: { workflow: [clientTracing()] } } : {}),
    });
    return new MigrationClient(client, settings.taskQueue, connection, tracing);
  }

  /** Starts the migration of one instance; its workflow id derives from region and instance (one at a time). */
  async start(input: MigrationInput, options: StartOptions = {}): Promise<Started> {
    return this.startOne(WORKFLOW_TYPE, input, options, {
      staticSummary: migrationSummary(input, options),
      staticDetails: migrationDetails(input, options),
    });
  }

  /**
   * Starts the way back for an instance migrated earlier (revertInstance). It shares the migration's workflow id, so
   * a migration and a revert of one instance never run at once.
   */
  async revert(input: RevertInput, options: StartOptions = {}): Promise<Started> {
    return this.startOne(REVERT_WORKFLOW_TYPE, input, options, {
      staticSummary: revertSummary(input, options),
      staticDetails: revertDetails(input, options),
    });
  }

  private async startOne(
    workflowType: typeof WORKFLOW_TYPE | typeof REVERT_WORKFLOW_TYPE,
    input: MigrationInput | RevertInput,
    options: StartOptions,
    // The Web UI's summary and details (the workflow page's User Metadata): what it will do, before it does anything.
    metadata: { staticSummary: string; staticDetails: string },
  ): Promise<Started> {
    const workflowId = migrationWorkflowId(input.regionId, input.instanceId);
    // Listed by instance and region from the start; the workflow adds the VPC in preflight if the caller did not.
    const searchAttributes: SearchAttributePair[] = [
      { key: INSTANCE_ID, value: input.instanceId },
      { key: REGION_ID, value: input.regionId },
    ];
    if (options.vpcId) searchAttributes.push({ key: VPC_ID, value: options.vpcId });
    try {
      const handle = await this.client.workflow.start(workflowType, {
        // Per region: the activities after preflight carry ids only, and another region's worker must not run them.
        taskQueue: this.taskQueueFor(input.regionId),
        workflowId,
        args: [input],
        typedSearchAttributes: searchAttributes,
        ...metadata,
      });
      return { workflowId, runId: handle.firstExecutionRunId, attached: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (!options.attachIfRunning) throw new MigrationAlreadyRunningError(input.instanceId, workflowId);
      const running = await this.client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: running.runId, attached: true };
    }
  }

  /** Waits for the report. Throws MigrationClosedError when the workflow ends without one (failed, cancelled...). */
  async result(workflowId: string, options: ResultOptions = {}): Promise<MigrationReport> {
    const handle = this.client.workflow.getHandle<typeof migrateInstance>(workflowId);
    const done = handle.result().then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    );
    if (options.onProgress) await this.followProgress(workflowId, done, options);
    const settled = await done;
    const report =
      'report' in settled ? settled.report : await this.reportOfClosed(workflowId, settled.error);
    if (report) {
      // The last transitions can fall between two polls: the report has them all.
      options.onProgress?.(finalProgress(report));
      return report;
    }
    throw closedError(workflowId, (settled as { error: unknown }).error);
  }

  /**
   * The report of a migration that did not complete: a failed one (resources left) carries it in its failure's
   * details; a cancelled one answers the `report` query (which needs a worker; without one, there is none).
   */
  private async reportOfClosed(workflowId: string, error: unknown): Promise<MigrationReport | undefined> {
    if (!(error instanceof WorkflowFailedError)) return undefined;
    const root = rootFailure(error.cause);
    if (root instanceof ApplicationFailure && root.type === MIGRATION_FAILED) {
      return root.details?.[0] as MigrationReport | undefined;
    }
    if (error.cause instanceof CancelledFailure) {
      const handle = this.client.workflow.getHandle(workflowId);
      return this.client.connection
        .withDeadline(Date.now() + 10_000, () => handle.query(reportQuery))
        .catch(() => undefined);
    }
    return undefined;
  }

  /** The live progress (current step, per-step state and durations, resource ids, API calls). */
  async progress(workflowId: string, timeoutMs = 10_000): Promise<MigrationProgress> {
    const handle = this.client.workflow.getHandle(workflowId);
    // A query waits for a worker; without a deadline it would hang as long as no worker polls the queue.
    return this.client.connection.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery));
  }

  /** Lets a migration started with requireApproval proceed to the irreversible conversion (step 1). */
  async approve(workflowId: string): Promise<void> {
    await this.update(workflowId, 'approve', approveUpdate);
  }

  /** A rollback step reported stuck (`rollback-stuck:<step>`): run its next round now. */
  async retryRollback(workflowId: string): Promise<void> {
    await this.update(workflowId, 'retry the rollback of', retryRollbackUpdate);
  }

  /** A rollback step reported stuck: stop going back; bind the EIP to the new ENI instead (outcome rolled-forward). */
  async rollForward(workflowId: string): Promise<void> {
    await this.update(workflowId, 'roll forward', rollForwardUpdate);
  }

  /** Runs an update without arguments; a refusal (its validator's, or a closed workflow) becomes the message. */
  private async update(workflowId: string, what: string, update: typeof approveUpdate): Promise<void> {
    try {
      await this.client.workflow.getHandle(workflowId).executeUpdate(update);
    } catch (err) {
      // "Workflow Update failed" says nothing; the workflow's validator says why (e.g. no approval gate).
      if (err instanceof WorkflowUpdateFailedError && err.cause) {
        const why = rootFailure(err.cause)?.message ?? err.cause.message;
        throw new Error(`cannot ${what} ${workflowId}: ${why}`, { cause: err });
      }
      // The server answers "not found" for an update on a closed workflow: tell the two apart.
      if (err instanceof WorkflowNotFoundError) {
        const closed = await this.client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => undefined);
        if (closed) {
          throw new Error(
            `cannot ${what} ${workflowId}: the migration has already ended (${closed.status.name})`,
            { cause: err },
          );
        }
      }
      throw err;
    }
  }

  /** Requests cancellation: the workflow rolls back what it did so far (the EIP conversion is kept). */
  async cancel(workflowId: string): Promise<void> {
    await this.client.workflow.getHandle(workflowId).cancel();
  }

  /** Status of one migration: running (with progress), completed (with the report), or how it ended. */
  async status(workflowId: string): Promise<MigrationStatus> {
    const handle = this.client.workflow.getHandle<typeof migrateInstance>(workflowId);
    const description = await handle.describe();
    const status: MigrationStatus = summarize(description);
    if (description.status.name === 'RUNNING') {
      try {
        status.progress = await this.progress(workflowId);
      } catch (err) {
        status.failure = `progress unavailable (is a worker running on task queue ${description.taskQueue}?): ${errorText(err)}`;
      }
    } else if (description.status.name === 'COMPLETED') {
      status.report = await handle.result();
    } else {
      try {
        await handle.result();
      } catch (err) {
        status.failure = closedError(workflowId, err).message;
        const report = await this.reportOfClosed(workflowId, err);
        if (report) status.report = report;
      }
    }
    return status;
  }

  /** Migrations known to Temporal, newest first, filtered by the project's search attributes. */
  async list(filter: ListFilter = {}): Promise<MigrationSummary[]> {
    const clauses = [`WorkflowType IN ('${WORKFLOW_TYPE}', '${REVERT_WORKFLOW_TYPE}')`];
    if (filter.instanceId) clauses.push(`${INSTANCE_ID.name} = ${quote(filter.instanceId)}`);
    if (filter.vpcId) clauses.push(`${VPC_ID.name} = ${quote(filter.vpcId)}`);
    if (filter.step) clauses.push(`${MIGRATION_STEP.name} = ${quote(filter.step)}`);
    if (filter.outcome) clauses.push(`${MIGRATION_OUTCOME.name} = ${quote(filter.outcome)}`);
    if (filter.query) clauses.push(`(${filter.query})`);
    const limit = filter.limit ?? 100;
    const found: MigrationSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
      found.push(summarize(info));
      if (found.length >= limit) break;
    }
    return found;
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
    // A CLI command exits right after: its spans leave now.
    await this.tracing?.flush();
  }

  private async followProgress(
    workflowId: string,
    done: Promise<unknown>,
    { onProgress, onProgressUnavailable, progressIntervalMs = 1000, signal }: ResultOptions,
  ): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true));
    let last = '';
    while (!finished && !signal?.aborted) {
      try {
        const progress = await this.progress(workflowId, Math.max(progressIntervalMs * 5, 5000));
        const seen = JSON.stringify(progress);
        if (seen !== last) {
          last = seen;
          onProgress?.(progress);
        }
      } catch (err) {
        // The workflow may have just closed, or no worker is up yet: the next tick (or the result) tells.
        if (!finished) onProgressUnavailable?.(err);
      }
      await Promise.race([done, delay(progressIntervalMs)]);
    }
  }
}

/** The progress a finished migration would answer, from its report. */
function finalProgress(report: MigrationReport): MigrationProgress {
  return {
    workflowId: report.workflowId,
    instanceId: report.instanceId,
    regionId: report.regionId,
    currentStep: 'done',
    awaitingApproval: false,
    steps: report.steps,
    resources: {
      publicIp: report.publicIp,
      allocationId: report.allocationId,
      networkInterfaceId: report.networkInterfaceId,
      eniPrivateIp: report.eniPrivateIp,
      snatIp: report.snatIp,
    },
    apiCalls: report.apiCalls,
  };
}

function summarize(
  info: Pick<
    WorkflowExecutionInfo,
    'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime' | 'typedSearchAttributes'
  >,
): MigrationSummary {
  const attrs = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
    instanceId: attrs.get(INSTANCE_ID),
    vpcId: attrs.get(VPC_ID),
    step: attrs.get(MIGRATION_STEP),
    outcome: attrs.get(MIGRATION_OUTCOME),
  };
}

/** Visibility query literal. Values are ids and step names: refuse anything else instead of escaping it. */
function quote(value: string): string {
  if (!/^[A-Za-z0-9._:/-]+$/.test(value)) throw new Error(`invalid filter value ${JSON.stringify(value)}`);
  return `'${value}'`;
}

function closedError(workflowId: string, error: unknown): MigrationClosedError {
  if (!(error instanceof WorkflowFailedError)) {
    return new MigrationClosedError(workflowId, 'failed', errorText(error), undefined, { cause: error });
  }
  const cause = error.cause;
  const closed = (status: ClosedWithoutReport, message: string) =>
    new MigrationClosedError(workflowId, status, message, undefined, { cause: error });
  if (cause instanceof CancelledFailure) return closed('cancelled', `migration ${workflowId} was cancelled`);
  if (cause instanceof TerminatedFailure)
    return closed('terminated', `migration ${workflowId} was terminated`);
  if (cause instanceof TimeoutFailure) return closed('timed-out', `migration ${workflowId} timed out`);
  const root = rootFailure(cause);
  return new MigrationClosedError(
    workflowId,
    'failed',
    root?.message || error.message,
    root instanceof ApplicationFailure ? (root.type ?? undefined) : undefined,
    { cause: error },
  );
}

/** The innermost failure: an activity's ApplicationFailure says more than the ActivityFailure around it. */
function rootFailure(failure: Error | undefined): Error | undefined {
  let current = failure;
  while (current instanceof TemporalFailure && current.cause instanceof Error) current = current.cause;
  return current;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export { BatchAlreadyRunningError, BatchClient, BatchClosedError, type BatchSummary } from './client/batches';
export { BatchScheduleClient, type BatchScheduleInfo, type BatchScheduleSpec } from './client/schedules';
export type { FleetInput, FleetProgress, FleetReport } from './shared/fleet';
