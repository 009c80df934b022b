import type { EcsApi } from '../cloud/ecs';
import type { VpcApi } from '../cloud/vpc';
import { guestScriptRegistry, type GuestScriptRegistry } from '../guest-scripts';
import type { SshRunner } from '../ssh';
import {
  associateEip,
  convertNatPublicIpToEip,
  eniTarget,
  instanceTarget,
  unassociateEip,
  type EipTarget,
} from './eip';
import { runningBatchesOf } from './batches';
import { discoverFleet } from './discovery';
import { execute, TransitionEstimates, type Observation, type TransitionTimes } from './execution';
import { setUpGuestByCloudAssistant } from './cloud-assistant-setup';
import { prepareGuest, verifyMigration } from './guest';
import {
  attachNetworkInterface,
  createNetworkInterface,
  deleteNetworkInterface,
  detachNetworkInterface,
} from './network-interface';
import { runPreflight } from './preflight';
import { runRevertPreflight } from './revert-preflight';
import type {
  CloudAssistantSetupInput,
  CreateNetworkInterfaceInput,
  DeleteNetworkInterfaceInput,
  DiscoverFleetInput,
  EipOnEni,
  EipOnInstance,
  GuestScriptInput,
  NetworkInterfaceRef,
  PreflightInput,
  RevertPreflightInput,
  VerifyInput,
} from './types';

export interface ActivityDeps {
  ecs: EcsApi;
  vpc: VpcApi;
  ssh: SshRunner;
  /**
   * The guest scripts workflow inputs may name (the worker's configuration: built-in plus ENI_MIGRATE_GUEST_SCRIPTS).
   * Default: the built-in ones.
   */
  guestScripts?: GuestScriptRegistry;
  /**
   * Polls of a wait without a known transition start at this interval (default 2000 ms; tests use ~50–100); it is
   * also the longest short poll after a transition's first check.
   */
  pollIntervalMs?: number;
  /**
   * How long each cloud transition typically takes (ms), by action: its wait's first check comes then, not before.
   * Defaults: Alibaba Cloud's typical durations (TYPICAL_TRANSITION_MS); a local cloud passes its own `Timings`. The
   * worker then learns from what it observes.
   */
  transitionMs?: Partial<TransitionTimes>;
  /**
   * How long one wait for an ENI or EIP state may take before the attempt fails with WaitBudgetExceeded and the retry
   * looks again (default: 2 min for ENIs, 5 min for EIPs, Terraform's timeouts). Tests set it small.
   */
  waitBudgetMs?: number;
  /** The account's EIP quota in the region (ENI_MIGRATE_EIP_QUOTA); preflight refuses a conversion past it. Default 20. */
  eipQuota?: number;
}

/**
 * The migration's activities, as a factory over injected clients (samples-typescript's saga layout). Each is one
 * cloud action plus its wait, idempotent (a retry looks before it acts, and its ClientToken is stable across
 * retries), and returns the number of API calls it made.
 */
export function createActivities(deps: ActivityDeps) {
  const { ecs, vpc, ssh } = deps;
  const scripts = deps.guestScripts ?? guestScriptRegistry();
  const tuning = {
    intervalMs: deps.pollIntervalMs ?? 2000,
    transitions: new TransitionEstimates(deps.transitionMs),
  };
  // A detach or delete that shows no progress for this long is issued again (API doc: "re-initiate the request").
  const stuckAfterMs = Math.max(15 * tuning.intervalMs, 500);
  // An EIP binding or unbinding that shows no effect for this long did not take: it is requested again.
  const settleMs = stuckAfterMs;
  const eniBudgetMs = deps.waitBudgetMs ?? 2 * 60_000;
  const eipBudgetMs = deps.waitBudgetMs ?? 5 * 60_000;
  // Steps 4 and 5 and their compensations: one EIP binding or unbinding, and its wait.
  const moveEip = (
    move: typeof associateEip,
    input: EipOnInstance | EipOnEni,
    target: EipTarget,
    purpose: string,
  ) =>
    execute(
      { issued: 0, issuedAt: 0 },
      tuning,
      (x) =>
        move(vpc, input.allocationId, target, purpose + (input.tokenScope ? `-${input.tokenScope}` : ''), x, {
          settleMs,
          budgetMs: eipBudgetMs,
          orHomeOn: input.orHomeOn,
          // A rollback round or a roll-forward follows a failure whose effect is unknown: it looks before it acts.
          lookFirst: Boolean(input.tokenScope || input.orHomeOn),
        }),
      input.tokenSeed,
    );

  return {
    /** Step 0: every precondition, read-only; records the host key on the public address. */
    async preflight(input: PreflightInput) {
      return execute({}, tuning, () =>
        runPreflight({ ecs, vpc, ssh, scripts, eipQuota: deps.eipQuota }, input),
      );
    },

    /** A batch's first step, read-only: the VPC's instances and what each would need; the VPC's shared data. */
    async discoverFleet(input: DiscoverFleetInput) {
      return execute({}, tuning, () => discoverFleet({ ecs, vpc }, input));
    },

    /** A batch's fresh reading of the VPC's shared data, after a wait (approval, a pause, continue-as-new). */
    async readVpcShared(input: { regionId: string; vpcId: string }) {
      return execute({}, tuning, async () => ({ vpcShared: await vpc.describeVpcShared(input.vpcId) }));
    },

    /** Batches of a VPC running now (a second batch of the same VPC refuses to start). A Temporal visibility read. */
    async runningBatchesOf(input: { regionId: string; vpcId: string }) {
      return { ...(await runningBatchesOf(input)), apiCalls: 0 };
    },

    /** The way back's step 0: the instance's EIP is on an ENI this project created; read-only. */
    async revertPreflight(input: RevertPreflightInput) {
      return execute({}, tuning, () => runRevertPreflight({ ecs, vpc, ssh, scripts }, input));
    },

    /** After a failed step 1: whether the address is an EIP now (the conversion may have run, its answer lost). */
    async findEipByAddress(input: { publicIp: string }) {
      return execute({}, tuning, async () => {
        const eip = await vpc.findEipByAddress(input.publicIp);
        return { allocationId: eip?.allocationId };
      });
    },

    /** Before step 1, only when the caller allowed it: a PrePaid instance becomes PostPaid (pay-as-you-go). */
    async switchToPostPaid(input: { instanceId: string; tokenSeed?: string }) {
      return execute(
        { issued: false },
        tuning,
        async (x) => {
          return x.poll(async (): Promise<Observation<{ chargeType: string }>> => {
            const instance = await ecs.describeInstance(input.instanceId);
            if (!instance)
              return { failed: `instance ${input.instanceId} not found`, type: 'InvalidInstanceId.NotFound' };
            if (instance.chargeType === 'PostPaid') return { done: { chargeType: instance.chargeType } };
            if (!x.state.issued) {
              await x.withClientToken('postpaid', (token) =>
                ecs.modifyInstanceChargeType(input.instanceId, 'PostPaid', token),
              );
              x.checkpoint({ issued: true });
            }
            return { pending: instance.chargeType };
          });
        },
        input.tokenSeed,
      );
    },

    /**
     * Before step 1, only when the caller allowed it: a subscription instance's bandwidth becomes billed by traffic
     * (ModifyInstanceNetworkSpec NetworkChargeType), which ConvertNatPublicIpToEip requires of it.
     */
    async switchToPayByTraffic(input: { instanceId: string; tokenSeed?: string }) {
      return execute(
        { issued: false },
        tuning,
        async (x) => {
          return x.poll(async (): Promise<Observation<{ internetChargeType: string }>> => {
            const instance = await ecs.describeInstance(input.instanceId);
            if (!instance)
              return { failed: `instance ${input.instanceId} not found`, type: 'InvalidInstanceId.NotFound' };
            const billed = instance.internetChargeType ?? 'PayByTraffic';
            if (billed === 'PayByTraffic') return { done: { internetChargeType: billed } };
            if (!x.state.issued) {
              await x.withClientToken('pay-by-traffic', (token) =>
                ecs.modifyInstanceNetworkChargeType(input.instanceId, 'PayByTraffic', token),
              );
              x.checkpoint({ issued: true });
            }
            return { pending: billed };
          });
        },
        input.tokenSeed,
      );
    },

    /** Step 1 (irreversible): NAT public IP -> EIP on the instance. */
    async convertNatPublicIpToEip(input: { instanceId: string; publicIp: string }) {
      return execute({ converted: false }, tuning, (x) =>
        convertNatPublicIpToEip(ecs, vpc, input, x, eipBudgetMs),
      );
    },

    /** Step 2: a secondary ENI in the chosen vSwitch and security group, Available. */
    async createNetworkInterface(input: CreateNetworkInterfaceInput) {
      return execute(
        { networkInterfaceId: '', invisiblePolls: 0 },
        tuning,
        (x) => createNetworkInterface(ecs, input, x, eniBudgetMs),
        input.tokenSeed,
      );
    },

    /** Compensation of step 2. */
    async deleteNetworkInterface(input: DeleteNetworkInterfaceInput) {
      return execute(
        { networkInterfaceId: '', deleteIssuedAt: 0 },
        tuning,
        (x) => deleteNetworkInterface(ecs, input, x, stuckAfterMs, eniBudgetMs),
        input.create?.tokenSeed ?? input.tokenSeed,
      );
    },

    /** Step 3: the ENI InUse on the instance. */
    async attachNetworkInterface(input: NetworkInterfaceRef) {
      return execute({ sawAttaching: false, pollsSinceAttach: 0 }, tuning, (x) =>
        attachNetworkInterface(ecs, input, x, eniBudgetMs),
      );
    },

    /** Compensation of step 3. */
    async detachNetworkInterface(input: NetworkInterfaceRef) {
      return execute({ detachIssuedAt: 0, reissued: 0 }, tuning, (x) =>
        detachNetworkInterface(ecs, input, x, stuckAfterMs, eniBudgetMs),
      );
    },

    /** Step 4: the EIP leaves the instance. */
    async unassociateEipFromInstance(input: EipOnInstance) {
      return moveEip(unassociateEip, input, instanceTarget(input), 'unassoc-ecs');
    },

    /** Compensation of step 4: the EIP back on the instance. */
    async associateEipToInstance(input: EipOnInstance) {
      return moveEip(associateEip, input, instanceTarget(input), 'assoc-ecs');
    },

    /** Step 5: the EIP on the ENI's primary private IP, NAT mode. */
    async associateEipToEni(input: EipOnEni) {
      return moveEip(associateEip, input, eniTarget(input), 'assoc-eni');
    },

    /** Compensation of step 5. */
    async unassociateEipFromEni(input: EipOnEni) {
      return moveEip(unassociateEip, input, eniTarget(input), 'unassoc-eni');
    },

    /** After step 3 (guestSetup cloud-assistant): the guest set-up script, run in the instance by Cloud Assistant. */
    async setUpGuestByCloudAssistant(input: CloudAssistantSetupInput) {
      return execute({} as { invokeId?: string }, tuning, (x) =>
        setUpGuestByCloudAssistant({ ecs, vpc, scripts }, input, x),
      );
    },

    /** Before step 4, while SSH on the old address still works: the guest set-up script the migration names. */
    async prepareGuest(input: GuestScriptInput) {
      return execute({}, tuning, () => prepareGuest(ssh, scripts, input));
    },

    /** Step 6: SSH via the EIP reaches the same host; egress leaves through the SNAT IP. */
    async verifyMigration(input: VerifyInput) {
      return execute({ deadline: 0, attempts: 0, lastProblem: '' }, tuning, (x) =>
        verifyMigration(ssh, scripts, input, x),
      );
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type * from './types';
export { TYPICAL_TRANSITION_MS, type TransitionTimes } from './execution';
