import {
  ApplicationFailure,
  isCancellation,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EipOnEni, RevertPlan } from '../activities';
import {
  MIGRATION_FAILED,
  REVERT_STEP_ORDER,
  type MigrationReport,
  type RevertInput,
} from '../shared/migration';
import { INSTANCE_ID, MIGRATION_OUTCOME, MIGRATION_STEP } from '../shared/search-attributes';
import { changes, guest, reads, rollbackRound, undo } from './activity-options';
import { messageOf, migrationFailed } from './failures';
import { progressQuery, reportQuery } from './messages';
import { withinOfflineBudget } from './offline-budget';
import { CANCELLED, MigrationTracker } from './progress';
import { RollbackRounds } from './rollback-rounds';
import { Saga } from './saga';

/**
 * The way back, for an instance migrated earlier (days later, say): the EIP leaves the ENI and returns to the
 * instance, SSH on the address reaches the same host again, then the ENI (only one this project created, known by
 * its tags) is detached and deleted. The saga rules of the migration hold: nothing changes until preflight passes;
 * until the EIP is home again on the instance, a failure puts it back on the ENI, and those compensations never give
 * up; the time without a public address has the same budget.
 *
 *   0. preflight (read-only)   1. unbind the EIP from the ENI   2. bind it to the instance
 *   3. verify                  4. detach the ENI                5. delete the ENI
 */
export async function revertInstance(input: RevertInput): Promise<MigrationReport> {
  const track = new MigrationTracker(input, REVERT_STEP_ORDER);
  const rounds = new RollbackRounds(track, (input.rollbackRetryMaxIntervalSeconds ?? 300) * 1000);
  setHandler(progressQuery, () => track.progress());
  setHandler(reportQuery, () => track.report);
  rounds.handleUpdates();
  upsertSearchAttributes([
    { key: INSTANCE_ID, value: input.instanceId },
    { key: MIGRATION_STEP, value: 'preflight' },
    { key: MIGRATION_OUTCOME, value: 'running' },
  ]);
  const verify = input.verify ?? true;

  let plan: RevertPlan;
  try {
    plan = await preflight(input, verify, track);
  } catch (err) {
    track.endWithoutReport(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }

  const tokenSeed = workflowInfo().firstExecutionRunId;
  const eipOnEni: EipOnEni = {
    allocationId: plan.allocationId,
    networkInterfaceId: plan.networkInterfaceId,
    privateIpAddress: plan.eniPrivateIp,
    tokenSeed,
  };
  const eipOnInstance = { allocationId: plan.allocationId, instanceId: plan.instanceId, tokenSeed };
  const eniRef = { networkInterfaceId: plan.networkInterfaceId, instanceId: plan.instanceId };
  const saga = new Saga();
  let verificationSkipped: string | undefined;
  try {
    // 1. Unbind the EIP from the ENI: from here until it is bound again, the instance has no public address.
    saga.register({
      name: 'bind the EIP back to the ENI',
      undo: () =>
        track.undo('unassociateEipFromEni', async () => {
          const r = await rounds.untilDone({
            step: 'unassociateEipFromEni',
            action: 'bind the EIP back to the ENI',
            attempt: () => rollbackRound.associateEipToEni(eipOnEni),
          });
          track.backOnline();
          return r.result;
        }),
      leftover: () => `EIP ${plan.publicIp} (${plan.allocationId}) is bound to nothing: bind it to the ENI`,
    });
    track.goingOffline();
    await track.run('unassociateEipFromEni', () => changes.unassociateEipFromEni(eipOnEni));

    // 2. Bind it to the instance, within the offline budget.
    saga.register({
      name: 'unbind the EIP from the instance',
      undo: () =>
        track.undo('associateEipToInstance', async () => {
          const r = await rounds.untilDone({
            step: 'associateEipToInstance',
            action: 'unbind the EIP from the instance',
            attempt: () => rollbackRound.unassociateEipFromInstance(eipOnInstance),
          });
          return r.result;
        }),
      leftover: () => `EIP ${plan.publicIp} (${plan.allocationId}) may still be on ${plan.instanceId}`,
    });
    const budgetMs = (input.offlineBudgetSeconds ?? 300) * 1000;
    await track.run('associateEipToInstance', () =>
      withinOfflineBudget(budgetMs - track.offlineMs(), budgetMs, () =>
        changes.associateEipToInstance(eipOnInstance),
      ),
    );
    track.backOnline();

    // 3. The same host answers on the address, and its traffic leaves through it again.
    if (verify) {
      const timeoutSeconds = input.verifyTimeoutSeconds ?? 120;
      await track.run('verify', () =>
        guest(timeoutSeconds).verifyMigration({
          address: plan.publicIp,
          hostKeyFingerprint: plan.hostKeyFingerprint as string,
          snatIps: [plan.publicIp],
          timeoutSeconds,
          egressCheckScript: input.egressCheckScript,
        }),
      );
    } else {
      track.skip('verify');
      verificationSkipped =
        plan.instanceStatus === 'Stopped'
          ? 'verification is off (the instance is Stopped, so SSH cannot reach it)'
          : 'verification is off (--no-verify)';
    }
  } catch (err) {
    const cancelled = isCancellation(err);
    const cause = cancelled ? CANCELLED : messageOf(err);
    log.warn('revert failed; putting the EIP back on the ENI', { cause });
    const { failures } = await saga.compensate();
    if (failures.length > 0) {
      throw migrationFailed(
        track.finish('failed', {
          cause: `${cause}; rollback incomplete`,
          leftovers: failures.map((f) => `${f.leftover} (rollback error: ${f.error})`),
        }),
      );
    }
    // Back as migrated: the EIP on the ENI, which stays.
    const report = track.finish('rolled-back', { cause });
    if (cancelled) throw err;
    return report;
  }

  // 4–5. The address is home on the instance: the ENI goes. A failure here strands nothing; it leaves the ENI.
  try {
    await track.run('detachEni', () => undo.detachNetworkInterface(eniRef));
    await track.run('deleteEni', () =>
      undo.deleteNetworkInterface({ networkInterfaceId: plan.networkInterfaceId, tokenSeed }),
    );
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === MIGRATION_FAILED) throw err;
    throw migrationFailed(
      track.finish('failed', {
        cause: `the EIP is back on ${plan.instanceId}, but the ENI was not removed: ${isCancellation(err) ? CANCELLED : messageOf(err)}`,
        leftovers: [
          `ENI ${plan.networkInterfaceId} (created by eni-migration) on ${plan.instanceId}: detach it (ECS DetachNetworkInterface), then delete it`,
        ],
      }),
    );
  }
  return track.finish('reverted', { verificationSkipped });
}

/** Step 0. Throws a non-retryable PreflightFailed naming every failed check and its fix. */
async function preflight(input: RevertInput, verify: boolean, track: MigrationTracker): Promise<RevertPlan> {
  let result;
  try {
    result = await track.run('preflight', () =>
      reads.revertPreflight({
        regionId: input.regionId,
        instanceId: input.instanceId,
        verify,
        egressCheckScript: input.egressCheckScript,
      }),
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(
      `preflight of the revert of ${input.instanceId} failed: ${messageOf(err)}`,
      'PreflightFailed',
    );
  }
  track.checks = result.checks;
  const plan = result.plan;
  Object.assign(track.resources, {
    publicIp: plan.publicIp,
    allocationId: plan.allocationId,
    networkInterfaceId: plan.networkInterfaceId,
    eniPrivateIp: plan.eniPrivateIp,
    hostKeyFingerprint: plan.hostKeyFingerprint,
  });
  if (!result.ok) {
    const failed = result.checks.filter((c) => !c.ok);
    throw ApplicationFailure.nonRetryable(
      `preflight of ${input.instanceId} refused the revert, nothing was changed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      'PreflightFailed',
      { checks: result.checks },
    );
  }
  return plan as RevertPlan;
}
