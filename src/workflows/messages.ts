/** The messages a migration answers: every release of the workflow registers the same names. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MigrationProgress } from '../shared/migration';

export const progressQuery = defineQuery<MigrationProgress>('progress');
/** Lets a migration that waits for approval go past the irreversible step 1. */
export const approveUpdate = defineUpdate<void, []>('approve');
/** The same, for callers that cannot wait for an update's answer. */
export const approveSignal = defineSignal('approve');
