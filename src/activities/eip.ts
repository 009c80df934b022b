import type { EcsApi } from '../cloud/ecs';
import type { Eip, EipTargetType, VpcApi } from '../cloud/vpc';
import type { Execution, Observation, TransitionAction } from './execution';

/** Where an EIP is (or should be) bound. */
export interface EipTarget {
  instanceId: string;
  instanceType: EipTargetType;
  /** For an ENI: its primary private IP (NAT mode maps the EIP to it). */
  privateIpAddress?: string;
}

/** The instance itself (step 4 and its compensation). */
export function instanceTarget(input: { instanceId: string }): EipTarget {
  return { instanceId: input.instanceId, instanceType: 'EcsInstance' };
}

/** The ENI's primary private IP, in NAT mode (step 5 and its compensation). */
export function eniTarget(input: { networkInterfaceId: string; privateIpAddress: string }): EipTarget {
  return {
    instanceId: input.networkInterfaceId,
    instanceType: 'NetworkInterface',
    privateIpAddress: input.privateIpAddress,
  };
}

function boundTo(eip: Eip, target: EipTarget): boolean {
  return eip.instanceId === target.instanceId && (eip.instanceType ?? 'EcsInstance') === target.instanceType;
}

function describeBinding(eip: Eip): string {
  return eip.instanceId
    ? `${eip.status} on ${eip.instanceType ?? 'EcsInstance'} ${eip.instanceId}`
    : eip.status;
}

export interface ConvertState {
  converted: boolean;
}

/**
 * Step 1: ConvertNatPublicIpToEip keeps the address and turns it into an EIP bound to the instance. The call returns
 * no id, so the EIP is found by its address and awaited until InUse on the instance. Irreversible.
 */
export async function convertNatPublicIpToEip(
  ecs: EcsApi,
  vpc: VpcApi,
  input: { instanceId: string; publicIp: string },
  x: Execution<ConvertState>,
  budgetMs: number,
): Promise<{ allocationId: string }> {
  if (!x.lookFirst && !x.state.converted) {
    // A first attempt: preflight has just seen the NAT public IP on the instance, so it converts without looking
    // again. A retry looks first (below): this call may have taken effect though its answer was lost.
    await x.actBlind(async () => {
      await ecs.convertNatPublicIpToEip(input.instanceId);
      x.requested('convert', { converted: true });
    });
  }
  return x.poll(
    async (): Promise<Observation<{ allocationId: string }>> => {
      const eip = await vpc.findEipByAddress(input.publicIp);
      if (eip) {
        if (eip.status === 'InUse' && boundTo(eip, instanceTarget(input)))
          return { done: { allocationId: eip.allocationId } };
        if (eip.instanceId && eip.instanceId !== input.instanceId) {
          return {
            failed: `EIP ${input.publicIp} is bound to ${eip.instanceId}, not ${input.instanceId}`,
            type: 'EipBoundElsewhere',
          };
        }
        return { pending: `EIP ${eip.allocationId} ${describeBinding(eip)}` };
      }
      if (x.state.converted) return { pending: 'converted; EIP not visible yet' };
      const instance = await ecs.describeInstance(input.instanceId);
      if (!instance)
        return { failed: `instance ${input.instanceId} not found`, type: 'InvalidInstanceId.NotFound' };
      if (instance.publicIp === input.publicIp && !instance.eip) {
        x.throwIfRefused();
        await ecs.convertNatPublicIpToEip(input.instanceId);
        x.requested('convert', { converted: true });
        return { pending: 'conversion requested' };
      }
      if (instance.eip?.ipAddress === input.publicIp) return { pending: 'converted; EIP not visible yet' };
      return {
        failed: `${input.instanceId} no longer has the public IP ${input.publicIp} (it has ${instance.publicIp ?? instance.eip?.ipAddress ?? 'none'})`,
        type: 'PublicIpChanged',
      };
    },
    { resource: `public IP ${input.publicIp} of ${input.instanceId} (conversion to an EIP)`, ms: budgetMs },
  );
}

/**
 * Accepted requests of one EIP move that may end without effect before the move fails: an association can end
 * Available instead of InUse (TF PR #5694, "two terminal states"), and each such end is requested anew, but not forever.
 */
export const MAX_EIP_REQUESTS = 5;

export interface EipMoveState {
  /** Requests sent so far (each with its own ClientToken, see `request`). */
  issued: number;
  /** Epoch ms of the last request. */
  issuedAt: number;
}

/**
 * Sends the move, unless the last request may still take effect. A retry after a lost answer sends the same request
 * again, same ClientToken (the count is checkpointed only once the cloud accepted it); after a failure the cloud
 * answered, with a new token (Execution.withClientToken). A request the cloud accepted
 * but that shows no effect once `settleMs` passed (it failed asynchronously, or someone undid it) is sent anew with a
 * new token: the same token would only get the first request's success back, and the wait would never end.
 */
async function request(
  x: Execution<EipMoveState>,
  action: TransitionAction,
  purpose: string,
  settleMs: number,
  send: (clientToken: string) => Promise<unknown>,
): Promise<Observation<EipMoveResult>> {
  const issued = Number(x.state.issued); // `true` in a checkpoint written before requests were counted
  if (issued > 0 && Date.now() - x.state.issuedAt <= settleMs)
    return { pending: 'requested, not in effect yet' };
  if (issued >= MAX_EIP_REQUESTS) {
    return {
      failed:
        `${issued} ${action === 'associate' ? 'AssociateEipAddress' : 'UnassociateEipAddress'} requests were accepted and none took effect ` +
        `(the EIP went back to its former state each time); check the EIP and its target in the console before running again`,
      type: 'EipMoveNotTakingEffect',
    };
  }
  x.throwIfRefused();
  const n = issued + 1;
  await x.withClientToken(n === 1 ? purpose : `${purpose}-${n}`, send);
  x.requested(action, { issued: n, issuedAt: Date.now() });
  return { pending: n === 1 ? 'requested' : `requested again (#${n}): the last request did not take effect` };
}

export interface EipMoveOptions {
  /** A request the cloud accepted but that shows no effect after this long is sent anew. */
  settleMs: number;
  /** The wait's budget (Terraform allows 5 min per association). */
  budgetMs: number;
  /**
   * In a rollback: the EIP found InUse here instead (an operator put it back by hand) counts as done, since it has a
   * home; the result's `endedOn` says so. An instance id or an ENI id.
   */
  orHomeOn?: string;
  /**
   * Look at the EIP before the first request. Off on a first attempt of a forward step (the previous step left the
   * EIP where the move starts): the request goes out at once. A retry or resumed attempt looks anyway (Execution).
   */
  lookFirst?: boolean;
}

/** Where the EIP ended, when it was not the target (see `orHomeOn`). */
export interface EipMoveResult {
  endedOn?: string;
}

/** The EIP is InUse on the alternative home: done, and say so. */
function onAlternativeHome(
  eip: Eip,
  target: EipTarget,
  orHomeOn?: string,
): Observation<EipMoveResult> | undefined {
  if (!orHomeOn || eip.instanceId !== orHomeOn || boundTo(eip, target)) return undefined;
  return eip.status === 'InUse'
    ? { done: { endedOn: orHomeOn } }
    : { pending: `${eip.status} on ${orHomeOn}` };
}

/**
 * AssociateEipAddress (idempotent by ClientToken), then wait until the EIP is InUse on the target. Used to bind the
 * EIP to the ENI (step 5, NAT mode) and back to the instance (compensation of step 4).
 */
export async function associateEip(
  vpc: VpcApi,
  allocationId: string,
  target: EipTarget,
  purpose: string,
  x: Execution<EipMoveState>,
  { settleMs, budgetMs, orHomeOn, lookFirst = true }: EipMoveOptions,
): Promise<EipMoveResult> {
  const send = (clientToken: string) =>
    vpc.associateEip({
      allocationId,
      ...target,
      mode: target.instanceType === 'NetworkInterface' ? 'NAT' : undefined,
      clientToken,
    });
  if (!lookFirst && !x.lookFirst)
    await x.actBlind(() => request(x, 'associate', purpose, settleMs, send).then());
  return pollEip(vpc, allocationId, target, x, budgetMs, async (eip) => {
    if (boundTo(eip, target)) {
      return eip.status === 'InUse' ? { done: {} } : { pending: eip.status };
    }
    const home = onAlternativeHome(eip, target, orHomeOn);
    if (home) return home;
    if (eip.instanceId) {
      if (eip.status === 'Unassociating') return { pending: `Unassociating from ${eip.instanceId}` };
      return {
        failed: `EIP ${allocationId} is ${describeBinding(eip)}, not free for ${target.instanceId}`,
        type: 'EipBoundElsewhere',
      };
    }
    if (eip.status !== 'Available') return { pending: eip.status };
    return request(x, 'associate', purpose, settleMs, send);
  });
}

/**
 * UnassociateEipAddress, then wait until the EIP is Available. Used to free the EIP from the instance (step 4) and
 * from the ENI (compensation of step 5). An EIP already free counts as done; so does, in a rollback, one found back
 * on its old home (`orHomeOn`).
 */
export async function unassociateEip(
  vpc: VpcApi,
  allocationId: string,
  target: EipTarget,
  purpose: string,
  x: Execution<EipMoveState>,
  { settleMs, budgetMs, orHomeOn, lookFirst = true }: EipMoveOptions,
): Promise<EipMoveResult> {
  const send = (clientToken: string) => vpc.unassociateEip({ allocationId, ...target, clientToken });
  if (!lookFirst && !x.lookFirst)
    await x.actBlind(() => request(x, 'unassociate', purpose, settleMs, send).then());
  return pollEip(vpc, allocationId, target, x, budgetMs, async (eip) => {
    if (!eip.instanceId) return eip.status === 'Available' ? { done: {} } : { pending: eip.status };
    const home = onAlternativeHome(eip, target, orHomeOn);
    if (home) return home;
    if (!boundTo(eip, target)) {
      return {
        failed: `EIP ${allocationId} is ${describeBinding(eip)}, not on ${target.instanceId}`,
        type: 'EipBoundElsewhere',
      };
    }
    if (eip.status !== 'InUse') return { pending: eip.status };
    return request(x, 'unassociate', purpose, settleMs, send);
  });
}

/**
 * Polls the EIP through `observe`; an EIP that no longer exists fails the move, one that does not settle within
 * the budget (Terraform allows 5 min per association) fails the attempt.
 */
function pollEip(
  vpc: VpcApi,
  allocationId: string,
  target: EipTarget,
  x: Execution<EipMoveState>,
  budgetMs: number,
  observe: (eip: Eip) => Promise<Observation<EipMoveResult>>,
): Promise<EipMoveResult> {
  return x.poll(
    async () => {
      const eip = await vpc.describeEip(allocationId);
      if (!eip) return { failed: `EIP ${allocationId} does not exist`, type: 'InvalidAllocationId.NotFound' };
      return observe(eip);
    },
    {
      resource: `EIP ${allocationId} (move to or from ${target.instanceType} ${target.instanceId})`,
      ms: budgetMs,
    },
  );
}
