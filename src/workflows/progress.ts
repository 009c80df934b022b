import {
  isCancellation,
  log,
  metricMeter,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  REVERT_STEP_ORDER,
  STEP_ORDER,
  type EipConversion,
  type MigrationInput,
  type MigrationProgress,
  type MigrationReport,
  type MigrationResources,
  type Outcome,
  type PreflightCheck,
  type RollbackStuck,
  type StepName,
  type StepProgress,
} from '../shared/migration';
import { LOG_EVENT } from '../observability/log-events';
import { MigrationMetrics } from '../observability/metrics';
import { INSTANCE_ID, MIGRATION_OUTCOME, MIGRATION_STEP } from '../shared/search-attributes';
import { stepLabel, stepNumber, type WorkflowKind } from '../shared/summaries';
import { progressQuery, reportQuery } from './messages';
import { failureDetail, messageOf } from './failures';

/**
 * What the `progress` query shows and the report is built from: per-step state, timing and API calls, the resources
 * found or made so far. Also keeps the MigrationStep / MigrationOutcome search attributes current, and the Web UI's
 * "current details" (a short Markdown of where the workflow stands), refreshed at every change of state.
 *
 * The current details cost nothing in the history: `setCurrentDetails` only keeps a string in the workflow's memory,
 * which the Web UI reads through the built-in `__temporal_workflow_metadata` query. No command, so no patch needed.
 * Nor do the metrics (src/observability/metrics.ts): the workflow's metric meter is a sink, skipped during replay.
 * Nor the log lines (one per step start and end, LOG_EVENT): the workflow's `log` is a sink to the worker's logger,
 * silent during replay; the SDK adds workflowId, workflowType and runId, the tracker instanceId and step.
 */
export class MigrationTracker {
  readonly resources: MigrationResources = {};
  checks: PreflightCheck[] = [];
  awaitingApproval = false;
  /** Step 1's effect (the migration sets it; the way back has no step 1). */
  eipConverted?: EipConversion;
  guestSetup?: MigrationReport['guestSetup'];
  /** Set while a rollback step keeps failing. */
  rollbackStuck?: RollbackStuck;
  /** Told when a stuck step goes through (RollbackRounds forgets an operator's request that came too late). */
  onUnstuck?: () => void;
  /** The final report, once there is one (the `report` query). */
  report?: MigrationReport;
  private current: StepName | 'done' = 'preflight';
  private readonly steps = new Map<StepName, StepProgress>();
  private readonly startedAt = Date.now();
  /** The window without a public address: when the current one began, and the time of those that ended. */
  private offlineSince?: number;
  private offlineBefore = 0;
  private offlineSeen = false;
  /** Ended refused (endRefused): the current details say so. */
  private refused = false;
  private readonly metrics = new MigrationMetrics(metricMeter);

  constructor(
    private readonly input: Pick<MigrationInput, 'instanceId' | 'regionId'>,
    /** The steps this workflow runs, in order: the migration's (default) or the way back's. */
    private readonly order: readonly StepName[] = STEP_ORDER,
  ) {
    for (const name of order) this.steps.set(name, { name, state: 'pending', apiCalls: 0 });
  }

  /** Answers the `progress` and `report` queries, and lists the workflow as running in the Web UI. */
  open(): void {
    setHandler(progressQuery, () => this.progress());
    setHandler(reportQuery, () => this.report);
    upsertSearchAttributes([
      { key: INSTANCE_ID, value: this.input.instanceId },
      { key: MIGRATION_STEP, value: 'preflight' },
      { key: MIGRATION_OUTCOME, value: 'running' },
    ]);
    this.metrics.started();
    log.info(LOG_EVENT.migrationStarted, { instanceId: this.input.instanceId });
    this.showDetails();
  }

  progress(): MigrationProgress {
    return {
      workflowId: workflowInfo().workflowId,
      instanceId: this.input.instanceId,
      regionId: this.input.regionId,
      currentStep: this.current,
      awaitingApproval: this.awaitingApproval,
      steps: this.stepList(),
      resources: { ...this.resources },
      apiCalls: this.apiCalls(),
      ...(this.rollbackStuck ? { rollbackStuck: { ...this.rollbackStuck } } : {}),
      ...(this.offlineSeen ? { offlineMs: this.offlineMs() } : {}),
    };
  }

  /** Step 4 is about to run: from here the instance may have no public address. */
  goingOffline(): void {
    this.offlineSeen = true;
    this.offlineSince ??= Date.now();
    this.showDetails();
  }

  /** The EIP is bound again (to the ENI by step 5, or back to the instance by the rollback). */
  backOnline(): void {
    if (this.offlineSince === undefined) return;
    this.offlineBefore += Date.now() - this.offlineSince;
    this.offlineSince = undefined;
    this.showDetails();
  }

  /** Time without a public address so far. */
  offlineMs(): number {
    return this.offlineBefore + (this.offlineSince === undefined ? 0 : Date.now() - this.offlineSince);
  }

  /** A rollback round failed: say so in the progress, and (once per episode) in the MigrationStep attribute. */
  stuck(info: RollbackStuck): void {
    if (this.rollbackStuck?.step !== info.step || this.rollbackStuck.action !== info.action) {
      upsertSearchAttributes([{ key: MIGRATION_STEP, value: `rollback-stuck:${info.step}` }]);
    }
    this.metrics.rollbackRoundFailed(info.step);
    log.warn(LOG_EVENT.rollbackStuck, {
      instanceId: this.input.instanceId,
      step: info.step,
      action: info.action,
      rounds: info.rounds,
    });
    this.rollbackStuck = info;
    this.showDetails();
  }

  /** The stuck rollback step went through. */
  unstuck(): void {
    if (!this.rollbackStuck) return;
    this.onUnstuck?.();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: `rollback:${this.rollbackStuck.step}` }]);
    this.rollbackStuck = undefined;
    this.showDetails();
  }

  /** Runs a forward step: marks it running, then done or failed, with its duration and API calls. */
  async run<R extends { apiCalls: number }>(name: StepName, fn: () => Promise<R>): Promise<R> {
    const step = this.get(name);
    this.current = name;
    step.state = 'running';
    step.startedAt = new Date().toISOString();
    const start = Date.now();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: name }]);
    log.info(LOG_EVENT.stepStarted, { instanceId: this.input.instanceId, step: name });
    this.showDetails();
    try {
      const result = await fn();
      step.apiCalls += result.apiCalls;
      step.state = 'done';
      return result;
    } catch (err) {
      step.apiCalls += apiCallsOf(err);
      step.state = 'failed';
      step.error = messageOf(err);
      throw err;
    } finally {
      step.durationMs = Date.now() - start;
      const result = step.state === 'done' ? 'done' : 'failed';
      this.metrics.step(name, result, step.durationMs);
      log.info(LOG_EVENT.stepEnded, {
        instanceId: this.input.instanceId,
        step: name,
        result,
        durationMs: step.durationMs,
        apiCalls: step.apiCalls,
        ...(step.error ? { error: step.error } : {}),
      });
      this.showDetails();
    }
  }

  /**
   * Runs the compensation of a step: compensating, then compensated (or failed, leaving its error). A compensation that
   * rolled forward instead leaves the step done: its effect (the EIP off the instance) stays.
   */
  async undo<R extends { apiCalls: number; rolledForward?: string }>(
    name: StepName,
    fn: () => Promise<R>,
  ): Promise<R> {
    const step = this.get(name);
    step.state = 'compensating';
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: `rollback:${name}` }]);
    const instanceId = this.input.instanceId;
    log.info(LOG_EVENT.compensationStarted, { instanceId, step: name });
    this.showDetails();
    try {
      const result = await fn();
      step.apiCalls += result.apiCalls;
      step.state = result.rolledForward ? 'done' : 'compensated';
      const outcome = result.rolledForward ? 'rolled-forward' : 'compensated';
      this.metrics.compensation(name, outcome);
      log.info(LOG_EVENT.compensationEnded, { instanceId, step: name, result: outcome });
      return result;
    } catch (err) {
      step.apiCalls += apiCallsOf(err);
      step.state = 'failed';
      step.error = `rollback failed: ${messageOf(err)}`;
      this.metrics.compensation(name, 'failed');
      log.warn(LOG_EVENT.compensationEnded, { instanceId, step: name, result: 'failed', error: step.error });
      throw err;
    } finally {
      this.showDetails();
    }
  }

  /** A step undone, then done again by a roll-forward (the EIP back on the ENI). */
  redone(name: StepName): void {
    this.get(name).state = 'done';
    this.showDetails();
  }

  /** A compensation that did not run because one it depends on failed: the step's resource is still there. */
  notUndone(name: StepName, reason: string): void {
    this.get(name).error = `rollback ${reason}`;
    this.showDetails();
  }

  skip(name: StepName): void {
    this.get(name).state = 'skipped';
    this.showDetails();
  }

  /** Marks where the workflow waits (approval), for the query and the Web UI. */
  waiting(label: string): void {
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: label }]);
    this.showDetails(label);
  }

  finish(outcome: Outcome, extra: ReportExtra = {}): MigrationReport {
    this.current = 'done';
    this.backOnline();
    for (const step of this.steps.values()) if (step.state === 'pending') step.state = 'skipped';
    // A cancelled migration's report says rolled-back (cause `cancelled`); the list filters it as cancelled.
    const listed = extra.cause === CANCELLED && outcome === 'rolled-back' ? CANCELLED : outcome;
    upsertSearchAttributes([
      { key: MIGRATION_STEP, value: 'done' },
      { key: MIGRATION_OUTCOME, value: listed },
    ]);
    this.metrics.ended(listed);
    if (this.offlineSeen) this.metrics.offlineWindow(listed, this.offlineMs());
    log.info(LOG_EVENT.migrationEnded, {
      instanceId: this.input.instanceId,
      outcome: listed,
      ...(extra.cause ? { cause: extra.cause } : {}),
      ...(this.offlineSeen ? { offlineMs: this.offlineMs() } : {}),
    });
    const r = this.resources;
    this.report = {
      workflowId: workflowInfo().workflowId,
      instanceId: this.input.instanceId,
      regionId: this.input.regionId,
      outcome,
      ...(extra.cause ? { cause: extra.cause } : {}),
      ...(extra.leftovers?.length ? { leftovers: extra.leftovers } : {}),
      publicIp: r.publicIp,
      allocationId: r.allocationId,
      networkInterfaceId: r.networkInterfaceId,
      eniPrivateIp: r.eniPrivateIp,
      snatIp: r.snatIp,
      checks: this.checks,
      steps: this.stepList(),
      apiCalls: this.apiCalls(),
      durationMs: Date.now() - this.startedAt,
      ...(this.eipConverted ? { eipConverted: this.eipConverted } : {}),
      ...(this.guestSetup ? { guestSetup: this.guestSetup } : {}),
      ...(this.offlineSeen ? { offlineMs: this.offlineMs() } : {}),
      ...(extra.verificationSkipped ? { verificationSkipped: extra.verificationSkipped } : {}),
      ...(extra.rolledForward ? { rolledForward: extra.rolledForward } : {}),
    };
    this.showDetails();
    return this.report;
  }

  /**
   * Records the end of a migration refused before any change (preflight refused it, or could not run), so the Web UI's
   * list does not show it running forever. `refused`, not `failed`: `list --outcome failed` finds what needs a person.
   */
  endRefused(): void {
    this.current = 'done';
    for (const step of this.steps.values()) if (step.state === 'pending') step.state = 'skipped';
    upsertSearchAttributes([
      { key: MIGRATION_STEP, value: 'done' },
      { key: MIGRATION_OUTCOME, value: REFUSED },
    ]);
    this.metrics.ended(REFUSED);
    log.info(LOG_EVENT.migrationEnded, { instanceId: this.input.instanceId, outcome: REFUSED });
    this.refused = true;
    this.showDetails();
  }

  /**
   * The Web UI's "current details": what runs now (or why it waits), the steps done, the resources found or made, the
   * time without a public address, a stuck rollback with what to do. Short Markdown, one fact a paragraph.
   */
  private showDetails(waitingFor?: string): void {
    const kind: WorkflowKind = this.order === REVERT_STEP_ORDER ? 'revert' : 'migration';
    const id = workflowInfo().workflowId;
    const steps = this.stepList();
    const label = (s: StepProgress) => `${stepNumber(s.name, kind)}. ${stepLabel(s.name, kind)}`;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const lines: string[] = [];

    if (this.report) {
      lines.push(
        `**Ended: ${this.report.outcome}**${this.report.cause ? ` (${this.report.cause})` : ''}` +
          ` after ${seconds(this.report.durationMs)}, ${this.report.apiCalls} API calls.`,
      );
      for (const l of this.report.leftovers ?? []) lines.push(`Left for a person: ${l}`);
    } else if (this.refused) {
      const failed = this.checks.filter((c) => !c.ok);
      lines.push(
        '**Ended: refused** before any change' +
          (failed.length ? `: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}` : '.'),
      );
    } else if (this.rollbackStuck) {
      const r = this.rollbackStuck;
      lines.push(
        `**Rollback stuck** (undoing step ${stepNumber(r.step, kind)}): ${r.action} failed ${r.rounds} round(s) since ${r.since}: ${r.lastError}`,
        (r.fix ? `Fix: ${r.fix.replace(/\.$/, '')}. ` : '') +
          (r.nextRetryAt
            ? `Next round at ${r.nextRetryAt}, or now: \`eni-migrate retry-rollback ${id}\``
            : `No round comes by itself any more: \`eni-migrate retry-rollback ${id}\` runs one`) +
          (r.canRollForward ? `; or give the EIP its other home: \`eni-migrate roll-forward ${id}\`.` : '.'),
      );
    } else if (waitingFor === 'awaiting-approval' || this.awaitingApproval) {
      lines.push(
        `**Waiting for approval** before the irreversible step 1: \`eni-migrate approve ${id}\` (or cancel).`,
      );
    } else {
      const running = steps.find((s) => s.state === 'running');
      const undoing = steps.filter((s) => s.state === 'compensating');
      if (undoing.length) lines.push(`**Rolling back**: ${undoing.map(label).join('; ')}`);
      else if (running) lines.push(`**Now**: ${label(running)}`);
      else if (waitingFor) lines.push(`**Waiting**: ${waitingFor}`);
    }

    const done = steps.filter((s) => s.state === 'done');
    if (done.length) {
      lines.push(
        `Done: ${done.map((s) => `${s.name}${s.durationMs === undefined ? '' : ` (${seconds(s.durationMs)})`}`).join(', ')}`,
      );
    }
    const undone = steps.filter((s) => s.state === 'compensated');
    if (undone.length) lines.push(`Undone: ${undone.map((s) => s.name).join(', ')}`);
    // A failed step, or a done one whose rollback could not run (its resource is still there).
    for (const s of steps.filter((s) => s.error)) lines.push(`${s.name}: ${s.error}`);

    const r = this.resources;
    const found = [
      r.publicIp ? `address ${r.publicIp}${r.allocationId ? ` (EIP ${r.allocationId})` : ''}` : undefined,
      r.networkInterfaceId
        ? `ENI ${r.networkInterfaceId}${r.eniPrivateIp ? ` (${r.eniPrivateIp})` : ''}`
        : undefined,
      r.vpcId ? `VPC ${r.vpcId}` : undefined,
      r.vSwitchId ? `vSwitch ${r.vSwitchId}` : undefined,
      r.snatIp ? `SNAT IP ${r.snatIp}` : undefined,
    ].filter(Boolean);
    if (found.length) lines.push(`Resources: ${found.join(', ')}`);

    if (this.offlineSince !== undefined) {
      lines.push(
        `**No public address** since ${new Date(this.offlineSince).toISOString()}` +
          (this.offlineBefore ? ` (and ${seconds(this.offlineBefore)} before)` : ''),
      );
    } else if (this.offlineSeen) {
      lines.push(`Without a public address: ${seconds(this.offlineBefore)} in all`);
    }
    setCurrentDetails(lines.join('\n\n'));
  }

  private get(name: StepName): StepProgress {
    return this.steps.get(name) as StepProgress;
  }

  private stepList(): StepProgress[] {
    return this.order.map((n) => ({ ...this.get(n) }));
  }

  private apiCalls(): number {
    return [...this.steps.values()].reduce((sum, s) => sum + s.apiCalls, 0);
  }
}

/**
 * Ends a workflow stopped before any change: cancelled (the report, by query, says nothing was undone since nothing
 * was done) or refused (preflight's failure says why; the Web UI must not list it as running).
 */
export function endBeforeAnyChange(track: MigrationTracker, err: unknown): void {
  if (isCancellation(err)) track.finish('rolled-back', { cause: CANCELLED });
  else track.endRefused();
}

/** MigrationOutcome of a migration refused before any change. */
export const REFUSED = 'refused';

/** The cause of a migration ended by cancellation. */
export const CANCELLED = 'cancelled';

export interface ReportExtra {
  cause?: string;
  leftovers?: string[];
  verificationSkipped?: string;
  rolledForward?: string;
}

/** Activities report the calls of a failed attempt in the failure's details. */
function apiCallsOf(err: unknown): number {
  const apiCalls = failureDetail(err)?.apiCalls;
  return typeof apiCalls === 'number' ? apiCalls : 0;
}
