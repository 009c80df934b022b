import type {
  BehaviourState,
  CloudModel,
  GuestCommandResult,
  ModelBehaviours,
  PublicRoute,
  Timings,
} from '../contracts';
import { CloudAssistant } from './cloud-assistant';
import type { CloudError } from '../errors';
import { EipOps } from './eips';
import { EniOps } from './enis';
import { runGuestCommand } from './guest';
import { InstanceOps } from './instances';
import { Region, seededRandom } from './region';
import type { Pending } from './resources';
import { egressAddress, publicAddresses, routePublicAddress } from './routing';
import type { Topology } from './topology';

/** Realistic durations of the asynchronous transitions (a few seconds each, as observed on Alibaba Cloud). */
export const DEFAULT_TIMINGS: Timings = {
  attachMs: 3000,
  detachMs: 3000,
  deleteMs: 2000,
  associateMs: 2000,
  unassociateMs: 2000,
  convertMs: 1000,
  commandMs: 2000,
  // Associations are not a constant 2 s (TF #2577: one of three parallel ones took over a minute) [assumed spread].
  associateSpreadMs: 1000,
};

/**
 * One region of the local cloud: the state (Region) and the families of operations on it. The API handlers
 * (api/) call the families; the SSH servers and the admin API use the CloudModel methods.
 */
export class Cloud implements CloudModel {
  readonly region: Region;
  readonly enis: EniOps;
  readonly eips: EipOps;
  readonly instances: InstanceOps;
  readonly cloudAssistant: CloudAssistant;

  constructor(topology: Topology, timings: Timings, clock: () => number) {
    this.region = new Region(topology, { ...timings }, clock);
    this.enis = new EniOps(this.region);
    this.eips = new EipOps(this.region);
    this.instances = new InstanceOps(this.region);
    this.cloudAssistant = new CloudAssistant(this.region);
  }

  get regionId(): string {
    return this.region.regionId;
  }

  get timings(): Timings {
    return this.region.timings;
  }

  set timings(t: Timings) {
    this.region.timings = { ...t };
  }

  now(): number {
    return this.region.now();
  }

  configure(behaviours: ModelBehaviours): void {
    const b = this.region.behaviours;
    const count = (v: number | undefined, name: string) => {
      if (v === undefined) return undefined;
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a number ≥ 0`);
      return Math.floor(v);
    };
    b.describeLagMs = count(behaviours.describeLagMs, 'describeLagMs') ?? b.describeLagMs;
    b.attachFallbacks = count(behaviours.attachFallbacks, 'attachFallbacks') ?? b.attachFallbacks;
    b.stuckDetaches = count(behaviours.stuckDetaches, 'stuckDetaches') ?? b.stuckDetaches;
    const rate = (v: number | undefined, name: string) => {
      if (v === undefined) return undefined;
      if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`${name} must be a number from 0 to 1`);
      return v;
    };
    b.attachFallbackRate = rate(behaviours.attachFallbackRate, 'attachFallbackRate') ?? b.attachFallbackRate;
    b.stuckDetachRate = rate(behaviours.stuckDetachRate, 'stuckDetachRate') ?? b.stuckDetachRate;
    const reissues = count(behaviours.stuckDetachReissues, 'stuckDetachReissues');
    if (reissues !== undefined) {
      b.stuckDetachReissues = reissues;
      // Lowering it also reaches detaches stuck now (the operator restarted their instances).
      for (const eni of this.region.enis.values())
        if (eni.status === 'Detaching' && eni.stuck)
          eni.stuck.reissuesLeft = Math.min(eni.stuck.reissuesLeft, reissues);
    }
    b.stuckDeletes = count(behaviours.stuckDeletes, 'stuckDeletes') ?? b.stuckDeletes;
    b.emptyCreates = count(behaviours.emptyCreates, 'emptyCreates') ?? b.emptyCreates;
    b.associateFallbacks = count(behaviours.associateFallbacks, 'associateFallbacks') ?? b.associateFallbacks;
    b.associateFallbackRate =
      rate(behaviours.associateFallbackRate, 'associateFallbackRate') ?? b.associateFallbackRate;
    const seed = count(behaviours.latencySeed, 'latencySeed');
    if (seed !== undefined) {
      b.latencySeed = seed;
      this.region.latencyRandom = seededRandom(seed);
    }
    this.region.clientTokens.configure({
      clientTokenAfterFailure: behaviours.clientTokenAfterFailure,
      clientTokenProcessingMs: count(behaviours.clientTokenProcessingMs, 'clientTokenProcessingMs'),
    });
  }

  clientTokenFailed(action: string, params: Record<string, string>, error: CloudError): void {
    this.region.clientTokens.failed(action, params, error);
  }

  behaviours(): BehaviourState {
    const tokens = this.region.clientTokens;
    return {
      ...this.region.behaviours,
      clientTokenAfterFailure: tokens.afterFailure,
      clientTokenProcessingMs: tokens.processingMs,
      fired: { ...this.region.fired },
    };
  }

  publicAddresses(): string[] {
    return publicAddresses(this.region);
  }

  routePublicAddress(ip: string): PublicRoute | undefined {
    return routePublicAddress(this.region, ip);
  }

  egressAddress(instanceId: string): string | undefined {
    return egressAddress(this.region, instanceId);
  }

  runGuestCommand(instanceId: string, command: string, user?: string): GuestCommandResult {
    return runGuestCommand(this.region, instanceId, command, user);
  }

  /** Every resource with the API's field names, plus what the API does not show (pending transitions, guest set-up). */
  snapshot(): Record<string, unknown> {
    const r = this.region;
    r.settle();
    const now = r.now();
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const pending = (p: Pending<string> | undefined) => (p ? { Status: p.to, At: iso(p.at) } : undefined);
    return {
      RegionId: r.regionId,
      Now: iso(now),
      Timings: { ...r.timings },
      Behaviours: { ...r.behaviours },
      EipQuota: r.quotas.maxEips,
      Vpcs: [...r.vpcs.values()].map((v) => ({
        VpcId: v.vpcId,
        VpcName: v.vpcName,
        CidrBlock: v.cidrBlock,
        Status: 'Available',
      })),
      VSwitches: [...r.vSwitches.values()].map((v) => ({
        VSwitchId: v.vSwitchId,
        VpcId: v.vpcId,
        ZoneId: v.zoneId,
        CidrBlock: v.cidrBlock,
        VSwitchName: v.vSwitchName,
      })),
      SecurityGroups: [...r.securityGroups.values()].map((g) => ({
        SecurityGroupId: g.securityGroupId,
        SecurityGroupName: g.securityGroupName,
        VpcId: g.vpcId,
      })),
      NatGateways: [...r.natGateways.values()].map((n) => ({
        NatGatewayId: n.natGatewayId,
        Name: n.name,
        VpcId: n.vpcId,
        NatType: 'Enhanced',
        NetworkType: 'internet',
        SnatTableIds: [n.snatTableId],
      })),
      SnatTableEntries: [...r.snatEntries.values()].map((s) => ({
        SnatEntryId: s.snatEntryId,
        SnatTableId: s.snatTableId,
        NatGatewayId: s.natGatewayId,
        SnatIp: s.snatIp,
        SourceVSwitchId: s.sourceVSwitchId ?? '',
        SourceCIDR: s.sourceCIDR ?? '',
      })),
      Instances: [...r.instances.values()].map((i) => ({
        InstanceId: i.instanceId,
        InstanceName: i.instanceName,
        Status: i.status,
        ZoneId: i.zoneId,
        VpcId: i.vpcId,
        VSwitchId: i.vSwitchId,
        InstanceType: i.instanceType,
        ImageId: i.imageId,
        InstanceChargeType: i.instanceChargeType,
        InternetChargeType: i.internetChargeType,
        InternetMaxBandwidthOut: i.internetMaxBandwidthOut,
        ExpiredTime: iso(i.expiredTime),
        PublicIpAddress: i.publicIpAddress ? [i.publicIpAddress] : [],
        EipAddress: r.eipOfInstance(i.instanceId)?.ipAddress ?? '',
        PrimaryNetworkInterfaceId: i.primaryNetworkInterfaceId,
        EgressAddress: egressAddress(r, i.instanceId) ?? null,
      })),
      NetworkInterfaces: [...r.enis.values()].map((e) => ({
        NetworkInterfaceId: e.networkInterfaceId,
        Type: e.type,
        Status: e.status,
        Pending: pending(e.pending),
        InstanceId: e.instanceId ?? '',
        DeviceIndex: e.deviceIndex,
        VpcId: e.vpcId,
        VSwitchId: e.vSwitchId,
        ZoneId: e.zoneId,
        PrimaryIpAddress: e.primaryIpAddress,
        PrivateIpAddresses: [e.primaryIpAddress, ...e.secondaryIpAddresses],
        MacAddress: e.macAddress,
        SecurityGroupIds: e.securityGroupIds,
        VisibleInDescribe: e.visibleAt <= now,
        GuestNetworkConfigured: e.guestConfigured,
      })),
      EipAddresses: [...r.eips.values()].map((e) => ({
        AllocationId: e.allocationId,
        IpAddress: e.ipAddress,
        Status: e.status,
        Pending: pending(e.pending),
        InstanceId: e.binding?.instanceId ?? '',
        InstanceType: e.binding?.instanceType ?? '',
        PrivateIpAddress: e.binding?.privateIpAddress ?? '',
        Mode: e.binding?.mode ?? '',
        Bandwidth: String(e.bandwidth),
        VisibleInDescribe: e.visibleAt <= now,
      })),
    };
  }
}
