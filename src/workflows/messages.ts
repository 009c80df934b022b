/** The messages a migration answers: every release of the workflow registers the same names. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MigrationProgress, MigrationReport } from '../shared/migration';

export const progressQuery = defineQuery<MigrationProgress>('progress');
/** Lets a migration that waits for approval go past the irreversible step 1. */
export const approveUpdate = defineUpdate<void, []>('approve');
/** The same, for callers that cannot wait for an update's answer. */
export const approveSignal = defineSignal('approve');

/** The final report, once the migration has ended (also for a cancelled one, which returns no result). */
export const reportQuery = defineQuery<MigrationReport | undefined>('report');
/** A rollback step that keeps failing (`rollback-stuck:<step>`): try it again now, not at the next round. */
export const retryRollbackUpdate = defineUpdate<void, []>('retryRollback');
/** A rollback step that keeps failing: stop going back, and bind the EIP to the new ENI instead (roll forward). */
export const rollForwardUpdate = defineUpdate<void, []>('rollForward');
