/** The workflows of this worker (the bundle's entry point). */
export { approveSignal, approveUpdate, migrateInstance, progressQuery } from './migrate-instance';
