import {
  log,
  metricMeter,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { LOG_EVENT } from '../observability/log-events';
import { BatchMetrics } from '../observability/metrics';
import {
  FLEET_NOT_ATTEMPTED,
  FLEET_SUCCESS,
  type BatchOutcome,
  type FleetCarry,
  type FleetInput,
  type FleetInstance,
  type FleetInstanceOutcome,
  type FleetProgress,
  type FleetReport,
  type FleetState,
  type PauseReason,
} from '../shared/fleet';
import { MIGRATION_OUTCOME, MIGRATION_STEP, REGION_ID, VPC_ID } from '../shared/search-attributes';
import { batchProgressQuery, batchReportQuery } from './fleet-messages';

/**
 * A batch's bookkeeping: every instance with its state and outcome, the counts, the breaker's error count, and what
 * the `batchProgress` query, the Web UI (search attributes, current details) and the final report show.
 */
export class FleetTracker {
  readonly instances: FleetInstance[];
  state: FleetState = 'discovering';
  paused?: PauseReason;
  concurrency: number;
  /** The breaker pauses when errors since the last resume exceed the threshold: `errors - errorBase > threshold`. */
  errorBase: number;
  errorThreshold = 0;
  canaryDone: boolean;
  approved: boolean;
  awaitingApproval = false;
  apiCalls: number;
  report?: FleetReport;
  readonly batchId: string;
  readonly startedAt: string;
  readonly continuedAsNew: number;
  windowEnd?: string;
  private readonly metrics = new BatchMetrics(metricMeter);
  /** Whether the batch's states count in the metrics: not the state a run continued as new resumes in. */
  private counting = false;

  constructor(
    private readonly input: FleetInput,
    carried: FleetCarry | undefined,
    defaults: { concurrency: number },
  ) {
    this.batchId = carried?.batchId ?? workflowInfo().workflowId;
    this.startedAt = carried?.startedAt ?? new Date().toISOString();
    this.instances = carried?.instances.map((i) => ({ ...i })) ?? [];
    this.apiCalls = carried?.apiCalls ?? 0;
    this.concurrency = carried?.concurrency ?? defaults.concurrency;
    this.errorBase = carried?.errorBase ?? 0;
    this.canaryDone = carried?.canaryDone ?? false;
    this.paused = carried?.paused;
    this.approved = carried?.approved ?? !input.requireApproval;
    this.continuedAsNew = carried?.continuedAsNew ?? 0;
    this.windowEnd = carried?.windowEnd;
  }

  open(): void {
    setHandler(batchProgressQuery, () => this.progress());
    setHandler(batchReportQuery, () => this.report);
    upsertSearchAttributes([
      { key: VPC_ID, value: this.input.vpcId },
      { key: REGION_ID, value: this.input.regionId },
      { key: MIGRATION_OUTCOME, value: 'running' },
    ]);
    // A batch continuing as new resumes (paused stays paused) and is not started again. Each run counts the state it
    // starts in as entered and the one it ends in as left (`continuing`, `finish`, `abandon`): the level stays right
    // whatever state a run hands over in (draining, say).
    const initial: FleetState = !this.instances.length ? 'discovering' : this.paused ? 'paused' : 'running';
    if (this.continuedAsNew === 0) this.metrics.started();
    this.metrics.entered(initial);
    this.setState(initial);
    this.counting = true;
  }

  /** This run hands over to the next (continue-as-new), which counts its own state entered. */
  continuing(): void {
    if (this.counting) this.metrics.left(this.state);
    this.counting = false;
  }

  /** The workflow fails (not a cancellation): its state is left all the same. Terminated, a run can count nothing. */
  abandon(): void {
    if (this.counting) this.metrics.left(this.state);
    this.counting = false;
  }

  /** Moves to a state; the MigrationStep search attribute follows (`paused:max-errors`, …). */
  setState(state: FleetState): void {
    const before = this.stepLabel();
    if (this.counting && state !== this.state) {
      this.metrics.left(this.state);
      this.metrics.entered(state);
    }
    // Each state entered, and the one a run starts in (a sink: nothing in the history, silent during replay).
    if (!this.counting || state !== this.state) this.logState(state);
    this.state = state;
    if (this.stepLabel() !== before || state === 'discovering') {
      upsertSearchAttributes([{ key: MIGRATION_STEP, value: this.stepLabel() }]);
    }
    this.showDetails();
  }

  pause(reason: PauseReason): void {
    this.metrics.paused(reason);
    if (this.state === 'paused' && this.paused !== reason) this.logState('paused', reason);
    this.paused = reason;
    this.setState('paused');
  }

  resume(): void {
    // Re-armed: the breaker allows another maxErrors errors from here.
    this.errorBase = this.errors();
    this.paused = undefined;
    this.setState('running');
  }

  private logState(state: FleetState, reason = this.paused): void {
    log.info(LOG_EVENT.batchState, {
      batchId: this.batchId,
      state,
      ...(state === 'paused' && reason ? { reason } : {}),
      ...(this.continuedAsNew ? { continuedAsNew: this.continuedAsNew } : {}),
    });
  }

  private stepLabel(): string {
    return this.state === 'paused' && this.paused ? `paused:${this.paused}` : this.state;
  }

  /**
   * Errors so far: migrations that ran and did not end verified, migrated or already-migrated. A refusal is not one:
   * nothing changed, and the report lists it (a subscription instance should not pause a batch at every run).
   */
  errors(): number {
    return this.instances.filter(
      (i) =>
        i.state === 'done' && i.workflowId !== undefined && i.outcome !== 'refused' && !isSuccess(i.outcome),
    ).length;
  }

  /** Instances the batch attempts or will: not those discovery or the plan settled. */
  attemptable(): number {
    return this.instances.filter((i) => i.state !== 'done' || i.workflowId !== undefined).length;
  }

  breakerTripped(): boolean {
    return this.errors() - this.errorBase > this.errorThreshold;
  }

  queued(): FleetInstance[] {
    return this.instances.filter((i) => i.state === 'queued');
  }

  running(): FleetInstance[] {
    return this.instances.filter((i) => i.state === 'running');
  }

  /** An instance's migration ended (or it was settled without one). */
  done(entry: FleetInstance, outcome: FleetInstanceOutcome, fields: Partial<FleetInstance> = {}): void {
    Object.assign(entry, fields, { state: 'done', outcome });
    this.showDetails();
  }

  counts(): Partial<Record<FleetInstanceOutcome, number>> {
    const counts: Partial<Record<FleetInstanceOutcome, number>> = {};
    for (const i of this.instances) {
      if (i.outcome) counts[i.outcome] = (counts[i.outcome] ?? 0) + 1;
    }
    return counts;
  }

  progress(): FleetProgress {
    const counts = this.counts();
    return {
      batchId: this.batchId,
      regionId: this.input.regionId,
      vpcId: this.input.vpcId,
      state: this.state,
      ...(this.paused ? { pausedBecause: this.paused } : {}),
      concurrency: this.concurrency,
      canary: this.input.canary ?? 1,
      maxErrors: this.input.maxErrors ?? '0',
      errors: this.errors(),
      errorThreshold: this.errorBase + this.errorThreshold,
      ...(this.windowEnd ? { windowEnd: this.windowEnd } : {}),
      dryRun: this.input.dryRun ?? false,
      awaitingApproval: this.awaitingApproval,
      counts,
      total: this.instances.length,
      inFlight: this.running().length,
      remaining: this.queued().length,
      deferred: counts.deferred ?? 0,
      instances: this.instances.map((i) => ({ ...i })),
      apiCalls: this.apiCalls,
      startedAt: this.startedAt,
      continuedAsNew: this.continuedAsNew,
    };
  }

  /** The batch has ended: the report, the outcome attribute, the Web UI's details. */
  finish(outcome: BatchOutcome, cause?: string): FleetReport {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { state, pausedBecause, awaitingApproval, ...rest } = this.progress();
    const endedAt = new Date();
    this.report = {
      ...rest,
      outcome,
      ...(cause ? { cause } : {}),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - Date.parse(this.startedAt),
    };
    if (this.counting) this.metrics.left(this.state);
    this.counting = false;
    this.state = 'done';
    upsertSearchAttributes([
      { key: MIGRATION_STEP, value: 'done' },
      { key: MIGRATION_OUTCOME, value: outcome },
    ]);
    this.metrics.ended(outcome);
    log.info(LOG_EVENT.batchEnded, { batchId: this.batchId, outcome, ...(cause ? { cause } : {}) });
    this.showDetails();
    return this.report;
  }

  /** What the batch hands to its next run: finished instances shrink to what the report needs of them. */
  carry(): FleetCarry {
    return {
      batchId: this.batchId,
      startedAt: this.startedAt,
      windowEnd: this.windowEnd,
      instances: this.instances.map(compact),
      apiCalls: this.apiCalls,
      concurrency: this.concurrency,
      errorBase: this.errorBase,
      canaryDone: this.canaryDone,
      paused: this.paused,
      approved: this.approved,
      continuedAsNew: this.continuedAsNew + 1,
    };
  }

  /** How the batch ended, from its instances. */
  outcome(): BatchOutcome {
    if (this.input.dryRun) return 'planned';
    const counts = this.counts();
    if (counts.deferred) return 'window-closed';
    const attempted = this.instances.filter(
      (i) => !FLEET_NOT_ATTEMPTED.includes(i.outcome as FleetInstanceOutcome),
    );
    return attempted.every((i) => isSuccess(i.outcome)) ? 'completed' : 'completed-with-errors';
  }

  /** The Web UI's "current details": a live summary of the batch, as Markdown. */
  private showDetails(): void {
    const counts = Object.entries(this.counts())
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    setCurrentDetails(
      [
        `**Batch ${this.batchId}** — VPC ${this.input.vpcId} (${this.input.regionId})`,
        `State: ${this.stepLabel()}${this.awaitingApproval ? ' (awaiting approval)' : ''}`,
        `Instances: ${this.instances.length}; in flight ${this.running().length}, queued ${this.queued().length}` +
          (counts ? `; ${counts}` : ''),
        `Concurrency ${this.concurrency}; errors ${this.errors()} (pauses above ${this.errorBase + this.errorThreshold})` +
          (this.windowEnd ? `; window ends ${this.windowEnd}` : ''),
      ].join('\n\n'),
    );
  }
}

/**
 * A finished instance as the next run carries it: its outcome, ids and figures, without what only mattered while it
 * ran (its plan, its name and zone). Keeps the carried state near 200 bytes an instance, so thousands fit in a payload.
 */
export function compact(i: FleetInstance): FleetInstance {
  if (i.state !== 'done') return i;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { instanceName, zoneId, vSwitchId, plan, startedAt, step, canary, ...kept } = i;
  return kept;
}

function isSuccess(outcome: FleetInstanceOutcome | undefined): boolean {
  return outcome !== undefined && FLEET_SUCCESS.includes(outcome);
}
