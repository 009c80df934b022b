import { ApplicationFailure } from '@temporalio/common';
import type { CreatedNetworkInterface, EcsApi, NetworkInterface } from '../cloud/ecs';
import { classifyCode, CloudApiError, isNotFound, tokenSpent } from '../cloud/errors';
import { workflowExecution, type Execution, type Observation, type WaitBudget } from './execution';
import type { CreateNetworkInterfaceInput, DeleteNetworkInterfaceInput, NetworkInterfaceRef } from './types';

/** Tags on every ENI this product creates: who made it, for which migration, and the create call's token. */
export const TAG_CREATED_BY = 'CreatedBy';
export const TAG_WORKFLOW_ID = 'MigrationWorkflowId';
export const TAG_CLIENT_TOKEN = 'MigrationClientToken';
export const CREATED_BY = 'eni-migration';
const CREATE_PURPOSE = 'create-eni';

/** Polls a freshly created ENI may stay invisible to Describe (eventual consistency) before it counts as lost. */
const INVISIBLE_POLLS = 20;

export interface CreateState {
  networkInterfaceId: string;
  invisiblePolls: number;
}

/**
 * Step 2: CreateNetworkInterface (idempotent by ClientToken), then wait until it is Available. Before the create goes
 * with a new token, the ENI an earlier token may have made (its answer lost, a repeat answered with a failure) is
 * looked for by its tag, and taken if found: a second ENI is never made beside it.
 */
export async function createNetworkInterface(
  ecs: EcsApi,
  input: CreateNetworkInterfaceInput,
  x: Execution<CreateState>,
  budgetMs: number,
): Promise<{ networkInterfaceId: string; privateIpAddress: string }> {
  const earlier = x.state.networkInterfaceId ? [] : x.earlierTokensThatMayHaveActed(CREATE_PURPOSE);
  const made = earlier.length ? await eniTaggedWith(ecs, earlier) : undefined;
  if (made) x.checkpoint({ networkInterfaceId: made });
  if (!x.state.networkInterfaceId) {
    const created = await sendCreate(ecs, input, x);
    x.requested('create', { networkInterfaceId: created.networkInterfaceId });
    // A first attempt takes the create's answer as it is: a new ENI is Available at once, with its primary private
    // IP. A retry looks (a repeated ClientToken returns the first answer, which may be stale by now).
    if (!x.lookFirst && created.status === 'Available' && created.privateIpAddress) {
      return { networkInterfaceId: created.networkInterfaceId, privateIpAddress: created.privateIpAddress };
    }
  }
  const id = x.state.networkInterfaceId;
  return x.poll(
    async (): Promise<Observation<{ networkInterfaceId: string; privateIpAddress: string }>> => {
      const eni = await ecs.describeNetworkInterface(id);
      if (!eni) return invisible(x, id);
      if (eni.status === 'Available' && eni.privateIpAddress) {
        return { done: { networkInterfaceId: id, privateIpAddress: eni.privateIpAddress } };
      }
      if (eni.status === 'Available') return { pending: 'Available without a private IP yet' };
      return { failed: `new ENI ${id} is ${eni.status}, expected Available`, type: 'UnexpectedEniState' };
    },
    { resource: `new ENI ${id}`, ms: budgetMs },
  );
}

/**
 * Step 2's one CreateNetworkInterface request. Its compensation sends exactly this again, since only the same
 * ClientToken with the same parameters returns the first call's ENI (other parameters: IdempotentParameterMismatch).
 */
function sendCreate<S extends object>(
  ecs: EcsApi,
  input: CreateNetworkInterfaceInput,
  x: Execution<S>,
): Promise<CreatedNetworkInterface> {
  const { workflowId } = workflowExecution();
  return x.withClientToken(CREATE_PURPOSE, (clientToken) =>
    ecs.createNetworkInterface({
      vSwitchId: input.vSwitchId,
      securityGroupIds: input.securityGroupIds?.length ? input.securityGroupIds : [input.securityGroupId],
      primaryIpAddress: input.primaryIpAddress,
      name: `eni-migration-${input.instanceId}`,
      description: `Secondary ENI carrying the public IP of ${input.instanceId} (migration ${workflowId})`,
      tags: { [TAG_CREATED_BY]: CREATED_BY, [TAG_WORKFLOW_ID]: workflowId, [TAG_CLIENT_TOKEN]: clientToken },
      clientToken,
    }),
  );
}

/**
 * The ENI made by a create request with one of these ClientTokens (in this order), found by the tag every ENI of this
 * product carries (TAG_CLIENT_TOKEN); undefined when Describe shows none. One request per token.
 */
async function eniTaggedWith(ecs: EcsApi, clientTokens: string[]): Promise<string | undefined> {
  for (const token of clientTokens) {
    const [eni] = await ecs.listNetworkInterfaces({ tags: { [TAG_CLIENT_TOKEN]: token } });
    if (eni) return eni.networkInterfaceId;
  }
  return undefined;
}

function invisible<R>(x: Execution<CreateState>, id: string): Observation<R> {
  const invisiblePolls = x.state.invisiblePolls + 1;
  x.checkpoint({ invisiblePolls });
  if (invisiblePolls > INVISIBLE_POLLS) {
    return {
      failed: `ENI ${id} was created but Describe never showed it`,
      type: 'InvalidEniId.NotFound',
      retryable: true,
    };
  }
  return { pending: 'not visible yet' };
}

export interface AttachState {
  /** This attempt has issued AttachNetworkInterface. Deliberately not resumed: see the fallback rule below. */
  sawAttaching: boolean;
  pollsSinceAttach: number;
}

/**
 * Step 3: AttachNetworkInterface, then wait until the ENI is InUse on this instance. Going back to Available after
 * Attaching is a failed attach (API doc), not success: the attempt fails retryably and the next one attaches again.
 */
export async function attachNetworkInterface(
  ecs: EcsApi,
  ref: NetworkInterfaceRef,
  x: Execution<AttachState>,
  budgetMs: number,
): Promise<Record<string, never>> {
  let issued = false;
  // A first attempt follows step 2, which saw the ENI Available: it attaches without looking, and an ENI that Describe
  // or the attach does not find yet is one the cloud does not show yet (eventual consistency), within the budget.
  const fresh = !x.lookFirst;
  const attach = async () => {
    await ecs.attachNetworkInterface(ref.networkInterfaceId, ref.instanceId);
    issued = true;
    x.requested('attach', { sawAttaching: false, pollsSinceAttach: 0 });
  };
  if (fresh) {
    await x.actBlind(async () => {
      try {
        await attach();
      } catch (err) {
        // Not shown yet: the wait attaches once Describe shows the ENI.
        if (!isNotFound(err)) throw err;
      }
    });
  }
  return x.poll(
    async (): Promise<Observation<Record<string, never>>> => {
      const eni = await ecs.describeNetworkInterface(ref.networkInterfaceId);
      if (!eni) {
        if (fresh) return { pending: 'not visible yet' };
        return { failed: `ENI ${ref.networkInterfaceId} does not exist`, type: 'InvalidEniId.NotFound' };
      }
      const elsewhere = attachedElsewhere(eni, ref.instanceId);
      if (elsewhere) return elsewhere;
      switch (eni.status) {
        case 'InUse':
          return { done: {} };
        case 'Attaching':
          x.checkpoint({ sawAttaching: true });
          return { pending: 'Attaching' };
        case 'Detaching':
          return { pending: 'Detaching (waiting to attach again)' };
        case 'Available':
          if (issued) {
            const polls = x.state.pollsSinceAttach + 1;
            x.checkpoint({ pollsSinceAttach: polls });
            // Available right after the call may be a Describe lagging behind; after Attaching it is a failure.
            if (x.state.sawAttaching || polls > 3) {
              x.checkpoint({ sawAttaching: false, pollsSinceAttach: 0 });
              return {
                failed: `attach of ${ref.networkInterfaceId} to ${ref.instanceId} fell back to Available`,
                type: 'AttachFellBack',
                retryable: true,
              };
            }
            return { pending: 'Available (attach requested)' };
          }
          x.throwIfRefused();
          await attach();
          return { pending: 'attach requested' };
        default:
          return { failed: `ENI ${ref.networkInterfaceId} is ${eni.status}`, type: 'UnexpectedEniState' };
      }
    },
    eniBudget(ref, 'attach to', budgetMs),
  );
}

function attachedElsewhere(
  eni: NetworkInterface,
  instanceId: string,
): { failed: string; type: string } | undefined {
  if (eni.instanceId && eni.instanceId !== instanceId && eni.status !== 'Available') {
    return {
      failed: `ENI ${eni.networkInterfaceId} is attached to ${eni.instanceId}, not ${instanceId}`,
      type: 'EniAttachedElsewhere',
    };
  }
  return undefined;
}

/**
 * Re-issued detaches before a stuck Detaching counts as one that persists. The DetachNetworkInterface doc: re-initiate
 * the request; if the ENI stays Detaching, restart the instance (TF #6436: stuck for hours, re-issues did not help).
 */
export const MAX_DETACH_REISSUES = 3;

export interface DetachState {
  /** Epoch ms of the last DetachNetworkInterface call: a detach stuck longer than the budget is issued again. */
  detachIssuedAt: number;
  reissued: number;
}

/**
 * An ENI that still carries an EIP must not be detached or deleted: the public address would reach nothing (the
 * cloud allows both). Unbinding the EIP first is the caller's job; this refuses, for good.
 */
function carriesEip(eni: NetworkInterface): { failed: string; type: string } | undefined {
  const eip = eni.associatedPublicIp;
  if (!eip) return undefined;
  return {
    failed: `ENI ${eni.networkInterfaceId} still carries EIP ${eip.publicIpAddress} (${eip.allocationId}): unbind it first`,
    type: 'EniHasEip',
  };
}

/**
 * Compensation of step 3: DetachNetworkInterface, then wait until Available. Already detached or gone counts as
 * done. The detach is issued once; again only when it shows no progress for `stuckAfterMs` (the API doc says to
 * re-initiate a stuck detach), since Describe may still show InUse right after the call, and a second call then
 * fails with InvalidOperation.InvalidEniState.
 */
export async function detachNetworkInterface(
  ecs: EcsApi,
  ref: NetworkInterfaceRef,
  x: Execution<DetachState>,
  stuckAfterMs: number,
  budgetMs: number,
): Promise<{ reissued: number }> {
  const issue = async () => {
    try {
      await ecs.detachNetworkInterface(ref.networkInterfaceId, ref.instanceId);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    x.requested('detach', { detachIssuedAt: Date.now() });
  };
  return x.poll(
    async (): Promise<Observation<{ reissued: number }>> => {
      const eni = await ecs.describeNetworkInterface(ref.networkInterfaceId);
      if (!eni || eni.status === 'Deleting') return { done: { reissued: x.state.reissued } };
      const elsewhere = attachedElsewhere(eni, ref.instanceId);
      if (elsewhere) return elsewhere;
      if (eni.status === 'Available') return { done: { reissued: x.state.reissued } };
      const hasEip = carriesEip(eni);
      if (hasEip) return hasEip;
      switch (eni.status) {
        case 'Attaching':
          return { pending: 'Attaching (detach once it settles)' };
        case 'InUse':
        case 'Detaching':
          if (x.state.detachIssuedAt === 0 || Date.now() - x.state.detachIssuedAt > stuckAfterMs) {
            if (eni.status === 'Detaching' && x.state.reissued >= MAX_DETACH_REISSUES) {
              return {
                failed:
                  `ENI ${ref.networkInterfaceId} is stuck in Detaching from ${ref.instanceId} after ${x.state.reissued} re-issued detaches; ` +
                  `restart the instance (the DetachNetworkInterface doc's advice), then detach and delete the ENI`,
                type: 'DetachStuck',
              };
            }
            x.checkpoint({ reissued: x.state.reissued + (x.state.detachIssuedAt === 0 ? 0 : 1) });
            await issue();
            return { pending: `${eni.status} (detach ${x.state.reissued ? 'issued again' : 'requested'})` };
          }
          return { pending: eni.status };
        default:
          return { failed: `ENI ${ref.networkInterfaceId} is ${eni.status}`, type: 'UnexpectedEniState' };
      }
    },
    eniBudget(ref, 'detach from', budgetMs),
  );
}

/** The budget of a wait for an attach or detach to settle (Terraform allows 2 min to attach, 1 min to detach). */
function eniBudget(ref: NetworkInterfaceRef, change: string, ms: number): WaitBudget {
  return { resource: `ENI ${ref.networkInterfaceId} (${change} ${ref.instanceId})`, ms };
}

export interface DeleteState {
  networkInterfaceId: string;
  deleteIssuedAt: number;
}

/**
 * Compensation of step 2: DeleteNetworkInterface, then wait until the ENI is gone. When the workflow never learned
 * the ENI's id, step 2's create is sent again to learn it (createdEniId).
 *
 * Absence from Describe never counts as gone by itself: a new ENI may be missing there for a while (eventual
 * consistency). DeleteNetworkInterface is the authority: accepted while the ENI exists (again, too, while it is
 * Deleting), InvalidEniId.NotFound once it is gone.
 */
export async function deleteNetworkInterface(
  ecs: EcsApi,
  input: DeleteNetworkInterfaceInput,
  x: Execution<DeleteState>,
  stuckAfterMs: number,
  budgetMs: number,
): Promise<{ networkInterfaceId?: string }> {
  if (!x.state.networkInterfaceId) {
    // An input with neither (an old release's shape) has nothing to learn the id from: nothing this call can delete.
    const id = input.networkInterfaceId ?? (input.create && (await createdEniId(ecs, input.create, x)));
    if (!id) return {};
    x.checkpoint({ networkInterfaceId: id });
  }
  const id = x.state.networkInterfaceId;
  /** Issues the delete; false when the ENI is gone. */
  const issue = async (): Promise<boolean> => {
    try {
      await ecs.deleteNetworkInterface(id);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    x.requested('delete', { deleteIssuedAt: Date.now() });
    return true;
  };
  const gone = { done: { networkInterfaceId: id } };
  return x.poll(
    async (): Promise<Observation<{ networkInterfaceId?: string }>> => {
      const eni = await ecs.describeNetworkInterface(id);
      if (!eni) return (await issue()) ? { pending: 'delete requested (not in Describe yet)' } : gone;
      const hasEip = eni.status === 'Deleting' ? undefined : carriesEip(eni);
      if (hasEip) return hasEip;
      switch (eni.status) {
        case 'Available':
          if (x.state.deleteIssuedAt === 0 || Date.now() - x.state.deleteIssuedAt > stuckAfterMs) {
            if (!(await issue())) return gone;
          }
          return { pending: 'delete requested' };
        case 'Deleting':
          // A delete can stick in Deleting (DeleteNetworkInterface doc); issuing it again is allowed and moves it on.
          if (x.state.deleteIssuedAt !== 0 && Date.now() - x.state.deleteIssuedAt > stuckAfterMs) {
            if (!(await issue())) return gone;
            return { pending: 'Deleting (delete issued again)' };
          }
          return { pending: 'Deleting' };
        case 'Attaching':
        case 'Detaching':
          return { pending: `${eni.status} (delete once it settles)` };
        default:
          return {
            failed: `ENI ${id} is ${eni.status}${eni.instanceId ? ` on ${eni.instanceId}` : ''}: detach it before deleting`,
            type: 'EniStillAttached',
          };
      }
    },
    { resource: `ENI ${id} (delete)`, ms: budgetMs },
  );
}

/** Token generations one attempt of the compensation walks through before it leaves the rest to its retry. */
const GENERATIONS_PER_ATTEMPT = 10;

/**
 * The id of the ENI step 2 created, when step 2 never told the workflow. Describe cannot answer this (it may not
 * show a new ENI yet); CreateNetworkInterface can: step 2's request sent again, same ClientToken, returns the first
 * call's ENI at once. If the first call never took effect this creates the ENI, which the caller deletes right away.
 * Step 2 drew a new token each time the cloud failed its request (Execution.withClientToken), and a repeat of such a
 * token gets its failure again: so the tokens are tried in step 2's order, each failed one meaning that no ENI was
 * made with it, until one answers with an ENI. If the cloud refuses the request as such (no free address, a bad
 * parameter), then no call with this token took effect either, and step 2 stopped there: nothing to delete. A token
 * answered with a failure may still have made an ENI when an earlier send of it went unanswered (a lost answer, then a
 * conflict on the repeat): before it counts as having made nothing, the ENI tagged with it is looked for
 * (eniTaggedWith, as step 2 does before it sends a new token).
 */
async function createdEniId(
  ecs: EcsApi,
  input: CreateNetworkInterfaceInput,
  x: Execution<DeleteState>,
): Promise<string | undefined> {
  for (let tried = 1; ; tried++) {
    const token = x.clientToken(CREATE_PURPOSE);
    try {
      return (await sendCreate(ecs, input, x)).networkInterfaceId;
    } catch (err) {
      if (!(err instanceof CloudApiError)) throw err;
      if (tokenSpent(err)) {
        const made = await eniTaggedWith(ecs, [token]);
        if (made) return made;
      }
      const { kind } = classifyCode(err.code, err.statusCode);
      // A failure that step 2 retried with a new token: the next token. Else what the earlier code decides.
      if (
        tokenSpent(err) &&
        (kind === 'transient' || kind === 'transitional') &&
        tried < GENERATIONS_PER_ATTEMPT
      )
        continue;
      return noCreatedEni(err, x);
    }
  }
}

/** The create request failed: nothing to delete, or a failure that says why it cannot be known. */
function noCreatedEni(err: CloudApiError, x: Execution<DeleteState>): undefined {
  if (err.code === 'IdempotentParameterMismatch') {
    // The cloud knows the token but will not give its result to this request (IdempotentParameterMismatch: a
    // worker whose create request differs from the one that ran step 2, after a deploy).
    throw ApplicationFailure.nonRetryable(
      `cannot learn the id of the ENI created by step 2: ${err.message}; find it by its tag ${TAG_CLIENT_TOKEN}=${x.clientToken(CREATE_PURPOSE)}`,
      err.code,
    );
  }
  const { kind } = classifyCode(err.code, err.statusCode);
  if (kind === 'invalid' || kind === 'quota' || kind === 'not-found') return undefined;
  throw err;
}
