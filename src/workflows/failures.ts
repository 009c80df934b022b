import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { MIGRATION_FAILED, type MigrationReport } from '../shared/migration';

/** Reading the failures activities raise, and raising the workflow's own. */

/** The ApplicationFailure inside an activity's failure: its type is the cloud's error code (or the activity's own). */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** The first detail of an activity's failure (the cloud error's action, code, kind, fix; the attempt's API calls). */
export function failureDetail(err: unknown): Record<string, unknown> | undefined {
  const first = applicationFailureOf(err)?.details?.[0];
  return typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
}

/** The innermost message of a failure chain (ActivityFailure -> ApplicationFailure), which is the useful one. */
export function messageOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** A migration (or revert) that left resources behind ends as a failed workflow, its report the first detail. */
export function migrationFailed(report: MigrationReport): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${report.instanceId}: ${report.cause ?? 'failed'}; left in the cloud: ${(report.leftovers ?? []).join('; ')}`,
    type: MIGRATION_FAILED,
    nonRetryable: true,
    details: [report],
  });
}
