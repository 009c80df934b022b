import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EipOnEni, RevertPlan } from '../activities';
import { REVERT_STEP_ORDER, type MigrationReport, type RevertInput } from '../shared/migration';
import { VPC_ID } from '../shared/search-attributes';
import { RATE_LIMITS_V3, scheduler, type Scheduler } from './activity-options';
import { messageOf, migrationFailed } from './failures';
import { refuseBadLimits } from './limits';
import { withinOfflineBudget } from './offline-budget';
import { endBeforeAnyChange, MigrationTracker } from './progress';
import { RollbackRounds, type RoundsResult } from './rollback-rounds';
import { rollBack } from './roll-back';
import { REVERT_STEPS, StepLabels } from './runbook-steps';
import { Saga } from './saga';

/** Errors of AssociateEipAddress saying the ENI cannot take the EIP back: it is gone. */
const ENI_GONE = new Set([
  'InvalidNetworkInterfaceId.NotFound',
  'InvalidEniId.NotFound',
  'InvalidInstanceId.NotFound',
  'InvalidInstanceID.NotFound',
  'InvalidInstanId.NotFound', // AssociateEipAddress's own spelling (the API doc)
  'InvalidParams.NotFound', // … and its other one, for a target it does not find
]);

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
  const act = scheduler(patched(RATE_LIMITS_V3));
  const track = new MigrationTracker(input, REVERT_STEP_ORDER);
  const say = new StepLabels(REVERT_STEPS, () => ({ instanceId: input.instanceId, ...track.resources }));
  track.open();
  const limits = refuseBadLimits(input, track);
  const rounds = new RollbackRounds(track, limits.rollbackRetryMaxMs);
  rounds.handleUpdates();
  const verify = input.verify ?? true;

  let plan: RevertPlan;
  try {
    plan = await preflight(input, verify, track, act, say);
  } catch (err) {
    endBeforeAnyChange(track, err);
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
  // Detach and delete the ENI once the EIP is on the instance. A failure strands nothing: the ENI is left, named. A
  // cancellation now would only leave the ENI behind, so this finishes regardless.
  const removeEni = async (): Promise<string[]> => {
    try {
      await CancellationScope.nonCancellable(async () => {
        await track.run('detachEni', () => act.undo('detachNetworkInterface', say.does('detachEni'), eniRef));
        await track.run('deleteEni', () =>
          act.undo('deleteNetworkInterface', say.does('deleteEni'), {
            networkInterfaceId: plan.networkInterfaceId,
            tokenSeed,
          }),
        );
      });
      return [];
    } catch (err) {
      return [
        `ENI ${plan.networkInterfaceId} (created by eni-migration) on ${plan.instanceId}: detach it (ECS DetachNetworkInterface), then delete it (error: ${messageOf(err)})`,
      ];
    }
  };
  const saga = new Saga();
  let verificationSkipped: string | undefined;
  try {
    // 1. Unbind the EIP from the ENI: from here until it is bound again, the instance has no public address. Rounds
    // and the roll-forward send their own ClientTokens: an earlier move's token would only get its old answer back.
    // Forward, for the way back, is the instance; an EIP found on the other home (put there by hand) counts as home.
    const forwardToInstance = (round: number) =>
      act.rollbackRound('associateEipToInstance', say.rollsForward(round), {
        ...eipOnInstance,
        tokenScope: `forward-r${round}`,
        orHomeOn: plan.networkInterfaceId,
      });
    const rollForwardAction = 'bind the EIP to the instance (roll forward)';
    const forwardIfOnInstance = (r: RoundsResult<{ endedOn?: string }>, byHand: string) =>
      r.result.endedOn === plan.instanceId
        ? byHand
        : r.rolledForward && r.result.endedOn !== plan.networkInterfaceId
          ? r.rolledForward
          : undefined;
    saga.register({
      name: 'bind the EIP back to the ENI',
      undo: () =>
        track.undo('unassociateEipFromEni', async () => {
          const r = await rounds.untilDone({
            step: 'unassociateEipFromEni',
            action: 'bind the EIP back to the ENI',
            attempt: (round) =>
              act.rollbackRound('associateEipToEni', say.undoes('unassociateEipFromEni', round), {
                ...eipOnEni,
                tokenScope: `r${round}`,
                orHomeOn: plan.instanceId,
              }),
            rollForward: forwardToInstance,
            rollForwardAction,
            impossible: (type) => ENI_GONE.has(type),
          });
          track.backOnline();
          const rolledForward = forwardIfOnInstance(
            r,
            'the EIP was found back on the instance (put there by hand)',
          );
          if (rolledForward) track.redone('associateEipToInstance');
          return { apiCalls: r.result.apiCalls, rolledForward };
        }),
      leftover: () => `EIP ${plan.publicIp} (${plan.allocationId}) is bound to nothing: bind it to the ENI`,
    });
    track.goingOffline();
    await track.run('unassociateEipFromEni', () =>
      act.changes('unassociateEipFromEni', say.does('unassociateEipFromEni'), eipOnEni),
    );

    // 2. Bind it to the instance, within the offline budget.
    saga.register({
      name: 'unbind the EIP from the instance',
      undo: () =>
        track.undo('associateEipToInstance', async () => {
          track.goingOffline();
          const r = await rounds.untilDone({
            step: 'associateEipToInstance',
            action: 'unbind the EIP from the instance',
            // Found back on the ENI (fixed by hand), it has a home: done.
            attempt: (round) =>
              act.rollbackRound('unassociateEipFromInstance', say.undoes('associateEipToInstance', round), {
                ...eipOnInstance,
                tokenScope: `r${round}`,
                orHomeOn: plan.networkInterfaceId,
              }),
            // Stuck taking the EIP off the instance, where the way back wants it anyway: keep it there.
            rollForward: forwardToInstance,
            rollForwardAction: 'keep the EIP on the instance (roll forward)',
          });
          const rolledForward = forwardIfOnInstance(r, 'the EIP stayed on the instance');
          if (rolledForward) track.backOnline();
          return { apiCalls: r.result.apiCalls, rolledForward };
        }),
      leftover: () => `EIP ${plan.publicIp} (${plan.allocationId}) may still be on ${plan.instanceId}`,
    });
    const budgetMs = limits.offlineBudgetMs;
    await track.run('associateEipToInstance', () =>
      withinOfflineBudget(budgetMs - track.offlineMs(), budgetMs, () =>
        act.changes('associateEipToInstance', say.does('associateEipToInstance'), eipOnInstance),
      ),
    );
    track.backOnline();

    // 3. The same host answers on the address, and its traffic leaves through it again.
    if (verify) {
      const timeoutSeconds = input.verifyTimeoutSeconds ?? 120;
      await track.run('verify', () =>
        act.guest(timeoutSeconds)('verifyMigration', say.does('verify'), {
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
    // Until the EIP is home on the instance, the way back's rollback puts it back on the ENI (as migrated). Rolled
    // forward instead, the EIP is on the instance: the ENI goes as it would have.
    return rollBack(saga, track, err, () => removeEni());
  }

  // 4–5. The address is home on the instance: the ENI goes.
  const leftovers = await removeEni();
  if (leftovers.length > 0) {
    throw migrationFailed(
      track.finish('failed', {
        cause: `the EIP is back on ${plan.instanceId}, but the ENI was not removed`,
        leftovers,
      }),
    );
  }
  return track.finish('reverted', { verificationSkipped });
}

/** Step 0. Throws a non-retryable PreflightFailed naming every failed check and its fix. */
async function preflight(
  input: RevertInput,
  verify: boolean,
  track: MigrationTracker,
  act: Scheduler,
  say: StepLabels,
): Promise<RevertPlan> {
  let result;
  try {
    result = await track.run('preflight', () =>
      act.reads('revertPreflight', say.does('preflight'), {
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
  if (plan.vpcId) upsertSearchAttributes([{ key: VPC_ID, value: plan.vpcId }]);
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
