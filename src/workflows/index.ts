/** The workflows of this worker (the bundle's entry point). */
export { approveSignal, approveUpdate, progressQuery } from './messages';
export { migrateInstance } from './migrate-instance';
