/**
 * Schedules of batches, on Temporal Schedules: one per VPC, a batch per run, skipped while the previous run is still
 * going. They show in the Web UI's Schedules page, where they can be paused and triggered too.
 */
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import type { MigrationClient } from '../client';
import { batchScheduleId, batchWorkflowId, type FleetInput } from '../shared/fleet';
import { REGION_ID, VPC_ID } from '../shared/search-attributes';
import { BATCH_WORKFLOW_TYPE, batchDetails, batchSummary } from './batches';

export interface BatchScheduleSpec {
  /** Cron expressions (standard five fields, or Temporal's `@daily` and such). */
  cron?: string[];
  /** Every this many seconds. */
  intervalSeconds?: number;
  /** IANA time zone of the cron expressions (default UTC). */
  timeZone?: string;
  /** Create it paused. */
  paused?: boolean;
  /** A note shown with the schedule. */
  note?: string;
}

export interface BatchScheduleInfo {
  scheduleId: string;
  vpcId?: string;
  regionId?: string;
  paused: boolean;
  note?: string;
  cron: string[];
  intervalSeconds: number[];
  timeZone?: string;
  /** ISO times of the next runs. */
  nextRuns: string[];
  /** The batches it started most recently (workflow ids). */
  recentBatches: string[];
  /** The input every run's batch gets. */
  input?: FleetInput;
}

export class BatchScheduleClient {
  constructor(private readonly migrations: MigrationClient) {}

  private get schedules() {
    return this.migrations.client.schedule;
  }

  /** Creates the VPC's schedule. A window (`windowSeconds`) bounds each run: what is left is deferred to the next. */
  async create(input: FleetInput, spec: BatchScheduleSpec): Promise<{ scheduleId: string }> {
    if (!spec.cron?.length && !spec.intervalSeconds)
      throw new Error('a schedule needs a cron expression or an interval');
    const scheduleId = batchScheduleId(input.regionId, input.vpcId);
    await this.schedules.create({
      scheduleId,
      spec: {
        ...(spec.cron?.length ? { cronExpressions: spec.cron } : {}),
        ...(spec.intervalSeconds ? { intervals: [{ every: spec.intervalSeconds * 1000 }] } : {}),
        ...(spec.timeZone ? { timezone: spec.timeZone } : {}),
      },
      action: {
        type: 'startWorkflow',
        workflowType: BATCH_WORKFLOW_TYPE,
        // Temporal appends the scheduled time: every run is a batch of its own, and a batch started by hand
        // (`eni-fleet/<region>/<vpc>`) and a scheduled one see each other through RunningBatchesOf.
        workflowId: batchWorkflowId(input.regionId, input.vpcId),
        taskQueue: this.migrations.taskQueueFor(input.regionId),
        args: [input],
        typedSearchAttributes: [
          { key: VPC_ID, value: input.vpcId },
          { key: REGION_ID, value: input.regionId },
        ],
        staticSummary: batchSummary(input),
        staticDetails: batchDetails(input),
      },
      // Temporal keeps cron expressions as calendars: the text the operator gave is kept beside them.
      memo: { cron: spec.cron ?? [] },
      // The schedule's own attributes (the action's are its batches'): `list` reads the VPC and region from these.
      typedSearchAttributes: [
        { key: VPC_ID, value: input.vpcId },
        { key: REGION_ID, value: input.regionId },
      ],
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { paused: spec.paused ?? false, ...(spec.note ? { note: spec.note } : {}) },
    });
    return { scheduleId };
  }

  async list(): Promise<BatchScheduleInfo[]> {
    const found: BatchScheduleInfo[] = [];
    for await (const s of this.schedules.list()) {
      if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== BATCH_WORKFLOW_TYPE) continue;
      found.push(fromSummary(s));
    }
    return found;
  }

  async describe(scheduleId: string): Promise<BatchScheduleInfo> {
    return fromDescription(await this.schedules.getHandle(scheduleId).describe());
  }

  async pause(scheduleId: string, note?: string): Promise<void> {
    await this.schedules.getHandle(scheduleId).pause(note);
  }

  async unpause(scheduleId: string, note?: string): Promise<void> {
    await this.schedules.getHandle(scheduleId).unpause(note);
  }

  /** Starts a run now (skipped, as scheduled runs are, while a batch of this schedule runs). */
  async trigger(scheduleId: string): Promise<void> {
    await this.schedules.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  }

  async delete(scheduleId: string): Promise<void> {
    await this.schedules.getHandle(scheduleId).delete();
  }
}

function fromSummary(s: ScheduleSummary): BatchScheduleInfo {
  return {
    scheduleId: s.scheduleId,
    vpcId: s.typedSearchAttributes?.get(VPC_ID),
    regionId: s.typedSearchAttributes?.get(REGION_ID),
    paused: s.state.paused,
    note: s.state.note,
    nextRuns: s.info.nextActionTimes.map((t) => t.toISOString()),
    recentBatches: s.info.recentActions.map((a) => a.action.workflow.workflowId),
    ...fromSpec(s.spec, s.memo),
  };
}

function fromDescription(d: ScheduleDescription): BatchScheduleInfo {
  const input =
    d.action.type === 'startWorkflow' ? (d.action.args?.[0] as FleetInput | undefined) : undefined;
  return {
    scheduleId: d.scheduleId,
    vpcId: input?.vpcId,
    regionId: input?.regionId,
    paused: d.state.paused,
    note: d.state.note,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentBatches: d.info.recentActions.map((a) => a.action.workflow.workflowId),
    ...fromSpec(d.spec, d.memo),
    input,
  };
}

function fromSpec(
  spec: ScheduleSummary['spec'],
  memo: Record<string, unknown> | undefined,
): Pick<BatchScheduleInfo, 'cron' | 'intervalSeconds' | 'timeZone'> {
  const cron = memo?.cron;
  return {
    cron: Array.isArray(cron) ? cron.map(String) : [],
    intervalSeconds: (spec?.intervals ?? []).map((i) => Number(i.every) / 1000),
    ...(spec?.timezone ? { timeZone: spec.timezone } : {}),
  };
}
