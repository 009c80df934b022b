import { CloudError } from '../errors';
import type { Region } from './region';
import type { EipAddress, EipInstanceType, EipMode, NetworkInterface } from './resources';

export interface AssociateEipInput {
  allocationId: string;
  instanceId: string;
  instanceType?: string;
  mode?: string;
  privateIpAddress?: string;
}

export interface UnassociateEipInput {
  allocationId: string;
  instanceId?: string;
  instanceType?: string;
  privateIpAddress?: string;
  /** Disassociates a NAT gateway's EIP even though its SNAT/DNAT entries use it [doc]. */
  force?: boolean;
}

const INSTANCE_READY = new Set(['Running', 'Stopped']);
/** Instance states that are on the way somewhere: the EIP APIs refuse them until they settle [tf retries it]. */
const INSTANCE_TRANSITIONAL = new Set(['Pending', 'Starting', 'Stopping']);
const MODES = new Set<EipMode>(['NAT', 'BINDED', 'MULTI_BINDED']);

/**
 * Elastic IP addresses [DOC: AssociateEipAddress, UnassociateEipAddress]:
 *   Available ─associate→ Associating ─→ InUse ─unassociate→ Unassociating ─→ Available
 * Only queries are allowed while Associating or Unassociating (IncorrectEipStatus).
 */
export class EipOps {
  constructor(private readonly r: Region) {
    r.settlers.push((now) => this.settle(now));
  }

  /** What DescribeEipAddresses sees (an EIP made by ConvertNatPublicIpToEip shows up after `convertMs`). */
  visible(): EipAddress[] {
    this.r.settle();
    const now = this.r.now();
    return [...this.r.eips.values()].filter((e) => e.visibleAt <= now);
  }

  /** An EIP the VPC API knows about now; one not yet visible is not found either. */
  get(allocationId: string): EipAddress {
    this.r.settle();
    const eip = this.r.eips.get(allocationId);
    if (!eip || eip.visibleAt > this.r.now())
      throw CloudError.of('InvalidAllocationId.NotFound', allocationId);
    return eip;
  }

  associate(input: AssociateEipInput): void {
    const r = this.r;
    const eip = this.get(input.allocationId);
    const instanceType = (input.instanceType ?? 'EcsInstance') as EipInstanceType;
    if (instanceType !== 'EcsInstance' && instanceType !== 'NetworkInterface')
      throw CloudError.of('InvalidInstanceType.ValueNotSupported', input.instanceType ?? '');
    if (eip.status !== 'Available') throw CloudError.of('IncorrectEipStatus', eip.allocationId, eip.status);

    if (instanceType === 'EcsInstance') {
      const inst = r.instances.get(input.instanceId);
      // Alibaba's own spelling of the code [doc: AssociateEipAddress].
      if (!inst) throw CloudError.of('InvalidInstanId.NotFound', input.instanceId);
      this.instanceSettled(inst.instanceId, inst.status);
      if (!INSTANCE_READY.has(inst.status))
        throw CloudError.of('IncorrectInstanceStatus', inst.instanceId, inst.status);
      this.noOtherChangeOn(inst.instanceId);
      // An ECS instance holds one public address on its primary ENI: a static public IP or one EIP.
      if (inst.publicIpAddress)
        throw CloudError.of(
          'InvalidAssociation.Duplicated',
          `${inst.instanceId} already has the public IP ${inst.publicIpAddress}`,
        );
      const primary = r.enis.get(inst.primaryNetworkInterfaceId);
      const other =
        [...r.eips.values()].find(
          (e) => e.binding?.instanceType === 'EcsInstance' && e.binding.instanceId === inst.instanceId,
        ) ?? (primary ? r.eipOfEni(primary.networkInterfaceId, primary.primaryIpAddress) : undefined);
      if (other)
        throw CloudError.of(
          'InvalidAssociation.Duplicated',
          `${inst.instanceId} already has the EIP ${other.allocationId}`,
        );
      eip.binding = { instanceId: inst.instanceId, instanceType, mode: 'NAT' };
    } else {
      const eni = r.enis.get(input.instanceId);
      // The doc lists InvalidParams.NotFound (400) beside InvalidInstanId.NotFound; we answer it for an unknown ENI.
      if (!eni) throw CloudError.of('InvalidParams.NotFound', 'InstanceId', input.instanceId);
      this.eniSettled(eni);
      const mode = (input.mode ?? 'NAT') as EipMode;
      if (!MODES.has(mode))
        throw CloudError.of('InvalidParameter', 'Mode', 'Valid values: NAT, MULTI_BINDED, BINDED.');
      // Cut-through modes are for secondary ENIs; NAT mode works on primary and secondary ENIs, one EIP per private
      // IP [doc: "Associate multiple EIPs with an ECS instance in NAT mode", 2025-11].
      if (eni.type !== 'Secondary' && mode !== 'NAT')
        throw CloudError.of(
          'InvalidInstanceType.ValueNotSupported',
          `NetworkInterface (${eni.type} ENI, ${mode})`,
        );
      this.noOtherChangeOn(eni.networkInterfaceId);
      const onEni = r.eipOfEni(eni.networkInterfaceId);
      if (mode === 'NAT') {
        // NAT mode: one EIP per private IP; the ENI may be attached or not [DOC].
        const ip = input.privateIpAddress ?? eni.primaryIpAddress;
        if (ip !== eni.primaryIpAddress && !eni.secondaryIpAddresses.includes(ip))
          throw CloudError.of(
            'InvalidParameter',
            'PrivateIpAddress',
            `${ip} is not a private IP of ${eni.networkInterfaceId}.`,
          );
        const taken = r.eipOfEni(eni.networkInterfaceId, ip);
        if (taken || (onEni && onEni.binding?.mode !== 'NAT'))
          throw CloudError.of(
            'InvalidAssociation.Duplicated',
            `${eni.networkInterfaceId} (${ip}) already has the EIP ${(taken ?? onEni)!.allocationId}`,
          );
        // The primary private IP of a primary ENI already carries the instance's own public address, if any.
        const inst = eni.type === 'Primary' && eni.instanceId ? r.instances.get(eni.instanceId) : undefined;
        if (inst && ip === eni.primaryIpAddress) {
          const own = inst.publicIpAddress ?? this.ecsBinding(inst.instanceId)?.ipAddress;
          if (own)
            throw CloudError.of(
              'InvalidAssociation.Duplicated',
              `${eni.networkInterfaceId} (${ip}) already has the public address ${own} of ${inst.instanceId}`,
            );
        }
        eip.binding = { instanceId: eni.networkInterfaceId, instanceType, privateIpAddress: ip, mode };
      } else {
        // Cut-through modes: the ENI must not be attached, and it takes a single EIP [DOC].
        if (eni.instanceId || eni.status !== 'Available')
          throw CloudError.of('InvalidStatus.EniStatusNotSupport', eni.networkInterfaceId, eni.status);
        if (onEni)
          throw CloudError.of(
            'InvalidAssociation.Duplicated',
            `${eni.networkInterfaceId} already has the EIP ${onEni.allocationId}`,
          );
        eip.binding = {
          instanceId: eni.networkInterfaceId,
          instanceType,
          privateIpAddress: eni.primaryIpAddress,
          mode,
        };
      }
    }
    const b = r.behaviours;
    const fallsBack = b.associateFallbacks > 0 || r.random() < b.associateFallbackRate;
    if (b.associateFallbacks > 0) b.associateFallbacks--;
    if (fallsBack) r.fired.associateFallbacks++;
    eip.status = 'Associating';
    // An association may end Available instead of InUse [tf PR #5694: "two terminal states, Available and InUse"].
    eip.pending = { to: fallsBack ? 'Available' : 'InUse', at: r.now() + r.associateDurationMs() };
  }

  unassociate(input: UnassociateEipInput): void {
    const r = this.r;
    const eip = this.get(input.allocationId);
    if (
      input.instanceId &&
      !r.instances.has(input.instanceId) &&
      !r.enis.has(input.instanceId) &&
      !r.natGateways.has(input.instanceId)
    ) {
      // 400 on this action, not the ECS 404 [doc: UnassociateEipAddress error codes].
      const e = CloudError.of('InvalidInstanceId.NotFound', input.instanceId);
      throw new CloudError(e.code, 400, e.message);
    }
    if (eip.status !== 'InUse') throw CloudError.of('IncorrectEipStatus', eip.allocationId, eip.status);
    const b = eip.binding!;
    // Force disassociates a NAT gateway's EIP in use by its SNAT/DNAT entries [doc: UnassociateEipAddress].
    if (b.instanceType === 'Nat' && !input.force)
      throw CloudError.of('InvalidIpStatus.HasBeenUsedBySnatTable', eip.ipAddress);
    // InstanceType defaults to EcsInstance [doc, sdk]: an ENI or NAT binding must be named as such.
    const instanceType = input.instanceType ?? 'EcsInstance';
    if (
      (input.instanceId && input.instanceId !== b.instanceId) ||
      instanceType !== b.instanceType ||
      (input.privateIpAddress && input.privateIpAddress !== b.privateIpAddress)
    )
      throw CloudError.of('InvalidBindingStatus', eip.allocationId, `${b.instanceType} ${b.instanceId}`);
    if (b.instanceType === 'EcsInstance') {
      const inst = r.instances.get(b.instanceId);
      if (inst) this.instanceSettled(inst.instanceId, inst.status);
    } else if (b.instanceType === 'NetworkInterface') {
      const eni = r.enis.get(b.instanceId);
      if (eni) this.eniSettled(eni);
    }
    this.noOtherChangeOn(b.instanceId);
    eip.status = 'Unassociating';
    eip.pending = { to: 'Available', at: r.now() + r.timings.unassociateMs };
  }

  /** The EIP bound to an ECS instance itself (InstanceType EcsInstance), in any state of the binding. */
  private ecsBinding(instanceId: string): EipAddress | undefined {
    return [...this.r.eips.values()].find(
      (e) => e.binding?.instanceType === 'EcsInstance' && e.binding.instanceId === instanceId,
    );
  }

  /** An instance on its way to another state takes no EIP change [tf: InvalidStatus.EcsStatusNotSupport, retried]. */
  private instanceSettled(instanceId: string, status: string): void {
    if (INSTANCE_TRANSITIONAL.has(status))
      throw CloudError.of('InvalidStatus.EcsStatusNotSupport', instanceId, status);
  }

  /**
   * An ENI being attached, detached or deleted takes no EIP change [tf: InvalidStatus.EniStatusNotSupport, retried],
   * nor does one attached to an instance on its way to another state.
   */
  private eniSettled(eni: NetworkInterface): void {
    if (eni.status === 'Attaching' || eni.status === 'Detaching' || eni.status === 'Deleting')
      throw CloudError.of('InvalidStatus.EniStatusNotSupport', eni.networkInterfaceId, eni.status);
    const inst = eni.instanceId ? this.r.instances.get(eni.instanceId) : undefined;
    if (inst) this.instanceSettled(inst.instanceId, inst.status);
  }

  /**
   * One EIP change at a time per target: another EIP still Associating or Unassociating on the same instance or ENI
   * refuses this one with TaskConflict ("You cannot repeatedly call AssociateEipAddress within a specific period";
   * the code from tf's retry lists, TF #2577).
   */
  private noOtherChangeOn(targetId: string): void {
    const busy = [...this.r.eips.values()].find(
      (e) =>
        e.binding?.instanceId === targetId && (e.status === 'Associating' || e.status === 'Unassociating'),
    );
    if (busy) throw CloudError.of('TaskConflict', targetId, busy.allocationId, busy.status);
  }

  private settle(now: number): void {
    const due = [...this.r.eips.values()].filter((e) => e.pending && e.pending.at <= now);
    due.sort((a, b) => a.pending!.at - b.pending!.at);
    for (const eip of due) {
      eip.status = eip.pending!.to;
      eip.pending = undefined;
      if (eip.status === 'Available') eip.binding = undefined;
    }
  }
}
