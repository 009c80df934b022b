import { isCancellation, log } from '@temporalio/workflow';
import type { MigrationReport } from '../shared/migration';
import { messageOf, migrationFailed } from './failures';
import { CANCELLED, type MigrationTracker } from './progress';
import type { Saga } from './saga';

/**
 * After a failure or a cancellation: run the saga's compensations, then end as the cloud now is. Rolled forward (the
 * EIP on the ENI) or rolled back: a report. Resources left: a failed workflow, the report in its details. Cancelled:
 * a cancelled workflow, the report by query.
 */
export async function rollBack(
  saga: Saga,
  track: MigrationTracker,
  err: unknown,
  /** After a roll-forward: what else the forward state needs; answers what it leaves in the cloud. */
  afterRollForward: () => Promise<string[]> = async () => [],
): Promise<MigrationReport> {
  const cancelled = isCancellation(err);
  const cause = cancelled ? CANCELLED : messageOf(err);
  log.warn('rolling back', { cause, compensations: saga.registered });
  const { failures, rolledForward } = await saga.compensate();
  if (rolledForward) {
    const leftovers = await afterRollForward();
    if (leftovers.length > 0) {
      throw migrationFailed(
        track.finish('failed', { cause: `${cause}; rolled forward`, rolledForward, leftovers }),
      );
    }
    return track.finish('rolled-forward', { cause, rolledForward });
  }
  if (failures.length > 0) {
    throw migrationFailed(
      track.finish('failed', {
        cause: `${cause}; rollback incomplete`,
        leftovers: failures.map((f) => `${f.leftover} (rollback error: ${f.error})`),
      }),
    );
  }
  const report = track.finish('rolled-back', { cause });
  if (cancelled) throw err;
  return report;
}
