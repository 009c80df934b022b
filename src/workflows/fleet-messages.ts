/** The messages a batch (migrateFleet) answers. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { FleetProgress, FleetReport } from '../shared/fleet';

export const batchProgressQuery = defineQuery<FleetProgress>('batchProgress');
/** The batch's report once it has ended (also for a cancelled batch, which returns no result). */
export const batchReportQuery = defineQuery<FleetReport | undefined>('batchReport');
/** No new migration starts; those in flight finish. */
export const pauseBatchUpdate = defineUpdate<void, []>('pause');
/** Start migrations again (after a pause by an operator, the failure breaker or a failed canary). */
export const resumeBatchUpdate = defineUpdate<void, []>('resume');
/** How many migrations may be in flight at once, from now on (1–100). */
export const setConcurrencyUpdate = defineUpdate<void, [number]>('setConcurrency');
/** A batch started with requireApproval: its plan is approved, migrations may start. */
export const approveBatchUpdate = defineUpdate<void, []>('approve');
