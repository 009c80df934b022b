import type { EcsApi } from '../cloud/ecs';
import type { VpcApi } from '../cloud/vpc';
import type { GuestScriptRegistry } from '../guest-scripts';
import type { PreflightCheck } from '../shared/migration';
import { SshError, type SshRunner } from '../ssh';
import { checkEgress, egressCheckScriptName } from './guest';
import { CREATED_BY, TAG_CREATED_BY } from './network-interface';
import type { RevertPlan, RevertPreflightInput, RevertPreflightResult } from './types';

/**
 * The way back's step 0, read-only: the instance was migrated by this project (its EIP is on a secondary ENI that
 * this project created, recognised by its tags), has no other public address, and answers SSH on the EIP. Each
 * failed check says what is wrong and what to do; nothing changes in the cloud.
 */
export async function runRevertPreflight(
  deps: { ecs: EcsApi; vpc: VpcApi; ssh: SshRunner; scripts: GuestScriptRegistry },
  input: RevertPreflightInput,
): Promise<RevertPreflightResult> {
  const { ecs, vpc, ssh } = deps;
  const checks: PreflightCheck[] = [];
  const plan: Partial<RevertPlan> = { instanceId: input.instanceId };
  const check = (name: string, ok: boolean, detail: string): boolean => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const result = (): RevertPreflightResult => ({ ok: checks.every((c) => c.ok), checks, plan });

  if (
    !check(
      'region',
      input.regionId === ecs.regionId,
      input.regionId === ecs.regionId
        ? input.regionId
        : `this worker serves region ${ecs.regionId}, the revert asks for ${input.regionId}: start it on a worker of ${input.regionId}`,
    )
  ) {
    return result();
  }
  const egressName = egressCheckScriptName(input);
  const egressProblem = deps.scripts.problem(egressName, 'egress check');
  check('guest scripts', !egressProblem, egressProblem ?? `egress check ${egressName}`);

  const instance = await ecs.describeInstance(input.instanceId);
  if (!instance) {
    check(
      'instance exists',
      false,
      `instance ${input.instanceId} not found in region ${ecs.regionId}: check the id and the region`,
    );
    return result();
  }
  check('instance exists', true, `${input.instanceId} (${instance.status})`);
  plan.instanceStatus = instance.status;
  plan.vpcId = instance.vpcId;
  const steady = instance.status === 'Running' || (instance.status === 'Stopped' && !input.verify);
  check(
    'instance state',
    steady && instance.operationLocks.length === 0,
    instance.operationLocks.length > 0
      ? `the instance is locked (${instance.operationLocks.join(', ')}): resolve the lock first`
      : steady
        ? instance.status
        : instance.status === 'Stopped'
          ? 'the instance is Stopped, so the way back cannot be verified over SSH: start it, or run with verification off'
          : `the instance is ${instance.status}: wait until it is Running, then run again`,
  );
  const own = instance.eip?.ipAddress ?? instance.publicIp;
  if (
    !check(
      'no public address on the instance',
      !own,
      own
        ? `${input.instanceId} already has the public address ${own} on its primary NIC: there is nothing to revert`
        : 'none (its public address is on a secondary ENI)',
    )
  ) {
    return result();
  }

  const enis = await ecs.listNetworkInterfaces({ instanceId: input.instanceId });
  const carrying = enis.filter((e) => e.type === 'Secondary' && e.associatedPublicIp);
  const ours = carrying.find((e) => e.tags[TAG_CREATED_BY] === CREATED_BY);
  if (!ours) {
    check(
      'ENI created by eni-migration carries the EIP',
      false,
      carrying.length
        ? `the EIP on ${carrying.map((e) => e.networkInterfaceId).join(', ')} is on an ENI this project did not create (no tag ${TAG_CREATED_BY}=${CREATED_BY}): revert it by hand (docs/operations.md)`
        : `no secondary ENI of ${input.instanceId} carries an EIP: the instance was not migrated, or was reverted already`,
    );
    return result();
  }
  const eipRef = ours.associatedPublicIp as { publicIpAddress: string; allocationId: string };
  const eip = await vpc.describeEip(eipRef.allocationId);
  const eipOk = eip?.status === 'InUse' && eip.instanceId === ours.networkInterfaceId;
  check(
    'ENI created by eni-migration carries the EIP',
    eipOk && ours.status === 'InUse' && !!ours.privateIpAddress,
    eipOk
      ? `EIP ${eipRef.publicIpAddress} (${eipRef.allocationId}) on ENI ${ours.networkInterfaceId} (${ours.privateIpAddress}), ${ours.status}`
      : `EIP ${eipRef.allocationId} is ${eip?.status ?? 'gone'}: wait until it is InUse on ${ours.networkInterfaceId}, then run again`,
  );
  Object.assign(plan, {
    networkInterfaceId: ours.networkInterfaceId,
    eniPrivateIp: ours.privateIpAddress,
    allocationId: eipRef.allocationId,
    publicIp: eipRef.publicIpAddress,
  });

  if (input.verify && instance.status === 'Running' && !egressProblem) {
    try {
      const egress = await checkEgress(ssh, eipRef.publicIpAddress, deps.scripts.find(egressName)!);
      plan.hostKeyFingerprint = egress.hostKeyFingerprint;
      check(
        'SSH reaches the instance on its EIP',
        true,
        `host key ${egress.hostKeyFingerprint}; egress now via ${egress.egressIp ?? '(no answer)'}`,
      );
    } catch (err) {
      check(
        'SSH reaches the instance on its EIP',
        false,
        `${err instanceof SshError ? err.message : String(err)}; verification needs SSH on ${eipRef.publicIpAddress} before the move: fix the ssh_config / key, or run with verification off`,
      );
    }
  }
  return result();
}
