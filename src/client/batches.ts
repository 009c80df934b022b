/**
 * Batches (migrateFleet) for scripts: start one per VPC, follow it, pause, resume, change its concurrency, approve,
 * cancel, list, and get its report. The `eni-migrate batch` commands are a thin layer over it.
 *
 *   const batches = new BatchClient(await MigrationClient.connect());
 *   const { batchId } = await batches.start({ regionId: 'cn-hangzhou', vpcId: 'vpc-bp1…', concurrency: 5 });
 *   const report = await batches.result(batchId, { onProgress: (p) => console.log(p.counts) });
 */
import {
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { TemporalFailure, WorkflowNotFoundError, type SearchAttributePair } from '@temporalio/common';
import type { MigrationClient } from '../client';
import { batchWorkflowId, type FleetInput, type FleetProgress, type FleetReport } from '../shared/fleet';
import { MIGRATION_OUTCOME, MIGRATION_STEP, REGION_ID, VPC_ID } from '../shared/search-attributes';
import {
  approveBatchUpdate,
  batchProgressQuery,
  batchReportQuery,
  pauseBatchUpdate,
  progressQuery,
  resumeBatchUpdate,
  setConcurrencyUpdate,
  type migrateFleet,
} from '../workflows';

export type { FleetInput, FleetProgress, FleetReport } from '../shared/fleet';

export const BATCH_WORKFLOW_TYPE = 'migrateFleet' satisfies (typeof migrateFleet)['name'];

/** A second batch for a VPC while one runs. */
export class BatchAlreadyRunningError extends Error {
  override name = 'BatchAlreadyRunningError';
  constructor(
    readonly vpcId: string,
    readonly batchId: string,
  ) {
    super(
      `a batch for VPC ${vpcId} is already running: ${batchId}; follow it (eni-migrate batch status ${batchId}) or cancel it (eni-migrate batch cancel ${batchId}) first`,
    );
  }
}

/** The batch ended without a report (terminated, timed out, or failed on bad input). */
export class BatchClosedError extends Error {
  override name = 'BatchClosedError';
  constructor(
    readonly batchId: string,
    readonly status: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface BatchSummary {
  batchId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  startTime: string;
  closeTime?: string;
  vpcId?: string;
  regionId?: string;
  /** The batch's state (`running`, `paused:max-errors`, …, `done`). */
  state?: string;
  /** `running`, then the BatchOutcome. */
  outcome?: string;
}

export interface BatchResultOptions {
  onProgress?: (progress: FleetProgress) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
}

export class BatchClient {
  constructor(private readonly migrations: MigrationClient) {}

  private get client() {
    return this.migrations.client;
  }

  /** Starts a batch; its id derives from region and VPC, so a second batch of the same VPC is refused. */
  async start(input: FleetInput): Promise<{ batchId: string; runId: string }> {
    const batchId = batchWorkflowId(input.regionId, input.vpcId);
    const searchAttributes: SearchAttributePair[] = [
      { key: VPC_ID, value: input.vpcId },
      { key: REGION_ID, value: input.regionId },
    ];
    try {
      const handle = await this.client.workflow.start(BATCH_WORKFLOW_TYPE, {
        taskQueue: this.migrations.taskQueueFor(input.regionId),
        workflowId: batchId,
        args: [input],
        typedSearchAttributes: searchAttributes,
        staticSummary: batchSummary(input),
        staticDetails: batchDetails(input),
      });
      return { batchId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new BatchAlreadyRunningError(input.vpcId, batchId);
      throw err;
    }
  }

  /**
   * The live progress. In-flight instances get their migration's current step (a `progress` query each), so the
   * answer shows where every instance is.
   */
  async progress(batchId: string, timeoutMs = 10_000): Promise<FleetProgress> {
    const handle = this.client.workflow.getHandle(batchId);
    const progress = await this.client.connection.withDeadline(Date.now() + timeoutMs, () =>
      handle.query(batchProgressQuery),
    );
    await Promise.all(
      progress.instances
        .filter((i) => i.state === 'running' && i.workflowId)
        .map(async (i) => {
          const child = this.client.workflow.getHandle(i.workflowId as string);
          const p = await this.client.connection
            .withDeadline(Date.now() + timeoutMs, () => child.query(progressQuery))
            .catch(() => undefined);
          if (p) i.step = p.rollbackStuck ? `rollback-stuck:${p.rollbackStuck.step}` : p.currentStep;
        }),
    );
    return progress;
  }

  /** Waits for the batch's report: completed, or cancelled (its `batchReport` query). */
  async result(batchId: string, options: BatchResultOptions = {}): Promise<FleetReport> {
    const handle = this.client.workflow.getHandle<typeof migrateFleet>(batchId);
    const done = handle.result().then(
      (report) => ({ report }),
      (error: unknown) => ({ error }),
    );
    let finished = false;
    void done.then(() => (finished = true));
    if (options.onProgress) {
      const interval = options.progressIntervalMs ?? 1000;
      while (!finished && !options.signal?.aborted) {
        const p = await this.progress(batchId).catch(() => undefined);
        if (p && !finished) options.onProgress(p);
        await Promise.race([done, new Promise((r) => setTimeout(r, interval).unref())]);
      }
    }
    // Aborted: stop waiting (the batch goes on in Temporal).
    const aborted = new Promise<never>((_, reject) => {
      const { signal } = options;
      if (!signal) return;
      const stop = () => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    const settled = await Promise.race([done, aborted]);
    if ('report' in settled) return settled.report;
    const error = settled.error;
    if (error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure) {
      const report = await this.client.connection
        .withDeadline(Date.now() + 10_000, () => handle.query(batchReportQuery))
        .catch(() => undefined);
      if (report) return report;
      throw new BatchClosedError(batchId, 'cancelled', `batch ${batchId} was cancelled`, { cause: error });
    }
    const root = error instanceof WorkflowFailedError ? rootMessage(error.cause) : undefined;
    throw new BatchClosedError(batchId, 'failed', root ?? String(error), { cause: error });
  }

  async pause(batchId: string): Promise<void> {
    await this.update(batchId, 'pause', () =>
      this.client.workflow.getHandle(batchId).executeUpdate(pauseBatchUpdate),
    );
  }

  async resume(batchId: string): Promise<void> {
    await this.update(batchId, 'resume', () =>
      this.client.workflow.getHandle(batchId).executeUpdate(resumeBatchUpdate),
    );
  }

  async setConcurrency(batchId: string, concurrency: number): Promise<void> {
    await this.update(batchId, 'change the concurrency of', () =>
      this.client.workflow.getHandle(batchId).executeUpdate(setConcurrencyUpdate, { args: [concurrency] }),
    );
  }

  async approve(batchId: string): Promise<void> {
    await this.update(batchId, 'approve', () =>
      this.client.workflow.getHandle(batchId).executeUpdate(approveBatchUpdate),
    );
  }

  /** Stops new starts; migrations in flight are cancelled and roll back; finished ones stay migrated. */
  async cancel(batchId: string): Promise<void> {
    await this.client.workflow.getHandle(batchId).cancel();
  }

  /** Batches known to Temporal, newest first. */
  async list(
    filter: { vpcId?: string; regionId?: string; query?: string; limit?: number } = {},
  ): Promise<BatchSummary[]> {
    const clauses = [`WorkflowType = '${BATCH_WORKFLOW_TYPE}'`];
    if (filter.vpcId) clauses.push(`${VPC_ID.name} = ${quote(filter.vpcId)}`);
    if (filter.regionId) clauses.push(`${REGION_ID.name} = ${quote(filter.regionId)}`);
    if (filter.query) clauses.push(`(${filter.query})`);
    const limit = filter.limit ?? 100;
    const found: BatchSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
      const attrs = info.typedSearchAttributes;
      found.push({
        batchId: info.workflowId,
        runId: info.runId,
        status: info.status.name,
        startTime: info.startTime.toISOString(),
        closeTime: info.closeTime?.toISOString(),
        vpcId: attrs.get(VPC_ID),
        regionId: attrs.get(REGION_ID),
        state: attrs.get(MIGRATION_STEP),
        outcome: attrs.get(MIGRATION_OUTCOME),
      });
      if (found.length >= limit) break;
    }
    return found;
  }

  private async update(batchId: string, what: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause) {
        throw new Error(`cannot ${what} batch ${batchId}: ${rootMessage(err.cause) ?? err.cause.message}`, {
          cause: err,
        });
      }
      if (err instanceof WorkflowNotFoundError) {
        const closed = await this.client.workflow
          .getHandle(batchId)
          .describe()
          .catch(() => undefined);
        if (closed)
          throw new Error(`cannot ${what} batch ${batchId}: it has ended (${closed.status.name})`, {
            cause: err,
          });
      }
      throw err;
    }
  }
}

/** The Web UI's one-line summary of a batch. */
export function batchSummary(input: FleetInput): string {
  return `${input.dryRun ? 'Plan' : 'Migrate'} the instances of ${input.vpcId} (${input.regionId}) onto secondary ENIs`;
}

/** The Web UI's details of a batch: what it will do, as Markdown. */
export function batchDetails(input: FleetInput): string {
  const s = input.select ?? {};
  const filters = [
    s.instanceIds ? `instances ${s.instanceIds.join(', ')}` : undefined,
    s.tags
      ? `tags ${Object.entries(s.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : undefined,
    s.zoneId ? `zone ${s.zoneId}` : undefined,
    s.vSwitchId ? `vSwitch ${s.vSwitchId}` : undefined,
    s.namePattern ? `name ${s.namePattern}` : undefined,
  ].filter(Boolean);
  return [
    `VPC **${input.vpcId}** in ${input.regionId}${filters.length ? `, only ${filters.join('; ')}` : ''}.`,
    `Per instance, the runbook: convert the NAT public IP to an EIP, create and attach a secondary ENI, move the EIP onto it (NAT mode), verify SSH and SNAT egress.`,
    `Canary ${input.canary ?? 1}, then ${input.concurrency ?? 5} at a time; pauses when errors exceed ${input.maxErrors ?? '0'}` +
      (input.windowEnd
        ? `; no new start after ${input.windowEnd}`
        : input.windowSeconds
          ? `; window ${input.windowSeconds} s`
          : '') +
      (input.dryRun
        ? '. Dry run: nothing changes.'
        : input.requireApproval
          ? '. Waits for approval of its plan.'
          : '.'),
  ].join('\n\n');
}

function rootMessage(failure: Error | undefined): string | undefined {
  let current = failure;
  while (current instanceof TemporalFailure && current.cause instanceof Error) current = current.cause;
  return current?.message;
}

function quote(value: string): string {
  if (!/^[A-Za-z0-9._:/-]+$/.test(value)) throw new Error(`invalid filter value ${JSON.stringify(value)}`);
  return `'${value}'`;
}
