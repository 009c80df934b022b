import { CloudError } from '../errors';
import type { Region } from './region';
import type { EipAddress, EipInstanceType, EipMode } from './resources';

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
}

const INSTANCE_READY = new Set(['Running', 'Stopped']);
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
      if (!inst) throw CloudError.of('InvalidInstanceId.NotFound', input.instanceId);
      if (!INSTANCE_READY.has(inst.status))
        throw CloudError.of('IncorrectInstanceStatus', inst.instanceId, inst.status);
      // An ECS instance holds one public address on its primary ENI: a static public IP or one EIP.
      if (inst.publicIpAddress)
        throw CloudError.of(
          'InvalidAssociation.Duplicated',
          `${inst.instanceId} already has the public IP ${inst.publicIpAddress}`,
        );
      const other = [...r.eips.values()].find(
        (e) => e.binding?.instanceType === 'EcsInstance' && e.binding.instanceId === inst.instanceId,
      );
      if (other)
        throw CloudError.of(
          'InvalidAssociation.Duplicated',
          `${inst.instanceId} already has the EIP ${other.allocationId}`,
        );
      eip.binding = { instanceId: inst.instanceId, instanceType, mode: 'NAT' };
    } else {
      const eni = r.enis.get(input.instanceId);
      if (!eni) throw CloudError.of('InvalidInstanceId.NotFound', input.instanceId);
      if (eni.type !== 'Secondary')
        throw CloudError.of('InvalidInstanceType.ValueNotSupported', `NetworkInterface (${eni.type} ENI)`);
      if (eni.status === 'Deleting')
        throw CloudError.of('InvalidStatus.EniStatusNotSupport', eni.networkInterfaceId, eni.status);
      const mode = (input.mode ?? 'NAT') as EipMode;
      if (!MODES.has(mode))
        throw CloudError.of('InvalidParameter', 'Mode', 'Valid values: NAT, MULTI_BINDED, BINDED.');
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
    eip.status = 'Associating';
    eip.pending = { to: 'InUse', at: r.now() + r.timings.associateMs };
  }

  unassociate(input: UnassociateEipInput): void {
    const r = this.r;
    const eip = this.get(input.allocationId);
    if (eip.status !== 'InUse') throw CloudError.of('IncorrectEipStatus', eip.allocationId, eip.status);
    const b = eip.binding!;
    if (b.instanceType === 'Nat')
      throw CloudError.of('InvalidIpStatus.HasBeenUsedBySnatTable', eip.ipAddress);
    // InstanceId/InstanceType/PrivateIpAddress are optional; when given they must describe the current binding.
    if (
      (input.instanceId && input.instanceId !== b.instanceId) ||
      (input.instanceType && input.instanceType !== b.instanceType) ||
      (input.privateIpAddress && input.privateIpAddress !== b.privateIpAddress)
    )
      throw CloudError.of('InvalidBindingStatus', eip.allocationId, `${b.instanceType} ${b.instanceId}`);
    eip.status = 'Unassociating';
    eip.pending = { to: 'Available', at: r.now() + r.timings.unassociateMs };
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
