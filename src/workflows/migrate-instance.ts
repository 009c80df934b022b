import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CreateNetworkInterfaceInput, EipOnEni, MigrationPlan } from '../activities';
import {
  MIGRATION_FAILED,
  type EipConversion,
  type MigrationInput,
  type MigrationReport,
  guestSetupRoute,
} from '../shared/migration';
import { VPC_ID } from '../shared/search-attributes';
import { RATE_LIMITS_V3, scheduler, type Scheduler } from './activity-options';
import { approveSignal, approveUpdate } from './messages';
import { endBeforeAnyChange, MigrationTracker } from './progress';
import { RollbackRounds, type RoundsResult } from './rollback-rounds';
import { migrationFailed, messageOf } from './failures';
import { refuseBadLimits } from './limits';
import { withinOfflineBudget } from './offline-budget';
import { rollBack } from './roll-back';
import { MIGRATION_STEPS, StepLabels } from './runbook-steps';
import { Saga } from './saga';
import { migrateInstanceV0_1 } from './v0.1/migrate-instance';

/**
 * The patch every command change of release 0.2 sits behind. A migration started by a 0.1 worker has no marker for it
 * in its history: it finishes on release 0.1's frozen code (./v0.1), rollbacks included. See docs/operations.md.
 */
export const SAGA_V2 = 'eni-migration-0.2';

/**
 * Release 0.5, asked once at the start: the guest set up through Cloud Assistant (`guestSetup`), a subscription billed by
 * fixed bandwidth switched to pay-by-traffic before step 1 (when asked), and an instance moved already ending
 * `already-migrated` (before: refused). Without the marker (a migration an earlier release began) the workflow keeps
 * that release's rules exactly, whatever the input says: a 0.5 client may start a migration that a 0.4 worker runs.
 */
export const RELEASE_V5 = 'eni-migration-0.5';

/** Errors of AssociateEipAddress saying the instance cannot take its EIP back: it is gone, or has another address. */
const BIND_BACK_IMPOSSIBLE = new Set([
  'InvalidInstanceId.NotFound',
  'InvalidInstanceID.NotFound',
  'InvalidInstanId.NotFound', // AssociateEipAddress's own spelling (the API doc)
  'InvalidParams.NotFound',
  'InvalidAssociation.Duplicated',
  'InvalidStatus.InstanceHasBandWidth',
]);

/**
 * Moves an ECS instance's public IP onto a secondary ENI, following Alibaba Cloud's runbook
 * ("Attach an ENI to an ECS instance that has a public IP address"):
 *
 *   0. preflight (read-only)       1. convert the NAT public IP to an EIP (irreversible)
 *   2. create a secondary ENI      3. attach it to the instance
 *   4. unbind the EIP              5. bind the EIP to the ENI (NAT mode)
 *   6. verify: SSH through the EIP reaches the same host; egress leaves through the NAT gateway's SNAT IP
 *
 * Whatever fails after step 1, the instance ends fully migrated, or back as it was with its public address (now an
 * EIP) still reaching it: the compensations that give the EIP a home never give up (RollbackRounds), and when the
 * way back is impossible the EIP goes onto the ENI (rolled forward). The workflow never ends with the EIP unbound.
 *
 * Ends: completed with the report (verified, migrated, rolled-back, rolled-forward, planned); cancelled after its
 * rollback (the report by the `report` query); failed when resources are left (the report in the failure's details).
 */
export async function migrateInstance(input: MigrationInput): Promise<MigrationReport> {
  if (!patched(SAGA_V2)) return migrateInstanceV0_1(input);
  const act = scheduler(patched(RATE_LIMITS_V3));
  const v5 = patched(RELEASE_V5);
  const track = new MigrationTracker(input);
  const say = new StepLabels(MIGRATION_STEPS, () => ({ instanceId: input.instanceId, ...track.resources }));
  track.eipConverted = 'no';
  let approved = false;
  setHandler(
    approveUpdate,
    () => {
      approved = true;
    },
    {
      validator: () => {
        if (!input.requireApproval) throw new Error('this migration was started without an approval gate');
      },
    },
  );
  setHandler(approveSignal, () => {
    approved = true;
  });
  track.open();
  const limits = refuseBadLimits(input, track);
  const rounds = new RollbackRounds(track, limits.rollbackRetryMaxMs);
  rounds.handleUpdates();
  const verify = input.verify ?? true;

  // 0. Preflight: read-only; a failed check ends the migration before any change, naming cause and fix.
  let plan: MigrationPlan;
  try {
    plan = await preflight(input, verify, track, act, say, v5);
  } catch (err) {
    if (err instanceof AlreadyMigrated) return track.finish('already-migrated', { cause: err.detail });
    endBeforeAnyChange(track, err);
    throw err;
  }
  if (input.dryRun) {
    const failed = track.checks.filter((c) => !c.ok);
    return track.finish('planned', failed.length ? { cause: summarize(failed) } : {});
  }

  if (input.requireApproval && !approved) {
    track.awaitingApproval = true;
    track.waiting('awaiting-approval');
    try {
      await condition(() => approved);
    } catch (err) {
      track.awaitingApproval = false;
      endBeforeAnyChange(track, err);
      throw err;
    }
    track.awaitingApproval = false;
    // A plan approved hours later may be stale: the checks run again, and refuse with nothing changed.
    try {
      plan = await preflight(input, verify, track, act, say, v5);
    } catch (err) {
      if (err instanceof AlreadyMigrated) return track.finish('already-migrated', { cause: err.detail });
      endBeforeAnyChange(track, err);
      throw err;
    }
  }

  // ClientTokens derive from this: the same across a reset of this workflow, another for the next migration.
  const tokenSeed = workflowInfo().firstExecutionRunId;
  const saga = new Saga();
  try {
    // 1. Convert the NAT public IP to an EIP. Irreversible: no compensation; a rollback ends with the EIP here.
    if (plan.convert) {
      const publicIp = plan.publicIp;
      let conversionSent = false;
      try {
        const converted = await track.run('convertToEip', async () => {
          const postPaid = plan.switchToPostPaid
            ? await act.changes('switchToPostPaid', say.does('switchToPostPaid'), {
                instanceId: plan.instanceId,
                tokenSeed,
              })
            : { apiCalls: 0 };
          const byTraffic =
            plan.switchToPayByTraffic && v5
              ? await act.changes('switchToPayByTraffic', say.does('switchToPayByTraffic'), {
                  instanceId: plan.instanceId,
                  tokenSeed,
                })
              : { apiCalls: 0 };
          conversionSent = true;
          const r = await act.changes('convertNatPublicIpToEip', say.does('convertToEip'), {
            instanceId: plan.instanceId,
            publicIp,
          });
          return { ...r, apiCalls: r.apiCalls + postPaid.apiCalls + byTraffic.apiCalls };
        });
        track.eipConverted = 'yes';
        track.resources.allocationId = converted.allocationId;
      } catch (err) {
        // The call may have taken effect though its answer was lost: look, rather than report "nothing changed".
        if (conversionSent) {
          track.eipConverted = await conversionAfterFailure(
            publicIp,
            track,
            act,
            say.does('checkConversion'),
          );
        }
        throw err;
      }
    } else {
      track.skip('convertToEip');
      track.resources.allocationId = plan.allocationId;
    }
    const allocationId = track.resources.allocationId as string;

    // 2. Create the secondary ENI. Its compensation gets the same input: without the ENI's id (the create's answer
    // never arrived), it sends the same create again to learn it.
    const eniSpec: CreateNetworkInterfaceInput = {
      instanceId: plan.instanceId,
      vSwitchId: plan.vSwitchId,
      securityGroupId: plan.securityGroupId,
      ...(plan.securityGroupIds && plan.securityGroupIds.length > 1
        ? { securityGroupIds: plan.securityGroupIds }
        : {}),
      primaryIpAddress: plan.primaryIpAddress,
      tokenSeed,
    };
    saga.register({
      name: DELETE_ENI,
      requires: [DETACH_ENI],
      blocked: (reason) => track.notUndone('createEni', reason),
      undo: () =>
        track.undo('createEni', () =>
          act.undo('deleteNetworkInterface', say.undoes('createEni'), {
            networkInterfaceId: track.resources.networkInterfaceId,
            create: eniSpec,
          }),
        ),
      leftover: () =>
        `ENI ${track.resources.networkInterfaceId ?? `tagged MigrationWorkflowId=${workflowInfo().workflowId}`} created by this migration: delete it (ECS DeleteNetworkInterface) once it is Available`,
    });
    const eni = await track.run('createEni', () =>
      act.changes('createNetworkInterface', say.does('createEni'), eniSpec),
    );
    track.resources.networkInterfaceId = eni.networkInterfaceId;
    track.resources.eniPrivateIp = eni.privateIpAddress;
    const eniRef = { networkInterfaceId: eni.networkInterfaceId, instanceId: plan.instanceId };

    // 3. Attach it to the instance.
    saga.register({
      name: DETACH_ENI,
      // Never detach an ENI while the EIP has no home: the EIP must be off it and back on the instance first.
      requires: [UNBIND_EIP_FROM_ENI, BIND_EIP_BACK],
      blocked: (reason) => track.notUndone('attachEni', reason),
      undo: () =>
        track.undo('attachEni', () => act.undo('detachNetworkInterface', say.undoes('attachEni'), eniRef)),
      leftover: () =>
        `ENI ${eni.networkInterfaceId} still attached to ${plan.instanceId}: detach it (ECS DetachNetworkInterface; if it stays Detaching, issue it again or restart the instance), then delete it`,
    });
    await track.run('attachEni', () => act.changes('attachNetworkInterface', say.does('attachEni'), eniRef));

    // Before the EIP leaves the instance: set up the guest for the new NIC. A migration of an earlier release keeps its
    // rule (SSH when a guest script is named, else nothing), whatever a newer client put in its input.
    const guestRoute = v5 ? guestSetupRoute(input) : input.guestPrepareScript ? 'ssh' : 'none';
    if (guestRoute === 'cloud-assistant') {
      const script = plan.guestSetupScript ?? input.guestPrepareScript ?? '';
      const done = await track.run('prepareGuest', () =>
        act.guest(180)(
          'setUpGuestByCloudAssistant',
          say.does('prepareGuest', { script: `${script}, Cloud Assistant` }),
          {
            instanceId: plan.instanceId,
            script,
            networkInterfaceId: eni.networkInterfaceId,
          },
        ),
      );
      track.guestSetup = {
        via: done.via,
        script: done.script,
        invokeId: done.invokeId,
        status: done.status,
        exitCode: done.exitCode,
        output: done.output,
      };
    } else if (guestRoute === 'ssh' && input.guestPrepareScript) {
      const script = input.guestPrepareScript;
      await track.run('prepareGuest', () =>
        act.guest(60)('prepareGuest', say.does('prepareGuest', { script }), {
          address: plan.publicIp,
          script,
          hostKeyFingerprint: plan.hostKeyFingerprint,
        }),
      );
    } else {
      track.skip('prepareGuest');
    }

    // 4. Unbind the EIP from the instance. From here until the EIP is bound again, the instance has no public address.
    const eipOnInstance = { allocationId, instanceId: plan.instanceId, tokenSeed };
    const eipOnEni: EipOnEni = {
      allocationId,
      networkInterfaceId: eni.networkInterfaceId,
      privateIpAddress: eni.privateIpAddress,
      tokenSeed,
    };
    // Rounds and the roll-forward send their own ClientTokens: step 5's token would only get step 5's answer back.
    // An EIP an operator put back on the instance by hand has a home: the roll-forward then ends there (`endedOn`).
    const rollForward = (round: number) =>
      act.rollbackRound('associateEipToEni', say.rollsForward(round), {
        ...eipOnEni,
        tokenScope: `forward-r${round}`,
        orHomeOn: plan.instanceId,
      });
    const rollForwardAction = 'bind the EIP to the new ENI (roll forward)';
    const forwardIfOnEni = (r: RoundsResult<{ endedOn?: string }>) =>
      r.rolledForward && r.result.endedOn !== plan.instanceId ? r.rolledForward : undefined;
    saga.register({
      name: BIND_EIP_BACK,
      undo: () =>
        track.undo('unassociateEip', async () => {
          const r = await rounds.untilDone({
            step: 'unassociateEip',
            action: 'bind the EIP back to the instance',
            attempt: (round) =>
              act.rollbackRound('associateEipToInstance', say.undoes('unassociateEip', round), {
                ...eipOnInstance,
                tokenScope: `r${round}`,
              }),
            rollForward,
            rollForwardAction,
            impossible: (type) => BIND_BACK_IMPOSSIBLE.has(type),
          });
          track.backOnline();
          const rolledForward = forwardIfOnEni(r);
          if (rolledForward) track.redone('associateEipToEni');
          return { apiCalls: r.result.apiCalls, rolledForward };
        }),
      leftover: () =>
        `EIP ${plan.publicIp} (${allocationId}) is not on ${plan.instanceId}: bind it back (VPC AssociateEipAddress, InstanceType=EcsInstance) once it is Available`,
    });
    track.goingOffline();
    await track.run('unassociateEip', () =>
      act.changes('unassociateEipFromInstance', say.does('unassociateEip'), eipOnInstance),
    );

    // 5. Bind the EIP to the ENI's primary private IP, NAT mode, within the offline budget.
    saga.register({
      name: UNBIND_EIP_FROM_ENI,
      undo: () =>
        track.undo('associateEipToEni', async () => {
          // The EIP leaves the ENI (if step 5 bound it): offline again until the bind-back.
          track.goingOffline();
          const r = await rounds.untilDone({
            step: 'associateEipToEni',
            action: 'unbind the EIP from the ENI',
            // Found back on the instance (fixed by hand), it has a home: done, and the bind-back will see it there.
            attempt: (round) =>
              act.rollbackRound('unassociateEipFromEni', say.undoes('associateEipToEni', round), {
                ...eipOnEni,
                tokenScope: `r${round}`,
                orHomeOn: plan.instanceId,
              }),
            rollForward,
            rollForwardAction,
          });
          const rolledForward = forwardIfOnEni(r);
          if (rolledForward) track.backOnline();
          return { apiCalls: r.result.apiCalls, rolledForward };
        }),
      leftover: () =>
        `EIP ${plan.publicIp} (${allocationId}) may still be on ENI ${eni.networkInterfaceId}: unbind it (VPC UnassociateEipAddress, InstanceType=NetworkInterface), then bind it to ${plan.instanceId}`,
    });
    const budgetMs = limits.offlineBudgetMs;
    await track.run('associateEipToEni', () =>
      withinOfflineBudget(budgetMs - track.offlineMs(), budgetMs, () =>
        act.changes('associateEipToEni', say.does('associateEipToEni'), eipOnEni),
      ),
    );
    track.backOnline();

    // 6. Verify from outside: same host on the EIP, egress through the SNAT IP.
    if (!verify) {
      track.skip('verify');
      return track.finish('migrated', {
        verificationSkipped:
          plan.instanceStatus === 'Stopped'
            ? 'verification is off (the instance is Stopped, so SSH cannot reach it)'
            : 'verification is off (--no-verify)',
      });
    }
    const timeoutSeconds = input.verifyTimeoutSeconds ?? 120;
    try {
      await track.run('verify', () =>
        act.guest(timeoutSeconds)('verifyMigration', say.does('verify'), {
          address: plan.publicIp,
          hostKeyFingerprint: plan.hostKeyFingerprint as string,
          snatIps: plan.snatIps,
          timeoutSeconds,
          egressCheckScript: input.egressCheckScript,
        }),
      );
    } catch (err) {
      if (input.keepOnVerifyFailure && !isCancellation(err)) {
        const report = track.finish('failed', {
          cause: `verification failed: ${messageOf(err)}`,
          leftovers: [
            `kept as asked: EIP ${plan.publicIp} is on ENI ${eni.networkInterfaceId} (attached to ${plan.instanceId}) but did not verify; fix the guest's networking for the secondary NIC, or revert the migration (eni-migrate revert)`,
          ],
        });
        throw migrationFailed(report);
      }
      throw err;
    }
    return track.finish('verified');
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === MIGRATION_FAILED) throw err;
    return rollBack(saga, track, err);
  }
}

/** After a failed step 1: is the address an EIP now? A read; `unknown` if even that fails. */
async function conversionAfterFailure(
  publicIp: string,
  track: MigrationTracker,
  act: Scheduler,
  summary: string,
): Promise<EipConversion> {
  try {
    const { allocationId } = await CancellationScope.nonCancellable(() =>
      act.reads('findEipByAddress', summary, { publicIp }),
    );
    // Not visible (yet): the call may still have run; say so rather than "nothing changed".
    if (!allocationId) return 'unknown';
    track.resources.allocationId = allocationId;
    return 'yes';
  } catch {
    return 'unknown';
  }
}

// Compensations others depend on (Saga `requires`).
const UNBIND_EIP_FROM_ENI = 'unbind the EIP from the ENI';
const BIND_EIP_BACK = 'bind the EIP back to the instance';
const DETACH_ENI = 'detach the ENI';
const DELETE_ENI = 'delete the ENI';

/** Step 0. Throws a non-retryable PreflightFailed (unless dry run) naming every failed check and its fix. */
async function preflight(
  input: MigrationInput,
  verify: boolean,
  track: MigrationTracker,
  act: Scheduler,
  say: StepLabels,
  v5: boolean,
): Promise<MigrationPlan> {
  let result;
  try {
    result = await track.run('preflight', () =>
      act.reads('preflight', say.does('preflight'), {
        regionId: input.regionId,
        instanceId: input.instanceId,
        vSwitchId: input.vSwitchId,
        securityGroupId: input.securityGroupId,
        primaryIpAddress: input.primaryIpAddress,
        verify,
        allowChargeTypeChange: input.allowChargeTypeChange ?? false,
        ...(input.allowPayByTraffic ? { allowPayByTraffic: true } : {}),
        egressCheckScript: input.egressCheckScript,
        guestPrepareScript: input.guestPrepareScript,
        ...(input.guestSetup ? { guestSetup: input.guestSetup } : {}),
        vpcShared: input.vpcShared,
      }),
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(
      `preflight of ${input.instanceId} failed: ${messageOf(err)}`,
      'PreflightFailed',
    );
  }
  track.checks = result.checks;
  const plan = result.plan;
  Object.assign(track.resources, {
    publicIp: plan.publicIp,
    allocationId: plan.allocationId,
    vpcId: plan.vpcId,
    vSwitchId: plan.vSwitchId,
    securityGroupId: plan.securityGroupId,
    snatIp: plan.snatIps?.[0],
    hostKeyFingerprint: plan.hostKeyFingerprint,
  });
  if (plan.vpcId) upsertSearchAttributes([{ key: VPC_ID, value: plan.vpcId }]);
  // Preflight marks a finished move as a failed check too (what releases before 0.5 understand: a refusal).
  const moved = result.alreadyMigrated;
  if (moved && v5) {
    // Not a refusal here: the report shows its check passed (failed only for releases before 0.5) and what it found.
    const last = result.checks.length - 1;
    track.checks = result.checks.map((c, i) => (i === last ? { ...c, ok: true } : c));
    Object.assign(track.resources, {
      networkInterfaceId: moved.networkInterfaceId,
      ...(moved.allocationId ? { allocationId: moved.allocationId } : {}),
    });
    throw new AlreadyMigrated(
      `EIP ${moved.publicIp} is on ENI ${moved.networkInterfaceId} already: a previous migration finished the move`,
    );
  }
  if (!result.ok && !input.dryRun) {
    const failed = result.checks.filter((c) => !c.ok);
    throw ApplicationFailure.nonRetryable(
      `preflight of ${input.instanceId} refused the migration, nothing was changed: ${summarize(failed)}`,
      'PreflightFailed',
      { checks: result.checks },
    );
  }
  return plan as MigrationPlan;
}

/** Preflight found the move done already: the migration ends `already-migrated`, nothing changed. */
class AlreadyMigrated extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

function summarize(failed: Array<{ name: string; detail: string }>): string {
  return failed.map((c) => `${c.name}: ${c.detail}`).join('; ');
}
