import { guestSetupRoute, type PreflightCheck } from '../shared/migration';
import type { EcsApi, Instance } from '../cloud/ecs';
import { cidrContains, pickSnatEntry, type VpcApi } from '../cloud/vpc';
import type { GuestScript, GuestScriptRegistry } from '../guest-scripts';
import { SshError, type SshRunner } from '../ssh';
import { checkCloudAssistant } from './cloud-assistant-check';
import { attachRefusal } from './attach-rules';
import { checkEgress, egressCheckScriptName, refuseShellText } from './guest';
import type { MigrationPlan, PreflightInput, PreflightResult } from './types';

/** Instance states the runbook can act on; anything else is on its way somewhere and must settle first. */
const STEADY_STATES = new Set(['Running', 'Stopped']);

/** EIPs per account and region unless the worker is told otherwise (Alibaba Cloud's default quota). */
export const DEFAULT_EIP_QUOTA = 20;

const HOUR = 3600 * 1000;

/**
 * Step 0, read-only: every precondition of the runbook, evaluated against the cloud as it is now. Each check that
 * fails says what is wrong and how to fix it. Later checks that depend on a failed one are not evaluated.
 */
export async function runPreflight(
  deps: { ecs: EcsApi; vpc: VpcApi; ssh: SshRunner; scripts: GuestScriptRegistry; eipQuota?: number },
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
  let alreadyMigrated: PreflightResult['alreadyMigrated'];
  const result = (): PreflightResult => ({
    ok: checks.every((c) => c.ok),
    checks,
    plan,
    ...(alreadyMigrated ? { alreadyMigrated } : {}),
  });

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

  const moved = instance.publicIp || instance.eip ? undefined : await findMovedEip(ecs, instance);
  if (moved) {
    // A previous run finished the move: nothing to do, and nothing wrong (re-runs and batches stay idempotent), once
    // the move is seen to work. The check still fails: releases before 0.5 read `ok` alone, and refused it.
    plan.publicIp = moved.publicIp;
    const problem = input.verify
      ? await movedButBroken(deps, instance, vpcId, moved.publicIp, egressScript)
      : undefined;
    if (problem) {
      check(
        'public IP',
        false,
        `EIP ${moved.publicIp} is on ENI ${moved.networkInterfaceId} already, but ${problem}: fix the guest's networking for its secondary NIC (guest script secondary-nic-setup, or --guest-setup cloud-assistant on a new run), or undo the move with eni-migrate revert`,
      );
    } else {
      check(
        'public IP',
        false,
        `already migrated: EIP ${moved.publicIp} is on ENI ${moved.networkInterfaceId} (NAT mode)${input.verify ? ', reachable and leaving through the SNAT IP' : ''}; nothing to move`,
      );
      alreadyMigrated = moved;
    }
    return result();
  }
  const publicAddress = await checkPublicAddress(ecs, instance, input, plan, check);
  if (plan.convert) await checkEipQuota(vpc, deps.eipQuota ?? DEFAULT_EIP_QUOTA, check);

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

  await checkSecurityGroups(ecs, instance, vpcId, input, plan, check);

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

  const refusal = attachRefusal(instance);
  check('ENI can be attached now', !refusal, refusal ?? `${instance.instanceType}, ${instance.status}`);

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
    const own =
      instance.vSwitchId === vSwitch?.vSwitchId
        ? vSwitch
        : (shared?.vSwitches.find((v) => v.vSwitchId === instance.vSwitchId) ??
          (await vpc.describeVSwitch(instance.vSwitchId as string)));
    // A batch's shared data from before route tables were read has no route table id: read the vSwitch then.
    const routeTableId =
      own?.routeTableId ?? (await vpc.describeVSwitch(instance.vSwitchId as string))?.routeTableId;
    await checkDefaultRoute(vpc, instance.vSwitchId as string, routeTableId, snat.natGatewayId, check);
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
    checkBilling(instance, input, plan, check);
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
  check(
    'public IP',
    false,
    `${instance.instanceId} has neither a NAT public IP nor an EIP: there is no public address to move`,
  );
  return undefined;
}

/**
 * The EIP of an instance without a public address of its own, on one of its ENIs (InUse on it) in NAT mode: a finished
 * move. An ENI still attaching or detaching is a move under way, not a finished one.
 */
async function findMovedEip(ecs: EcsApi, instance: Instance): Promise<PreflightResult['alreadyMigrated']> {
  const enis = (await ecs.listNetworkInterfaces({ instanceId: instance.instanceId })).filter(
    (e) => e.status === 'InUse',
  );
  // A secondary ENI first (this runbook's result); an EIP bound in NAT mode to the primary ENI counts too.
  const moved =
    enis.find((e) => e.type === 'Secondary' && e.associatedPublicIp) ??
    enis.find((e) => e.type === 'Primary' && e.associatedPublicIp?.allocationId);
  const pub = moved?.associatedPublicIp;
  return moved && pub
    ? {
        publicIp: pub.publicIpAddress,
        networkInterfaceId: moved.networkInterfaceId,
        ...(pub.allocationId ? { allocationId: pub.allocationId } : {}),
      }
    : undefined;
}

/**
 * What is wrong with a move found done, as step 6 would see it: SSH on the EIP, and the egress check answering an SNAT
 * IP of the instance's entry. A run kept after a failed verification (`keepOnVerifyFailure`) looks moved too; it is not
 * done. Undefined when the move works.
 */
async function movedButBroken(
  deps: { vpc: VpcApi; ssh: SshRunner },
  instance: Instance,
  vpcId: string,
  eip: string,
  egressScript: GuestScript | undefined,
): Promise<string | undefined> {
  if (!egressScript) return 'the egress check cannot run (see the guest scripts check)';
  const snat = await deps.vpc.findSnatEntryFor(
    vpcId,
    instance.vSwitchId as string,
    instance.privateIp as string,
  );
  if (!snat) return `no SNAT entry covers ${instance.privateIp as string}, so it has no way out`;
  try {
    const egress = await checkEgress(deps.ssh, eip, egressScript);
    if (egress.egressIp && snat.snatIps.includes(egress.egressIp)) return undefined;
    return `its traffic leaves through ${egress.egressIp ?? `no address (${egress.problem})`}, not the SNAT IP ${snat.snatIps.join(', ')}`;
  } catch (err) {
    return `SSH on ${eip} fails (${err instanceof SshError ? err.message : String(err)})`;
  }
}

/**
 * Billing, as the ConvertNatPublicIpToEip page (2026-01) has it: pay-as-you-go converts; a subscription instance
 * converts when its bandwidth is billed by traffic and it does not expire within 24 hours. One billed by fixed
 * bandwidth switches that billing to pay-by-traffic first (ModifyInstanceNetworkSpec, the smallest change) when the
 * caller allows it; the whole instance's switch to pay-as-you-go (ModifyInstanceChargeType) stays an explicit choice.
 */
function checkBilling(
  instance: Instance,
  input: PreflightInput,
  plan: Partial<MigrationPlan>,
  check: (name: string, ok: boolean, detail: string) => boolean,
): void {
  const name = 'billing allows the conversion';
  plan.switchToPostPaid = false;
  const bandwidth = instance.internetChargeType ?? 'PayByTraffic';
  if (instance.chargeType !== 'PrePaid') {
    check(name, true, `${instance.chargeType}, ${bandwidth}`);
    return;
  }
  if (input.allowChargeTypeChange) {
    // The explicit choice of earlier releases: the instance becomes pay-as-you-go, so expiry and bandwidth billing
    // no longer matter to the conversion.
    check(
      name,
      true,
      'PrePaid (subscription): will switch the instance to PostPaid (pay-as-you-go) before converting, as asked',
    );
    plan.switchToPostPaid = true;
    return;
  }
  const expires = instance.expiredTime ? Date.parse(instance.expiredTime) : NaN;
  if (expires - Date.now() < 24 * HOUR) {
    check(
      name,
      false,
      `the subscription of ${instance.instanceId} expires at ${instance.expiredTime}, within 24 hours, and ConvertNatPublicIpToEip refuses such an instance: renew it first (ECS RenewInstance), or switch it to pay-as-you-go (--allow-charge-type-change)`,
    );
    return;
  }
  if (bandwidth === 'PayByTraffic') {
    check(name, true, 'PrePaid (subscription), bandwidth billed by traffic: converts as it is');
    return;
  }
  check(
    name,
    !!input.allowPayByTraffic,
    input.allowPayByTraffic
      ? `PrePaid (subscription), bandwidth billed by fixed bandwidth: will switch the bandwidth to pay-by-traffic (ModifyInstanceNetworkSpec) before converting, as asked`
      : `${instance.instanceId} is a subscription (PrePaid) instance whose bandwidth is billed by fixed bandwidth (${bandwidth}), which ConvertNatPublicIpToEip refuses: run again with --bandwidth-pay-by-traffic (switches only the bandwidth's billing, ModifyInstanceNetworkSpec), or with --allow-charge-type-change (the whole instance to pay-as-you-go)`,
  );
  if (input.allowPayByTraffic) plan.switchToPayByTraffic = true;
}

/**
 * Step 1 makes a new EIP: the account must have one left under its quota (MaxEIPQuotaExceeded otherwise). The SDKs the
 * product has cannot read quotas, so the usage (DescribeEipAddresses TotalCount) is held against the quota the worker
 * is configured with (ENI_MIGRATE_EIP_QUOTA, default Alibaba Cloud's 20).
 */
async function checkEipQuota(
  vpc: VpcApi,
  quota: number,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<void> {
  const used = await vpc.countEips();
  check(
    'EIP quota',
    used < quota,
    used < quota
      ? `${used} of ${quota} EIPs in ${vpc.regionId} used`
      : `the account holds ${used} EIPs in ${vpc.regionId} and its quota is ${quota}; converting makes one more (ConvertNatPublicIpToEip: MaxEIPQuotaExceeded): release an unused EIP or raise the quota (Quota Center), and if it is raised already set ENI_MIGRATE_EIP_QUOTA on the worker`,
  );
}

/**
 * The new ENI joins every security group of the instance (after step 5 they filter the traffic to the EIP, so a rule
 * of a second group must not vanish), or only the one the caller names.
 */
async function checkSecurityGroups(
  ecs: EcsApi,
  instance: Instance,
  vpcId: string,
  input: PreflightInput,
  plan: Partial<MigrationPlan>,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<void> {
  const ids = input.securityGroupId ? [input.securityGroupId] : instance.securityGroupIds;
  if (ids.length === 0) {
    check('security group', false, 'the instance has no security group: pass one of VPC ' + vpcId);
    return;
  }
  const groups = await Promise.all(ids.map((id) => ecs.describeSecurityGroup(id)));
  const problems = ids.flatMap((id, i) => {
    const group = groups[i];
    if (!group) return [`security group ${id} not found: pass a security group of VPC ${vpcId}`];
    if (group.vpcId !== vpcId)
      return [
        `security group ${id} is in VPC ${group.vpcId ?? '(none)'}, the instance in ${vpcId}: pass a security group of VPC ${vpcId}`,
      ];
    return [];
  });
  if (
    !check('security group', problems.length === 0, problems.join('; ') || `${ids.join(', ')} (VPC ${vpcId})`)
  )
    return;
  plan.securityGroupId = ids[0];
  plan.securityGroupIds = ids;
}

/**
 * The SNAT entry alone does not let the instance out: its vSwitch's route table must send 0.0.0.0/0 to that NAT
 * gateway, or after the move its traffic has no way to the Internet.
 */
async function checkDefaultRoute(
  vpc: VpcApi,
  vSwitchId: string,
  routeTableId: string | undefined,
  natGatewayId: string,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<void> {
  const route = routeTableId ? await vpc.defaultRoute(routeTableId) : undefined;
  const ok = route?.nextHopType === 'NatGateway' && route.nextHopId === natGatewayId;
  check(
    'default route to the NAT gateway',
    ok,
    ok
      ? `${routeTableId}: 0.0.0.0/0 -> ${natGatewayId}`
      : `the route table ${routeTableId ?? '(unknown)'} of vSwitch ${vSwitchId} sends 0.0.0.0/0 ${route ? `to ${route.nextHopType} ${route.nextHopId}` : 'nowhere'}, not to the NAT gateway ${natGatewayId}: once the public IP moves the instance has no way out; add the route 0.0.0.0/0 -> ${natGatewayId} to that route table (VPC console: Route Tables) first`,
  );
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
  const prepare = input.guestPrepareScript ? scripts.find(input.guestPrepareScript) : undefined;
  const problems = [
    scripts.problem(egress, 'egress check'),
    input.guestPrepareScript ? scripts.problem(input.guestPrepareScript, 'guest preparation') : undefined,
    // A script that takes the new NIC's details as Cloud Assistant parameters cannot run over SSH: say so now, not
    // after the irreversible step.
    prepare?.nicParameters && guestSetupRoute(input) === 'ssh'
      ? `guest script "${prepare.name}" takes the new NIC's details as Cloud Assistant parameters: run it with --guest-setup cloud-assistant, not over SSH`
      : undefined,
  ].filter((p): p is string => p !== undefined);
  check(
    'guest scripts',
    problems.length === 0,
    problems.length
      ? problems.join('; ')
      : `egress check ${egress}; guest preparation ${input.guestPrepareScript ?? (guestSetupRoute(input) === 'cloud-assistant' ? 'the built-in script for the OS (below)' : '(none)')}`,
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
