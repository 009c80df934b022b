import {
  ActivityCancellationType,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type {
  Activities as CurrentActivities,
  CreateNetworkInterfaceInput,
  MigrationPlan,
} from '../../activities';
import type { MigrationInput, MigrationReport } from '../../shared/migration';
import { INSTANCE_ID, MIGRATION_OUTCOME, MIGRATION_STEP, VPC_ID } from '../../shared/search-attributes';
import { approveSignal, approveUpdate, progressQuery } from '../messages';
import { MigrationTracker } from './progress';
import { messageOf, Saga } from './saga';

/** Release 0.1's input: it still carried shell text, which today's activities refuse (they take script names). */
type MigrationInputV0_1 = MigrationInput & { guestPrepareCommand?: string; egressCheckCommand?: string };

/** The activities as release 0.1 called them: the same names, the guest ones with 0.1's input shapes. */
type Activities = Omit<CurrentActivities, 'preflight' | 'prepareGuest' | 'verifyMigration'> & {
  preflight(input: Record<string, unknown>): ReturnType<CurrentActivities['preflight']>;
  prepareGuest(input: Record<string, unknown>): Promise<{ apiCalls: number }>;
  verifyMigration(input: Record<string, unknown>): Promise<{ apiCalls: number }>;
};

// --- Activity options, one group per kind of work ---

/** Errors that retrying cannot fix, whatever an activity said. */
const NEVER_RETRY = [
  'EipBoundElsewhere',
  'EniAttachedElsewhere',
  'EniHasEip',
  'HostKeyMismatch',
  'VerificationFailed',
  'GuestPrepareFailed',
];

/** Read-only checks: short, retried on throttling and server errors. */
const READS = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
  },
} satisfies ActivityOptions;

/**
 * One cloud change plus its wait. Activities heartbeat every 2 s, so a lost worker is noticed within the heartbeat
 * timeout and the retry resumes from the last checkpoint. Cancellation waits for the activity to stop, so no call
 * is in flight while compensations run.
 */
const CHANGES = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NEVER_RETRY,
  },
} satisfies ActivityOptions;

/** Compensations try harder before giving up: giving up leaves resources behind. */
const COMPENSATIONS = {
  ...CHANGES,
  retry: { ...CHANGES.retry, maximumAttempts: 20 },
} satisfies ActivityOptions;

/** SSH in the guest: the budget plus room for one slow attempt (connect timeout and the command's own time). */
const guestOptions = (budgetSeconds: number) =>
  ({
    startToCloseTimeout: `${budgetSeconds + 120} seconds`,
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: NEVER_RETRY,
    },
  }) satisfies ActivityOptions;

const reads = proxyActivities<Activities>(READS);
const changes = proxyActivities<Activities>(CHANGES);
const undo = proxyActivities<Activities>(COMPENSATIONS);

/**
 * Release 0.1.0's workflow, frozen: migrations that a 0.1.0 worker started (their histories have no
 * `eni-migration-0.2` marker) finish on this code, so a deploy never changes the commands of a migration in flight.
 * Do not edit; fixes go into the current workflow, behind a new patch.
 *
 * Moves an ECS instance's public IP onto a secondary ENI, following Alibaba Cloud's runbook
 * ("Attach an ENI to an ECS instance that has a public IP address"):
 *
 *   0. preflight (read-only)       1. convert the NAT public IP to an EIP (irreversible)
 *   2. create a secondary ENI      3. attach it to the instance
 *   4. unbind the EIP              5. bind the EIP to the ENI (NAT mode)
 *   6. verify: SSH through the EIP reaches the same host; egress leaves through the NAT gateway's SNAT IP
 *
 * Whatever fails after step 1, the instance ends fully migrated and verified, or back as it was with its public
 * address (now an EIP) still reaching it.
 */
export async function migrateInstanceV0_1(input: MigrationInputV0_1): Promise<MigrationReport> {
  const track = new MigrationTracker(input);
  let approved = false;
  setHandler(progressQuery, () => track.progress());
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
  upsertSearchAttributes([
    { key: INSTANCE_ID, value: input.instanceId },
    { key: MIGRATION_STEP, value: 'preflight' },
    { key: MIGRATION_OUTCOME, value: 'running' },
  ]);
  const verify = input.verify ?? true;

  // 0. Preflight: read-only; a failed check ends the migration before any change, naming cause and fix.
  let plan: MigrationPlan;
  try {
    plan = await preflight(input, verify, track);
  } catch (err) {
    track.endWithoutReport(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  if (input.dryRun) {
    const failed = track.checks.filter((c) => !c.ok);
    return track.finish('planned', failed.length ? { cause: summarize(failed) } : {});
  }

  // ClientTokens derive from this: the same across a reset of this workflow, another for the next migration.
  const tokenSeed = workflowInfo().firstExecutionRunId;
  const saga = new Saga();
  try {
    if (input.requireApproval && !approved) {
      track.awaitingApproval = true;
      track.waiting('awaiting-approval');
      await condition(() => approved);
      track.awaitingApproval = false;
    }

    // 1. Convert the NAT public IP to an EIP. Irreversible: no compensation; a rollback ends with the EIP here.
    if (plan.convert) {
      const converted = await track.run('convertToEip', async () => {
        const postPaid = plan.switchToPostPaid
          ? await changes.switchToPostPaid({ instanceId: plan.instanceId, tokenSeed })
          : { apiCalls: 0 };
        const r = await changes.convertNatPublicIpToEip({
          instanceId: plan.instanceId,
          publicIp: plan.publicIp,
        });
        return { ...r, apiCalls: r.apiCalls + postPaid.apiCalls };
      });
      track.resources.allocationId = converted.allocationId;
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
      primaryIpAddress: plan.primaryIpAddress,
      tokenSeed,
    };
    saga.register({
      name: DELETE_ENI,
      requires: [DETACH_ENI],
      blocked: (reason) => track.notUndone('createEni', reason),
      undo: () =>
        track.undo('createEni', () =>
          undo.deleteNetworkInterface({
            networkInterfaceId: track.resources.networkInterfaceId,
            create: eniSpec,
          }),
        ),
      leftover: () =>
        `ENI ${track.resources.networkInterfaceId ?? `tagged MigrationWorkflowId=${workflowInfo().workflowId}`} created by this migration: delete it (ECS DeleteNetworkInterface) once it is Available`,
    });
    const eni = await track.run('createEni', () => changes.createNetworkInterface(eniSpec));
    track.resources.networkInterfaceId = eni.networkInterfaceId;
    track.resources.eniPrivateIp = eni.privateIpAddress;
    const eniRef = { networkInterfaceId: eni.networkInterfaceId, instanceId: plan.instanceId };

    // 3. Attach it to the instance.
    saga.register({
      name: DETACH_ENI,
      // Detaching an ENI that still carries the EIP would leave the public address reaching nothing.
      requires: [UNBIND_EIP_FROM_ENI],
      blocked: (reason) => track.notUndone('attachEni', reason),
      undo: () => track.undo('attachEni', () => undo.detachNetworkInterface(eniRef)),
      leftover: () =>
        `ENI ${eni.networkInterfaceId} still attached to ${plan.instanceId}: detach it (ECS DetachNetworkInterface; if it stays Detaching, issue it again or restart the instance), then delete it`,
    });
    await track.run('attachEni', () => changes.attachNetworkInterface(eniRef));

    // Before the EIP leaves the instance, while SSH on it still works: set up the guest for the new NIC.
    if (input.guestPrepareCommand) {
      const command = input.guestPrepareCommand;
      await track.run('prepareGuest', () =>
        proxyActivities<Activities>(guestOptions(60)).prepareGuest({
          address: plan.publicIp,
          command,
          hostKeyFingerprint: plan.hostKeyFingerprint,
        }),
      );
    } else {
      track.skip('prepareGuest');
    }

    // 4. Unbind the EIP from the instance.
    const eipOnInstance = { allocationId, instanceId: plan.instanceId, tokenSeed };
    saga.register({
      name: 'bind the EIP back to the instance',
      requires: [UNBIND_EIP_FROM_ENI],
      blocked: (reason) => track.notUndone('unassociateEip', reason),
      undo: () => track.undo('unassociateEip', () => undo.associateEipToInstance(eipOnInstance)),
      leftover: () =>
        `EIP ${plan.publicIp} (${allocationId}) is not on ${plan.instanceId}: bind it back (VPC AssociateEipAddress, InstanceType=EcsInstance) once it is Available`,
    });
    await track.run('unassociateEip', () => changes.unassociateEipFromInstance(eipOnInstance));

    // 5. Bind the EIP to the ENI's primary private IP, NAT mode.
    const eipOnEni = {
      allocationId,
      networkInterfaceId: eni.networkInterfaceId,
      privateIpAddress: eni.privateIpAddress,
      tokenSeed,
    };
    saga.register({
      name: UNBIND_EIP_FROM_ENI,
      undo: () => track.undo('associateEipToEni', () => undo.unassociateEipFromEni(eipOnEni)),
      leftover: () =>
        `EIP ${plan.publicIp} (${allocationId}) may still be on ENI ${eni.networkInterfaceId}: unbind it (VPC UnassociateEipAddress, InstanceType=NetworkInterface), then bind it to ${plan.instanceId}`,
    });
    await track.run('associateEipToEni', () => changes.associateEipToEni(eipOnEni));

    // 6. Verify from outside: same host on the EIP, egress through the SNAT IP.
    if (verify) {
      const timeoutSeconds = input.verifyTimeoutSeconds ?? 120;
      try {
        await track.run('verify', () =>
          proxyActivities<Activities>(guestOptions(timeoutSeconds)).verifyMigration({
            address: plan.publicIp,
            hostKeyFingerprint: plan.hostKeyFingerprint as string,
            snatIps: plan.snatIps,
            timeoutSeconds,
            egressCheckCommand: input.egressCheckCommand,
          }),
        );
      } catch (err) {
        if (input.keepOnVerifyFailure && !isCancellation(err)) {
          return track.finish('failed', {
            cause: `verification failed: ${messageOf(err)}`,
            leftovers: [
              `kept as asked: EIP ${plan.publicIp} is on ENI ${eni.networkInterfaceId} (attached to ${plan.instanceId}) but did not verify; fix the guest's networking for the secondary NIC, or run the migration's rollback by hand (unbind the EIP from the ENI, bind it to the instance, detach and delete the ENI)`,
            ],
          });
        }
        throw err;
      }
    } else {
      track.skip('verify');
    }
    return track.finish('verified');
  } catch (err) {
    const cause = isCancellation(err) ? 'cancelled' : messageOf(err);
    log.warn('migration failed; rolling back', { cause, compensations: saga.registered });
    const failures = await saga.compensate();
    if (failures.length > 0) {
      return track.finish('failed', {
        cause: `${cause}; rollback incomplete`,
        leftovers: failures.map((f) => `${f.leftover} (rollback error: ${f.error})`),
      });
    }
    return track.finish('rolled-back', { cause });
  }
}

// Compensations others depend on (Saga `requires`).
const UNBIND_EIP_FROM_ENI = 'unbind the EIP from the ENI';
const DETACH_ENI = 'detach the ENI';
const DELETE_ENI = 'delete the ENI';

/** Step 0. Throws a non-retryable PreflightFailed (unless dry run) naming every failed check and its fix. */
async function preflight(
  input: MigrationInputV0_1,
  verify: boolean,
  track: MigrationTracker,
): Promise<MigrationPlan> {
  let result;
  try {
    result = await track.run('preflight', () =>
      reads.preflight({
        regionId: input.regionId,
        instanceId: input.instanceId,
        vSwitchId: input.vSwitchId,
        securityGroupId: input.securityGroupId,
        primaryIpAddress: input.primaryIpAddress,
        verify,
        allowChargeTypeChange: input.allowChargeTypeChange ?? false,
        egressCheckCommand: input.egressCheckCommand,
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

function summarize(failed: Array<{ name: string; detail: string }>): string {
  return failed.map((c) => `${c.name}: ${c.detail}`).join('; ');
}
