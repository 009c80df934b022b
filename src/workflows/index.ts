/** The workflows of this worker (the bundle's entry point). */
export {
  approveSignal,
  approveUpdate,
  progressQuery,
  reportQuery,
  retryRollbackUpdate,
  rollForwardUpdate,
} from './messages';
export { migrateInstance } from './migrate-instance';
export { revertInstance } from './revert-instance';
export { migrateFleet } from './migrate-fleet';
export {
  approveBatchUpdate,
  batchProgressQuery,
  batchReportQuery,
  pauseBatchUpdate,
  resumeBatchUpdate,
  setConcurrencyUpdate,
} from './fleet-messages';
