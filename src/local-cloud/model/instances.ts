import { CloudError } from '../errors';
import type { Region } from './region';
import type { ChargeType, EipAddress, Instance } from './resources';

const HOUR = 3600 * 1000;
const READY = new Set(['Running', 'Stopped']);

export interface ModifyChargeTypeInput {
  instanceIds: string[];
  instanceChargeType: string;
  period: number;
  periodUnit: string;
  /** false: the order is created but not paid, and nothing changes until someone pays it [doc]. */
  autoPay: boolean;
  dryRun: boolean;
}

/**
 * Subscription periods ModifyInstanceChargeType takes [doc: the API page; OOS ACS::ECS::ModifyInstanceChargeType]:
 * months 1–9, 12, 24, 36, 48, 60 in China regions, 1–9 and 12 elsewhere; weeks 1–4 and years 1–5 on the China site only.
 */
function allowedPeriods(regionId: string, unit: string): number[] | undefined {
  const china = regionId.startsWith('cn-');
  const months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, ...(china ? [24, 36, 48, 60] : [])];
  if (unit === 'Month') return months;
  if (!china) return undefined;
  if (unit === 'Week') return [1, 2, 3, 4];
  if (unit === 'Year') return [1, 2, 3, 4, 5];
  return undefined;
}

export interface ModifyChargeTypeResult {
  orderId: string;
  fees: Array<{ instanceId: string; fee: string; currency: string }>;
}

/** ECS instance operations: ConvertNatPublicIpToEip and ModifyInstanceChargeType. */
export class InstanceOps {
  constructor(private readonly r: Region) {}

  get(instanceId: string): Instance {
    this.r.settle();
    const inst = this.r.instances.get(instanceId);
    if (!inst) throw CloudError.of('InvalidInstanceId.NotFound', instanceId);
    return inst;
  }

  all(): Instance[] {
    this.r.settle();
    return [...this.r.instances.values()];
  }

  /**
   * Turns the static public IP into an EIP bound to the instance [DOC: ConvertNatPublicIpToEip]. The address is kept
   * and the EIP starts InUse (InstanceType EcsInstance). The instance changes at once (PublicIpAddress empties,
   * EipAddress fills) but the new EIP is only listed by the VPC API after `convertMs` (eventual consistency between
   * the ECS and VPC services: assumed).
   */
  convertNatPublicIpToEip(instanceId: string): EipAddress {
    const r = this.r;
    const inst = this.get(instanceId);
    if (!READY.has(inst.status)) {
      // The same code is 400 in the VPC API but 403 for this ECS action [DOC].
      const e = CloudError.of('IncorrectInstanceStatus', instanceId, inst.status);
      throw new CloudError(e.code, 403, e.message);
    }
    const primaryIp = r.enis.get(inst.primaryNetworkInterfaceId)?.primaryIpAddress;
    const bound =
      [...r.eips.values()].find(
        (e) => e.binding?.instanceType === 'EcsInstance' && e.binding.instanceId === instanceId,
      ) ?? (primaryIp ? r.eipOfEni(inst.primaryNetworkInterfaceId, primaryIp) : undefined);
    if (bound)
      throw CloudError.of(
        'OperationDenied',
        `The instance ${instanceId} already has the EIP ${bound.allocationId} associated.`,
      );
    if (!inst.publicIpAddress)
      throw CloudError.of('OperationDenied', `The instance ${instanceId} has no public IP address.`);
    if (inst.internetMaxBandwidthOut <= 0)
      throw CloudError.of(
        'OperationDenied',
        `The public bandwidth of the instance ${instanceId} is 0 Mbit/s.`,
      );
    if (inst.pendingConfigurationChange) throw CloudError.of('InvalidInstanceId.PlanedChange', instanceId);
    if (inst.instanceChargeType === 'PrePaid') {
      if (inst.internetChargeType !== 'PayByTraffic')
        throw CloudError.of('InvalidInternetChargeType.ValueNotSupported', inst.internetChargeType);
      if ((inst.expiredTime ?? Infinity) - r.now() < 24 * HOUR)
        throw CloudError.of('InvalidEndTime.OperateNotSupport');
    }
    // Every EIP of the account in the region counts, the NAT gateway's included [DOC: EIP quota page].
    if (r.eips.size >= r.quotas.maxEips) throw CloudError.of('MaxEIPQuotaExceeded');
    const now = r.now();
    const eip: EipAddress = {
      ...r.newEip(r.ids.next('eip'), inst.publicIpAddress, inst.internetMaxBandwidthOut, now),
      status: 'InUse',
      binding: { instanceId, instanceType: 'EcsInstance', mode: 'NAT' },
      visibleAt: now + r.timings.convertMs,
    };
    r.eips.set(eip.allocationId, eip);
    inst.publicIpAddress = undefined;
    // The bandwidth now belongs to the EIP (billed pay-by-traffic on it [DOC]); the instance shows 0 (assumed).
    inst.internetMaxBandwidthOut = 0;
    return eip;
  }

  /**
   * ModifyInstanceNetworkSpec with NetworkChargeType only: how the instance's public bandwidth is billed changes, the
   * bandwidth stays [SDK request model; OOS ACS-ECS-ConvertsPublicIPToNewEIPByInstanceId calls it before converting].
   * Running or Stopped, as every instance change (assumed).
   */
  modifyInstanceNetworkSpec(input: { instanceId: string; networkChargeType?: string }): void {
    const inst = this.get(input.instanceId);
    const target = input.networkChargeType;
    if (target !== undefined && target !== 'PayByTraffic' && target !== 'PayByBandwidth')
      throw CloudError.of('InvalidNetworkChargeType.ValueNotSupported', target);
    if (!READY.has(inst.status)) {
      const e = CloudError.of('IncorrectInstanceStatus', inst.instanceId, inst.status);
      throw new CloudError(e.code, 403, e.message);
    }
    if (target) inst.internetChargeType = target;
  }

  /** [DOC: ModifyInstanceChargeType] PrePaid ↔ PostPaid for up to 20 Running or Stopped instances. */
  modifyInstanceChargeType(input: ModifyChargeTypeInput): ModifyChargeTypeResult {
    const r = this.r;
    r.settle();
    if (input.instanceIds.length === 0) throw CloudError.of('InvalidParameter.InstanceIds');
    if (input.instanceIds.length > 20) throw CloudError.of('InstancesIdQuotaExceed');
    const target = input.instanceChargeType as ChargeType;
    if (target !== 'PrePaid' && target !== 'PostPaid')
      throw CloudError.of('InvalidInstanceChargeType.ValueNotSupported', input.instanceChargeType);
    const periodUnit = input.periodUnit;
    if (target === 'PrePaid') {
      const periods = allowedPeriods(r.regionId, periodUnit);
      if (!periods) throw CloudError.of('InvalidPeriod.UnitMismatch', periodUnit);
      if (!periods.includes(input.period))
        throw CloudError.of('InvalidPeriod', String(input.period), `Valid values: ${periods.join(', ')}.`);
    }
    const instances = input.instanceIds.map((id) => this.get(id));
    for (const inst of instances) {
      if (!READY.has(inst.status))
        throw CloudError.of('InvalidStatus.ValueNotSupported', inst.instanceId, inst.status);
      if (inst.instanceChargeType === target)
        throw CloudError.of('InvalidInstanceChargeType.ValueNotSupported', target);
      if (target === 'PrePaid' && inst.autoReleaseTime !== undefined)
        throw CloudError.of('ReleaseTimeHaveBeenSet', inst.instanceId);
    }
    if (input.dryRun) throw CloudError.of('DryRunOperation');
    // An unpaid order changes nothing: the charge type stays until the order is paid in the console [doc].
    if (!input.autoPay) return { orderId: r.ids.orderId(), fees: [] };
    const now = r.now();
    for (const inst of instances) {
      inst.instanceChargeType = target;
      if (target === 'PostPaid') inst.expiredTime = undefined;
      else {
        const d = new Date(now);
        if (periodUnit === 'Week') d.setUTCDate(d.getUTCDate() + 7 * input.period);
        else if (periodUnit === 'Month') d.setUTCMonth(d.getUTCMonth() + input.period);
        else d.setUTCFullYear(d.getUTCFullYear() + input.period);
        inst.expiredTime = d.getTime();
      }
    }
    return { orderId: r.ids.orderId(), fees: [] };
  }
}
