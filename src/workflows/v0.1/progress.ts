import {
  ActivityFailure,
  ApplicationFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  STEP_ORDER,
  type MigrationInput,
  type MigrationProgress,
  type MigrationReport,
  type MigrationResources,
  type Outcome,
  type PreflightCheck,
  type StepName,
  type StepProgress,
} from '../../shared/migration';
import { MIGRATION_OUTCOME, MIGRATION_STEP } from '../../shared/search-attributes';
import { messageOf } from './saga';

/**
 * What the `progress` query shows and the report is built from: per-step state, timing and API calls, the resources
 * found or made so far. Also keeps the MigrationStep / MigrationOutcome search attributes current.
 */
export class MigrationTracker {
  readonly resources: MigrationResources = {};
  checks: PreflightCheck[] = [];
  awaitingApproval = false;
  private current: StepName | 'done' = 'preflight';
  private readonly steps = new Map<StepName, StepProgress>();
  private readonly startedAt = Date.now();

  constructor(private readonly input: MigrationInput) {
    for (const name of STEP_ORDER) this.steps.set(name, { name, state: 'pending', apiCalls: 0 });
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
    };
  }

  /** Runs a forward step: marks it running, then done or failed, with its duration and API calls. */
  async run<R extends { apiCalls: number }>(name: StepName, fn: () => Promise<R>): Promise<R> {
    const step = this.get(name);
    this.current = name;
    step.state = 'running';
    step.startedAt = new Date().toISOString();
    const start = Date.now();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: name }]);
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
    }
  }

  /** Runs the compensation of a step: compensating, then compensated (or failed, leaving its error). */
  async undo(name: StepName, fn: () => Promise<{ apiCalls: number }>): Promise<void> {
    const step = this.get(name);
    step.state = 'compensating';
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: `rollback:${name}` }]);
    try {
      step.apiCalls += (await fn()).apiCalls;
      step.state = 'compensated';
    } catch (err) {
      step.apiCalls += apiCallsOf(err);
      step.state = 'failed';
      step.error = `rollback failed: ${messageOf(err)}`;
      throw err;
    }
  }

  /** A compensation that did not run because one it depends on failed: the step's resource is still there. */
  notUndone(name: StepName, reason: string): void {
    this.get(name).error = `rollback ${reason}`;
  }

  skip(name: StepName): void {
    this.get(name).state = 'skipped';
  }

  /** Marks where the workflow waits (approval), for the query and the Web UI. */
  waiting(label: string): void {
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: label }]);
  }

  finish(outcome: Outcome, extra: { cause?: string; leftovers?: string[] } = {}): MigrationReport {
    this.current = 'done';
    for (const step of this.steps.values()) if (step.state === 'pending') step.state = 'skipped';
    upsertSearchAttributes([
      { key: MIGRATION_STEP, value: 'done' },
      { key: MIGRATION_OUTCOME, value: outcome },
    ]);
    const r = this.resources;
    return {
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
    };
  }

  /**
   * Records the end of a migration that ends with an error rather than a report (preflight refused or failed, the
   * workflow cancelled before any change), so the Web UI's list does not show it running forever.
   */
  endWithoutReport(outcome: 'failed' | 'cancelled'): void {
    this.current = 'done';
    for (const step of this.steps.values()) if (step.state === 'pending') step.state = 'skipped';
    upsertSearchAttributes([
      { key: MIGRATION_STEP, value: 'done' },
      { key: MIGRATION_OUTCOME, value: outcome },
    ]);
  }

  private get(name: StepName): StepProgress {
    return this.steps.get(name) as StepProgress;
  }

  private stepList(): StepProgress[] {
    return STEP_ORDER.map((n) => ({ ...this.get(n) }));
  }

  private apiCalls(): number {
    return [...this.steps.values()].reduce((sum, s) => sum + s.apiCalls, 0);
  }
}

/** Activities report the calls of a failed attempt in the failure's details. */
function apiCallsOf(err: unknown): number {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const d = cause.details?.[0] as { apiCalls?: unknown } | undefined;
    if (typeof d?.apiCalls === 'number') return d.apiCalls;
  }
  return 0;
}
