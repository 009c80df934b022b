import { CloudError } from '../errors';
import { ATTACH_NEEDS_STOPPED, ATTACH_REBOOT_BEFORE } from './catalog';
import { cidrContains, isIpv4, isUsableInVSwitch } from './ipv4';
import type { Region } from './region';
import type { EniStatus, NetworkInterface, Tag } from './resources';
import { forgetDevice } from './guest-policy-routing';

export interface CreateNetworkInterfaceInput {
  vSwitchId: string;
  securityGroupIds: string[];
  primaryIpAddress?: string;
  privateIpAddresses?: string[];
  secondaryPrivateIpAddressCount?: number;
  networkInterfaceName?: string;
  description?: string;
  deleteOnRelease?: boolean;
  tags?: Tag[];
}

/**
 * One ENI change at a time per instance: an attach or detach while another ENI of the instance is Attaching or
 * Detaching is refused with OperationConflict (409) [doc: ECS common code; tf retries it on attach and detach].
 */
function conflictOnInstance(enis: NetworkInterface[], instanceId: string): void {
  const busy = enis.find((e) => e.status === 'Attaching' || (e.status === 'Detaching' && !e.stuck));
  if (busy)
    throw CloudError.of(
      'OperationConflict',
      `the network interface ${busy.networkInterfaceId} of ${instanceId} is ${busy.status}`,
    );
}

/** Instance states in which ENIs may be attached or detached [DOC]. */
const ENI_READY_INSTANCE = new Set(['Running', 'Stopped']);

/**
 * Elastic network interfaces [DOC: CreateNetworkInterface, AttachNetworkInterface, DetachNetworkInterface,
 * DeleteNetworkInterface]:
 *   (create, synchronous) → Available
 *   Available ─attach→ Attaching ─→ InUse          (a failed attach falls back to Available)
 *   InUse ─detach→ Detaching ─→ Available          (may stick; detaching again is allowed and unsticks it)
 *   Available ─delete→ Deleting ─→ gone
 */
export class EniOps {
  constructor(private readonly r: Region) {
    r.settlers.push((now) => this.settle(now));
  }

  /** For mutations: the ENI whether or not Describe shows it yet. */
  get(eniId: string): NetworkInterface {
    this.r.settle();
    const eni = this.r.enis.get(eniId);
    if (!eni) throw CloudError.of('InvalidEniId.NotFound', eniId);
    return eni;
  }

  /** What Describe* sees: a new ENI stays hidden for `describeLagMs` (eventual consistency, admin behaviour). */
  visible(): NetworkInterface[] {
    this.r.settle();
    const now = this.r.now();
    return [...this.r.enis.values()].filter((e) => e.visibleAt <= now);
  }

  create(input: CreateNetworkInterfaceInput): NetworkInterface {
    const r = this.r;
    r.settle();
    const vsw = r.vSwitches.get(input.vSwitchId);
    if (!vsw) throw CloudError.of('InvalidVSwitchId.NotFound', input.vSwitchId);
    for (const sgId of input.securityGroupIds) {
      const sg = r.securityGroups.get(sgId);
      if (!sg) throw CloudError.of('InvalidSecurityGroupId.NotFound', sgId);
      // [DOC] the security group must belong to the vSwitch's VPC.
      if (sg.vpcId !== vsw.vpcId)
        throw CloudError.of('InvalidOperation.VpcMismatch', `security group ${sgId}`, vsw.vpcId);
    }
    // The account's ENI quota in the region [doc: CreateNetworkInterface; the value: topology quotas.maxEnis].
    if (r.secondaryEniCount() >= r.quotas.maxEnis)
      throw CloudError.of('MaxEniCountExceeded', String(r.quotas.maxEnis));
    const used = r.usedIps(vsw.vSwitchId);
    const claim = (ip: string, field: string) => {
      if (!isIpv4(ip)) throw CloudError.of('InvalidParameter', field, `"${ip}" is not an IPv4 address.`);
      if (!cidrContains(vsw.cidrBlock, ip) || !isUsableInVSwitch(vsw.cidrBlock, ip))
        throw CloudError.of('InvalidVSwitchId.IpInvalid', ip, vsw.vSwitchId, vsw.cidrBlock);
      if (used.has(ip)) throw CloudError.of('InvalidPrivateIpAddress.Duplicated', ip);
      used.add(ip);
      return ip;
    };
    const allocate = () => {
      const ip = r.allocateIp(vsw.vSwitchId, used);
      if (!ip) throw CloudError.of('InvalidVSwitchId.IpNotEnough', vsw.vSwitchId);
      used.add(ip);
      return ip;
    };
    const primary = input.primaryIpAddress ? claim(input.primaryIpAddress, 'PrimaryIpAddress') : allocate();
    const secondary = (input.privateIpAddresses ?? []).map((ip) => claim(ip, 'PrivateIpAddress'));
    for (let i = 0; i < (input.secondaryPrivateIpAddressCount ?? 0); i++) secondary.push(allocate());

    const now = r.now();
    const id = r.ids.next('eni');
    const eni: NetworkInterface = {
      networkInterfaceId: id,
      type: 'Secondary',
      status: 'Available',
      vpcId: vsw.vpcId,
      vSwitchId: vsw.vSwitchId,
      zoneId: vsw.zoneId,
      primaryIpAddress: primary,
      secondaryIpAddresses: secondary,
      macAddress: r.ids.mac(id),
      networkInterfaceName: input.networkInterfaceName ?? '',
      description: input.description ?? '',
      securityGroupIds: [...input.securityGroupIds],
      deleteOnRelease: input.deleteOnRelease ?? false,
      creationTime: now,
      visibleAt: now + r.behaviours.describeLagMs,
      tags: input.tags ?? [],
      guestConfigured: false,
    };
    r.enis.set(id, eni);
    if (r.behaviours.describeLagMs > 0) r.fired.laggedEnis++;
    return eni;
  }

  attach(eniId: string, instanceId: string): void {
    const r = this.r;
    const eni = this.get(eniId);
    const inst = r.instances.get(instanceId);
    if (!inst) throw CloudError.of('InvalidEcsId.NotFound', instanceId);
    if (eni.type === 'Primary') throw CloudError.of('InvalidOperation.InvalidEniType', eniId, eni.type);
    if (eni.status !== 'Available')
      throw CloudError.of('InvalidOperation.InvalidEniState', 'Available', eni.status);
    if (!ENI_READY_INSTANCE.has(inst.status))
      throw CloudError.of('InvalidOperation.InvalidEcsState', 'Running, Stopped', inst.status);
    if (eni.vpcId !== inst.vpcId)
      throw CloudError.of('InvalidOperation.VpcMismatch', `network interface ${eniId}`, inst.vpcId);
    if (eni.zoneId !== inst.zoneId)
      throw CloudError.of('InvalidOperation.AvailabilityZoneMismatch', eni.zoneId, inst.zoneId);
    const type = r.instanceTypes.get(inst.instanceType);
    const limit = type?.eniQuantity ?? 1;
    const attached = r.enisOf(instanceId);
    // EniQuantity counts the primary ENI [DOC: DescribeInstanceTypes].
    if (attached.length + 1 > limit)
      throw CloudError.of('EniPerInstanceLimitExceeded', inst.instanceType, String(limit));
    // The instance type caps the private IPs of each ENI [DOC: AttachNetworkInterface; terway ErrIPv4CountExceeded].
    const ips = 1 + eni.secondaryIpAddresses.length;
    const ipLimit = type?.eniPrivateIpAddressQuantity ?? Infinity;
    if (ips > ipLimit)
      throw CloudError.of(
        'InvalidOperation.Ipv4CountExceeded',
        eniId,
        String(ips),
        inst.instanceType,
        String(ipLimit),
      );
    conflictOnInstance(r.enisOf(instanceId), instanceId);

    // [DOC] some types attach only while Stopped; a Running instance last started before 2018-04-01 needs a reboot.
    if (inst.status === 'Running' && ATTACH_NEEDS_STOPPED.has(inst.instanceType))
      throw CloudError.of('InvalidOperation.InvalidEcsState', 'Stopped', inst.status);
    if (inst.status === 'Running' && inst.startTime < ATTACH_REBOOT_BEFORE)
      throw CloudError.of(
        'InvalidOperation.InvalidEcsState',
        'Running since 2018-04-01 (reboot first)',
        inst.status,
      );

    const indexes = new Set(attached.map((e) => e.deviceIndex));
    let deviceIndex = 1;
    while (indexes.has(deviceIndex)) deviceIndex++;
    const fails = r.behaviours.attachFallbacks > 0 || r.random() < r.behaviours.attachFallbackRate;
    if (r.behaviours.attachFallbacks > 0) r.behaviours.attachFallbacks--;
    if (fails) r.fired.attachFallbacks++;
    eni.status = 'Attaching';
    eni.instanceId = instanceId;
    eni.deviceIndex = deviceIndex;
    eni.pending = { to: fails ? 'Available' : 'InUse', at: r.now() + r.timings.attachMs };
  }

  detach(eniId: string, instanceId: string): void {
    const r = this.r;
    const eni = this.get(eniId);
    const inst = r.instances.get(instanceId);
    if (!inst) throw CloudError.of('InvalidEcsId.NotFound', instanceId);
    if (eni.type === 'Primary') throw CloudError.of('InvalidOperation.DetachPrimaryEniNotAllowed', eniId);
    if (eni.status !== 'InUse' && eni.status !== 'Detaching')
      throw CloudError.of('InvalidOperation.InvalidEniState', 'InUse, Detaching', eni.status);
    if (eni.instanceId !== instanceId)
      throw CloudError.of(
        'InvalidParameter',
        'InstanceId',
        `The network interface ${eniId} is not attached to ${instanceId}.`,
      );
    if (!ENI_READY_INSTANCE.has(inst.status))
      throw CloudError.of('InvalidOperation.InvalidEcsState', 'Running, Stopped', inst.status);

    if (eni.status === 'Detaching') {
      // A re-issued detach unsticks a stuck one [DOC: "re-initiate the request"], unless it is one that persists
      // (stuckDetachReissues; the doc: "if it persists, restart the instance"); an ongoing one just continues.
      if (eni.stuck && eni.stuck.reissuesLeft > 0) {
        eni.stuck.reissuesLeft--;
        r.fired.ignoredDetachReissues++;
        return;
      }
      eni.stuck = undefined;
      if (!eni.pending) eni.pending = { to: 'Available', at: r.now() + r.timings.detachMs };
      return;
    }
    conflictOnInstance(r.enisOf(instanceId), instanceId);
    const sticks = r.behaviours.stuckDetaches > 0 || r.random() < r.behaviours.stuckDetachRate;
    if (r.behaviours.stuckDetaches > 0) r.behaviours.stuckDetaches--;
    if (sticks) r.fired.stuckDetaches++;
    eni.status = 'Detaching';
    eni.stuck = sticks ? { reissuesLeft: r.behaviours.stuckDetachReissues } : undefined;
    eni.pending = sticks ? undefined : { to: 'Available', at: r.now() + r.timings.detachMs };
  }

  delete(eniId: string): void {
    const r = this.r;
    const eni = this.get(eniId);
    if (eni.type === 'Primary') throw CloudError.of('InvalidOperation.InvalidEniType', eniId, eni.type);
    if (eni.status === 'Deleting') {
      // Re-issuing a delete is allowed [DOC], and moves a stuck one on.
      if (eni.stuck) {
        eni.stuck = undefined;
        eni.pending = { to: 'Deleted', at: r.now() + r.timings.deleteMs };
      }
      return;
    }
    if (eni.status !== 'Available')
      throw CloudError.of('InvalidOperation.InvalidEniState', 'Available', eni.status);
    const eip = r.eipOfEni(eniId);
    // The docs are silent; we refuse rather than silently free the EIP, so a rehearsal errs on the strict side.
    if (eip)
      throw CloudError.of(
        'OperationDenied',
        `The network interface ${eniId} still has the EIP ${eip.allocationId} associated.`,
      );
    const sticks = r.behaviours.stuckDeletes > 0;
    if (sticks) {
      r.behaviours.stuckDeletes--;
      r.fired.stuckDeletes++;
    }
    eni.status = 'Deleting';
    eni.stuck = sticks ? { reissuesLeft: 0 } : undefined;
    eni.pending = sticks ? undefined : { to: 'Deleted', at: r.now() + r.timings.deleteMs };
  }

  /**
   * CreateNetworkInterface answering 200 with no NetworkInterfaceId (admin behaviour emptyCreates): no ENI was made and
   * the caller is to call again [DOC: CreateNetworkInterface, 2024-2026]. True when this call is one of those.
   */
  answersEmpty(): boolean {
    const b = this.r.behaviours;
    if (b.emptyCreates <= 0) return false;
    b.emptyCreates--;
    this.r.fired.emptyCreates++;
    return true;
  }

  private settle(now: number): void {
    const due = [...this.r.enis.values()].filter((e) => e.pending && e.pending.at <= now);
    due.sort((a, b) => a.pending!.at - b.pending!.at);
    for (const eni of due) {
      const to = eni.pending!.to;
      eni.pending = undefined;
      if (to === 'Deleted') {
        this.r.enis.delete(eni.networkInterfaceId);
        continue;
      }
      if (to === 'InUse') {
        const inst = eni.instanceId ? this.r.instances.get(eni.instanceId) : undefined;
        // Images with multi-nic-util bring the NIC up by themselves; others wait for eni.service (guest.ts).
        eni.guestConfigured = !!inst && this.r.images.get(inst.imageId)?.secondaryNicSetup === 'auto';
      } else if (to === 'Available') {
        if (eni.instanceId && eni.deviceIndex !== undefined)
          forgetDevice(this.r, eni.instanceId, eni.deviceIndex);
        eni.instanceId = undefined;
        eni.deviceIndex = undefined;
        eni.guestConfigured = false;
      }
      eni.status = to as EniStatus;
    }
  }
}
