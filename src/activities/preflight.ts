import type { PreflightCheck } from '../shared/migration';
import type { EcsApi, Instance } from '../cloud/ecs';
import { cidrContains, pickSnatEntry, type VpcApi } from '../cloud/vpc';
import type { GuestScript, GuestScriptRegistry } from '../guest-scripts';
import { SshError, type SshRunner } from '../ssh';
import { checkCloudAssistant } from './cloud-assistant-check';
import { checkEgress, egressCheckScriptName, refuseShellText } from './guest';
import type { MigrationPlan, PreflightInput, PreflightResult } from './types';

/** Instance states the runbook can act on; anything else is on its way somewhere and must settle first. */
const STEADY_STATES = new Set(['Running', 'Stopped']);

/**
 * Step 0, read-only: every precondition of the runbook, evaluated against the cloud as it is now. Each check that
 * fails says what is wrong and how to fix it. Later checks that depend on a failed one are not evaluated.
 */
export async function runPreflight(
  deps: { ecs: EcsApi; vpc: VpcApi; ssh: SshRunner; scripts: GuestScriptRegistry },
  input: PreflightInput,
): Promise<PreflightResult> {
  const { ecs, vpc, ssh } = deps;
  refuseShellText(input);
  const checks: PreflightCheck[] = [];
  const plan: Partial<MigrationPlan> = { instanceId: input.instanceId };
  const check = (name: string, ok: boolean, detail: string): boolean => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const result = (): PreflightResult => ({ ok: checks.every((c) => c.ok), checks, plan });

  if (
    !check(
      'region',
      input.regionId === ecs.regionId,
      input.regionId === ecs.regionId
        ? input.regionId
        : `this worker serves region ${ecs.regionId}, the migration asks for ${input.regionId}: start it on a worker (task queue) of ${input.regionId}`,
    )
  ) {
    return result();
  }
  const egressScript = checkGuestScripts(deps.scripts, input, check);
  const instance = await ecs.describeInstance(input.instanceId);
  if (
    !check(
      'instance exists',
      instance !== undefined,
      instance
        ? `${input.instanceId} (${instance.instanceType}, zone ${instance.zoneId})`
        : `instance ${input.instanceId} not found in region ${ecs.regionId}: check the instance id and the region`,
    ) ||
    !instance
  ) {
    return result();
  }
  plan.instanceStatus = instance.status;
  plan.zoneId = instance.zoneId;
  if (input.guestSetup === 'cloud-assistant')
    await checkCloudAssistant(ecs, instance, deps.scripts, input.guestPrepareScript, plan, check);

  if (
    !check(
      'instance is in a VPC',
      instance.networkType === 'vpc' && !!instance.vpcId && !!instance.vSwitchId && !!instance.privateIp,
      instance.vpcId
        ? `VPC ${instance.vpcId}, vSwitch ${instance.vSwitchId}, private IP ${instance.privateIp}`
        : 'a classic-network instance has no VPC: migrate it to a VPC first (ENIs exist only in VPCs)',
    )
  ) {
    return result();
  }
  const vpcId = instance.vpcId as string;
  const privateIp = instance.privateIp as string;
  plan.vpcId = vpcId;
  plan.privateIp = privateIp;

  check('instance state', ...stateCheck(instance, input.verify));

  const publicAddress = await checkPublicAddress(ecs, instance, input, plan, check);

  const vSwitchId = input.vSwitchId ?? (instance.vSwitchId as string);
  // A batch read the VPC's shared data once for all its migrations: use it rather than read it again per instance.
  const shared = input.vpcShared?.vpcId === vpcId ? input.vpcShared : undefined;
  const vSwitch =
    shared?.vSwitches.find((v) => v.vSwitchId === vSwitchId) ?? (await vpc.describeVSwitch(vSwitchId));
  if (!vSwitch) {
    check(
      'vSwitch',
      false,
      `vSwitch ${vSwitchId} not found in region ${vpc.regionId}: pass a vSwitch of VPC ${vpcId}`,
    );
  } else if (vSwitch.vpcId !== vpcId) {
    check(
      'vSwitch',
      false,
      `vSwitch ${vSwitchId} is in VPC ${vSwitch.vpcId}, the instance in ${vpcId}: pass a vSwitch of VPC ${vpcId}`,
    );
  } else if (vSwitch.zoneId !== instance.zoneId) {
    check(
      'vSwitch',
      false,
      `vSwitch ${vSwitchId} is in zone ${vSwitch.zoneId}, the instance in ${instance.zoneId}; an ENI attaches only to an instance of its zone: pass a vSwitch of zone ${instance.zoneId}`,
    );
  } else if (vSwitch.availableIpAddressCount <= 0) {
    check(
      'vSwitch',
      false,
      `vSwitch ${vSwitchId} has no free address: free one or pass another vSwitch of zone ${instance.zoneId}`,
    );
  } else if (input.primaryIpAddress && !cidrContains(vSwitch.cidrBlock, input.primaryIpAddress)) {
    check(
      'vSwitch',
      false,
      `primary IP ${input.primaryIpAddress} is outside vSwitch ${vSwitchId} (${vSwitch.cidrBlock}): pass a free address of that block`,
    );
  } else {
    check(
      'vSwitch',
      true,
      `${vSwitchId} (${vSwitch.cidrBlock}, zone ${vSwitch.zoneId}, VPC ${vSwitch.vpcId})`,
    );
    plan.vSwitchId = vSwitchId;
    plan.primaryIpAddress = input.primaryIpAddress;
  }

  const securityGroupId = input.securityGroupId ?? instance.securityGroupIds[0];
  const group = securityGroupId ? await ecs.describeSecurityGroup(securityGroupId) : undefined;
  if (!securityGroupId) {
    check('security group', false, 'the instance has no security group: pass one of VPC ' + vpcId);
  } else if (!group) {
    check(
      'security group',
      false,
      `security group ${securityGroupId} not found: pass a security group of VPC ${vpcId}`,
    );
  } else if (group.vpcId !== vpcId) {
    check(
      'security group',
      false,
      `security group ${securityGroupId} is in VPC ${group.vpcId ?? '(none)'}, the instance in ${vpcId}: pass a security group of VPC ${vpcId}`,
    );
  } else {
    check('security group', true, `${securityGroupId} (VPC ${vpcId})`);
    plan.securityGroupId = securityGroupId;
  }

  const [eniQuantity, attached] = await Promise.all([
    ecs.instanceTypeEniQuantity(instance.instanceType),
    ecs.listNetworkInterfaces({ instanceId: instance.instanceId }),
  ]);
  if (eniQuantity === undefined) {
    check(
      'free ENI slot',
      false,
      `instance type ${instance.instanceType} is unknown to DescribeInstanceTypes: check the region`,
    );
  } else {
    const used = Math.max(attached.length, 1);
    check(
      'free ENI slot',
      used < eniQuantity,
      used < eniQuantity
        ? `${used} of ${eniQuantity} ENIs in use (${instance.instanceType})`
        : `${instance.instanceType} takes at most ${eniQuantity} ENIs and ${used} are attached: detach an unused secondary ENI or change the instance type`,
    );
  }

  const snat = shared
    ? pickSnatEntry(shared.natGateways, instance.vSwitchId as string, privateIp)
    : await vpc.findSnatEntryFor(vpcId, instance.vSwitchId as string, privateIp);
  if (
    check(
      'SNAT entry covers the instance',
      snat !== undefined,
      snat
        ? `${snat.snatEntryId} on ${snat.natGatewayId} (${snat.sourceCidr ?? snat.sourceVSwitchId}) via ${snat.snatIps.join(', ')}`
        : `no SNAT entry of a NAT gateway in ${vpcId} covers ${privateIp} (vSwitch ${instance.vSwitchId}); without one the instance loses Internet access once its public IP moves: create an SNAT entry for the vSwitch first (the runbook's prerequisite)`,
    ) &&
    snat
  ) {
    plan.natGatewayId = snat.natGatewayId;
    plan.snatIps = snat.snatIps;
  }

  if (input.verify && publicAddress && instance.status === 'Running' && egressScript) {
    await checkSsh(ssh, publicAddress, egressScript, plan, check);
  }
  return result();
}

function stateCheck(instance: Instance, verify: boolean): [boolean, string] {
  if (instance.operationLocks.length > 0) {
    return [
      false,
      `the instance is locked (${instance.operationLocks.join(', ')}): resolve the lock (often an overdue payment or a security lock) first`,
    ];
  }
  if (!STEADY_STATES.has(instance.status)) {
    return [
      false,
      `the instance is ${instance.status}: wait until it is Running (or Stopped), then run again`,
    ];
  }
  if (instance.status === 'Stopped' && verify) {
    return [
      false,
      'the instance is Stopped, so the move cannot be verified over SSH: start it, or run with verification off',
    ];
  }
  return [true, instance.status];
}

async function checkPublicAddress(
  ecs: EcsApi,
  instance: Instance,
  input: PreflightInput,
  plan: Partial<MigrationPlan>,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<string | undefined> {
  if (instance.publicIp && !instance.eip) {
    if (instance.internetMaxBandwidthOut <= 0) {
      check(
        'public IP',
        false,
        `the public bandwidth of ${instance.instanceId} is 0 Mbit/s, which ConvertNatPublicIpToEip refuses: raise it above 0`,
      );
      return undefined;
    }
    check('public IP', true, `NAT public IP ${instance.publicIp} will be converted to an EIP (irreversible)`);
    plan.publicIp = instance.publicIp;
    plan.convert = true;
    if (instance.chargeType === 'PrePaid') {
      check(
        'billing allows the conversion',
        input.allowChargeTypeChange,
        input.allowChargeTypeChange
          ? 'PrePaid (subscription): will switch the instance to PostPaid (pay-as-you-go) before converting, as asked'
          : 'the instance is PrePaid (subscription); the runbook converts pay-as-you-go instances only: switch it to PostPaid first (ECS console: Change Billing Method), or run again allowing the charge type change',
      );
      plan.switchToPostPaid = input.allowChargeTypeChange;
    } else {
      check(
        'billing allows the conversion',
        true,
        `${instance.chargeType}, ${instance.internetChargeType ?? 'PayByTraffic'}`,
      );
      plan.switchToPostPaid = false;
    }
    return instance.publicIp;
  }
  if (instance.eip) {
    check(
      'public IP',
      true,
      `already an EIP: ${instance.eip.ipAddress} (${instance.eip.allocationId}); step 1 is skipped`,
    );
    plan.publicIp = instance.eip.ipAddress;
    plan.allocationId = instance.eip.allocationId;
    plan.convert = false;
    plan.switchToPostPaid = false;
    return instance.eip.ipAddress;
  }
  // Neither: perhaps a previous run already finished the move.
  const enis = await ecs.listNetworkInterfaces({ instanceId: instance.instanceId });
  const moved = enis.find((e) => e.type === 'Secondary' && e.associatedPublicIp);
  check(
    'public IP',
    false,
    moved?.associatedPublicIp
      ? `already migrated: EIP ${moved.associatedPublicIp.publicIpAddress} is on ENI ${moved.networkInterfaceId}; nothing to move`
      : `${instance.instanceId} has neither a NAT public IP nor an EIP: there is no public address to move`,
  );
  return undefined;
}

/**
 * The guest scripts the migration names exist on this worker (and the egress check answers an address): a typo is
 * refused here, before anything changes, not after the irreversible step. Returns the egress check when it is usable.
 */
function checkGuestScripts(
  scripts: GuestScriptRegistry,
  input: PreflightInput,
  check: (name: string, ok: boolean, detail: string) => boolean,
): GuestScript | undefined {
  const egress = egressCheckScriptName(input);
  const problems = [
    scripts.problem(egress, 'egress check'),
    input.guestPrepareScript ? scripts.problem(input.guestPrepareScript, 'guest preparation') : undefined,
  ].filter((p): p is string => p !== undefined);
  check(
    'guest scripts',
    problems.length === 0,
    problems.length
      ? problems.join('; ')
      : `egress check ${egress}; guest preparation ${input.guestPrepareScript ?? '(none)'}`,
  );
  return scripts.problem(egress, 'egress check') ? undefined : scripts.find(egress);
}

async function checkSsh(
  ssh: SshRunner,
  address: string,
  egressScript: GuestScript,
  plan: Partial<MigrationPlan>,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<void> {
  try {
    const egress = await checkEgress(ssh, address, egressScript);
    plan.hostKeyFingerprint = egress.hostKeyFingerprint;
    check(
      'SSH reaches the instance on its public IP',
      true,
      `host key ${egress.hostKeyFingerprint}; egress now via ${egress.egressIp ?? `(no address: ${egress.problem})`}`,
    );
  } catch (err) {
    const why = err instanceof SshError ? err.message : String(err);
    check(
      'SSH reaches the instance on its public IP',
      false,
      `${why}; verification needs SSH on ${address} before the move: fix the ssh_config / key (ENI_MIGRATE_SSH_CONFIG, ENI_MIGRATE_SSH_KEY) or the security group (port 22), or run with verification off`,
    );
  }
}
