import type { BehaviourState, Timings } from '../contracts';
import { BUILTIN_IMAGES, BUILTIN_INSTANCE_TYPES, type ImageSpec, type InstanceTypeSpec } from './catalog';
import { ClientTokens } from './client-tokens';
import { IdFactory } from './ids';
import { nextFreeIp } from './ipv4';
import type {
  EipAddress,
  Instance,
  NatGateway,
  NetworkInterface,
  RouteTable,
  SecurityGroup,
  SnatEntry,
  VSwitch,
  Vpc,
} from './resources';
import type { Topology } from './topology';

const DAY = 24 * 3600 * 1000;

/**
 * Account quotas when the topology sets none. The ENI quota is per account and region, its value shown in the console
 * (CreateNetworkInterface doc; the 2021 doc said 100): 1000 here, so that a 200-instance rehearsal fits. EIPs: 20 per
 * account and region (the EIP quota page).
 */
export const DEFAULT_QUOTAS: Required<NonNullable<Topology['quotas']>> = { maxEnis: 1000, maxEips: 20 };

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The whole state of one region, built from a Topology. The families of operations (enis.ts, eips.ts,
 * instances.ts) work on it; transitions are settled lazily against the clock by `settle()`.
 */
export class Region {
  readonly regionId: string;
  readonly vpcs = new Map<string, Vpc>();
  readonly vSwitches = new Map<string, VSwitch>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly natGateways = new Map<string, NatGateway>();
  readonly snatEntries = new Map<string, SnatEntry>();
  readonly routeTables = new Map<string, RouteTable>();
  /** EIPs per account and region [DOC: EIP quota page, 20 by default]. */
  readonly instanceTypes = new Map<string, InstanceTypeSpec>();
  readonly images = new Map<string, ImageSpec>();
  readonly instances = new Map<string, Instance>();
  readonly enis = new Map<string, NetworkInterface>();
  readonly eips = new Map<string, EipAddress>();
  readonly clientTokens: ClientTokens;
  readonly ids: IdFactory;
  behaviours: Omit<BehaviourState, 'fired' | 'clientTokenAfterFailure' | 'clientTokenProcessingMs'> = {
    describeLagMs: 0,
    attachFallbacks: 0,
    stuckDetaches: 0,
    attachFallbackRate: 0,
    stuckDetachRate: 0,
    stuckDetachReissues: 0,
    stuckDeletes: 0,
    emptyCreates: 0,
    associateFallbacks: 0,
    associateFallbackRate: 0,
    latencySeed: 1,
  };
  /** How often each behaviour has fired. */
  readonly fired: BehaviourState['fired'] = {
    laggedEnis: 0,
    attachFallbacks: 0,
    stuckDetaches: 0,
    ignoredDetachReissues: 0,
    stuckDeletes: 0,
    emptyCreates: 0,
    associateFallbacks: 0,
  };
  /** Draws for the rate behaviours (tests may replace it). */
  random: () => number = Math.random;
  /** Draws for transition durations: seeded (latencySeed), so a rehearsal's timings can be replayed. */
  latencyRandom: () => number = seededRandom(1);
  /** Account quotas of the region (topology `quotas`). */
  readonly quotas: Required<NonNullable<Topology['quotas']>>;
  /** Installed by the operation families: applies due transitions. */
  readonly settlers: Array<(now: number) => void> = [];

  constructor(
    topology: Topology,
    public timings: Timings,
    readonly clock: () => number,
  ) {
    this.regionId = topology.regionId;
    this.quotas = { ...DEFAULT_QUOTAS, ...topology.quotas };
    this.ids = new IdFactory(`runtime:${topology.regionId}`, (id) => this.idTaken(id));
    this.clientTokens = new ClientTokens(clock);
    const start = clock();
    // Resources of the topology predate the cloud's start, as they would in a real account.
    const created = start - 30 * DAY;

    for (const t of [...BUILTIN_INSTANCE_TYPES, ...(topology.instanceTypes ?? [])])
      this.instanceTypes.set(t.instanceTypeId, t);
    for (const img of [...BUILTIN_IMAGES, ...(topology.images ?? [])]) this.images.set(img.imageId, img);

    for (const v of topology.vpcs) {
      this.vpcs.set(v.vpcId, {
        vpcId: v.vpcId,
        vpcName: v.vpcName ?? '',
        cidrBlock: v.cidrBlock,
        vRouterId: v.vpcId.replace(/^vpc-/, 'vrt-'),
        routeTableId: v.vpcId.replace(/^vpc-/, 'vtb-'),
        creationTime: created,
      });
      const systemTable = v.vpcId.replace(/^vpc-/, 'vtb-');
      // The system route table sends 0.0.0.0/0 to the VPC's NAT gateway, as the console adds it when an SNAT entry is made.
      const firstNat = v.natGateways?.[0]?.natGatewayId;
      const tables = [
        {
          routeTableId: systemTable,
          routeTableType: 'System' as const,
          routeEntries: firstNat
            ? [{ destinationCidrBlock: '0.0.0.0/0', nextHopType: 'NatGateway', nextHopId: firstNat }]
            : [],
        },
        ...(v.routeTables ?? []).map((t) => ({ ...t, routeTableType: 'Custom' as const })),
      ];
      for (const t of tables)
        this.routeTables.set(t.routeTableId, {
          routeTableId: t.routeTableId,
          vpcId: v.vpcId,
          routeTableType: t.routeTableType,
          routeEntries: t.routeEntries.map((e, i) => ({
            routeEntryId: `rte-${t.routeTableId.replace(/^vtb-/, '')}${i}`,
            destinationCidrBlock: e.destinationCidrBlock,
            nextHopType: e.nextHopType,
            nextHopId: e.nextHopId,
          })),
          creationTime: created,
        });
      for (const s of v.vSwitches)
        this.vSwitches.set(s.vSwitchId, {
          ...s,
          vpcId: v.vpcId,
          vSwitchName: s.vSwitchName ?? '',
          routeTableId: s.routeTableId ?? systemTable,
          creationTime: created,
        });
      for (const g of v.securityGroups)
        this.securityGroups.set(g.securityGroupId, {
          securityGroupId: g.securityGroupId,
          securityGroupName: g.securityGroupName ?? '',
          vpcId: v.vpcId,
          creationTime: created,
        });
      for (const n of v.natGateways ?? []) {
        const vsw = this.vSwitches.get(n.vSwitchId)!;
        const privateIpAddress = this.allocateIp(vsw.vSwitchId)!;
        this.natGateways.set(n.natGatewayId, {
          natGatewayId: n.natGatewayId,
          name: n.name ?? '',
          vpcId: v.vpcId,
          vSwitchId: n.vSwitchId,
          zoneId: vsw.zoneId,
          spec: n.spec ?? 'Small',
          snatTableId: n.snatTableId,
          forwardTableId: n.snatTableId.replace(/^stb-/, 'ftb-'),
          privateIpAddress,
          eniInstanceId: n.natGatewayId.replace(/^ngw-/, 'eni-'),
          creationTime: created,
        });
        for (const e of n.eips)
          this.eips.set(e.allocationId, {
            ...this.newEip(e.allocationId, e.ipAddress, e.bandwidth ?? 100, created),
            status: 'InUse',
            binding: { instanceId: n.natGatewayId, instanceType: 'Nat', mode: 'NAT' },
          });
        for (const s of n.snatEntries)
          this.snatEntries.set(s.snatEntryId, {
            snatEntryId: s.snatEntryId,
            snatTableId: n.snatTableId,
            natGatewayId: n.natGatewayId,
            snatIp: s.snatIp,
            sourceVSwitchId: s.sourceVSwitchId,
            sourceCIDR: s.sourceCIDR,
            snatEntryName: s.snatEntryName ?? '',
          });
      }
    }

    for (const t of topology.instances) {
      const vsw = this.vSwitches.get(t.vSwitchId)!;
      const privateIp =
        t.privateIpAddress ??
        this.allocateIp(vsw.vSwitchId, new Set(topology.instances.map((i) => i.privateIpAddress ?? '')));
      if (!privateIp) throw new Error(`vSwitch ${vsw.vSwitchId} has no free address for ${t.instanceId}`);
      const chargeType = t.instanceChargeType ?? 'PostPaid';
      const eniId = t.primaryNetworkInterfaceId ?? this.ids.next('eni');
      const bandwidth = t.internetMaxBandwidthOut ?? (t.publicIpAddress ? 5 : 0);
      this.instances.set(t.instanceId, {
        instanceId: t.instanceId,
        instanceName: t.instanceName ?? t.instanceId,
        hostName: t.hostName ?? `iZ${t.instanceId.replace(/^i-/, '')}Z`,
        zoneId: vsw.zoneId,
        vpcId: vsw.vpcId,
        vSwitchId: vsw.vSwitchId,
        instanceType: t.instanceType,
        imageId: t.imageId,
        status: t.status ?? 'Running',
        instanceChargeType: chargeType,
        internetChargeType: t.internetChargeType ?? 'PayByTraffic',
        internetMaxBandwidthOut: bandwidth,
        internetMaxBandwidthIn: 100,
        // Economical mode releases the static public IP when the instance stops [doc: economical mode].
        publicIpAddress: t.stoppedMode === 'StopCharging' ? undefined : t.publicIpAddress,
        stoppedMode: t.stoppedMode,
        primaryNetworkInterfaceId: eniId,
        securityGroupIds: [...t.securityGroupIds],
        creationTime: created,
        startTime: t.startTime ? Date.parse(t.startTime) : created,
        pendingConfigurationChange: t.pendingConfigurationChange ?? false,
        expiredTime:
          chargeType === 'PrePaid'
            ? t.expiredTime
              ? Date.parse(t.expiredTime)
              : start + (t.expiresInHours !== undefined ? t.expiresInHours * 3600 * 1000 : 30 * DAY)
            : undefined,
        autoReleaseTime: t.autoReleaseTime ? Date.parse(t.autoReleaseTime) : undefined,
        tags: (t.tags ?? []).map((x) => ({ ...x })),
        cloudAssistant: t.cloudAssistant ?? 'running',
      });
      this.enis.set(eniId, {
        networkInterfaceId: eniId,
        type: 'Primary',
        status: 'InUse',
        instanceId: t.instanceId,
        deviceIndex: 0,
        vpcId: vsw.vpcId,
        vSwitchId: vsw.vSwitchId,
        zoneId: vsw.zoneId,
        primaryIpAddress: privateIp,
        secondaryIpAddresses: [],
        macAddress: this.ids.mac(eniId),
        networkInterfaceName: '',
        description: '',
        securityGroupIds: [...t.securityGroupIds],
        deleteOnRelease: true,
        creationTime: created,
        visibleAt: created,
        tags: [],
        guestConfigured: true,
      });
    }

    for (const e of topology.eips ?? [])
      this.eips.set(e.allocationId, this.newEip(e.allocationId, e.ipAddress, e.bandwidth ?? 5, created));
  }

  now(): number {
    return this.clock();
  }

  /**
   * How long this association takes: the median associateMs plus a normal draw of associateSpreadMs, clipped so a
   * draw is never absurdly fast nor slow (TF #2577 saw one of three parallel associations take over a minute).
   */
  associateDurationMs(): number {
    const median = this.timings.associateMs;
    const spread = this.timings.associateSpreadMs ?? 0;
    if (spread <= 0) return median;
    // Box-Muller: a standard normal draw from two uniform ones.
    const u = Math.max(this.latencyRandom(), Number.EPSILON);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.latencyRandom());
    return Math.round(Math.min(median + 4 * spread, Math.max(median / 4, median + spread * z)));
  }

  /** Secondary ENIs that count against the region's ENI quota. */
  secondaryEniCount(): number {
    let n = 0;
    for (const e of this.enis.values()) if (e.type === 'Secondary') n++;
    return n;
  }

  /** Applies every transition whose time has come. Called first by every read and every write. */
  settle(): void {
    const now = this.now();
    for (const s of this.settlers) s(now);
  }

  newEip(allocationId: string, ipAddress: string, bandwidth: number, at: number): EipAddress {
    return {
      allocationId,
      ipAddress,
      status: 'Available',
      bandwidth,
      internetChargeType: 'PayByTraffic',
      chargeType: 'PostPaid',
      name: '',
      description: '',
      allocationTime: at,
      visibleAt: at,
      tags: [],
    };
  }

  /** Every private IPv4 address in use in a vSwitch (ENIs, NAT gateway). */
  usedIps(vSwitchId: string): Set<string> {
    const used = new Set<string>();
    for (const eni of this.enis.values())
      if (eni.vSwitchId === vSwitchId)
        [eni.primaryIpAddress, ...eni.secondaryIpAddresses].forEach((ip) => used.add(ip));
    for (const n of this.natGateways.values()) if (n.vSwitchId === vSwitchId) used.add(n.privateIpAddress);
    return used;
  }

  allocateIp(vSwitchId: string, alsoTaken: ReadonlySet<string> = new Set()): string | undefined {
    const vsw = this.vSwitches.get(vSwitchId);
    if (!vsw) return undefined;
    const taken = new Set([...this.usedIps(vSwitchId), ...alsoTaken]);
    // Start a little way in, as DHCP pools do, so addresses look like real allocations.
    return nextFreeIp(vsw.cidrBlock, taken, 10) ?? nextFreeIp(vsw.cidrBlock, taken);
  }

  /** ENIs attached to an instance (attachment in place or under way), primary first, by device index. */
  enisOf(instanceId: string): NetworkInterface[] {
    return [...this.enis.values()]
      .filter((e) => e.instanceId === instanceId)
      .sort((a, b) => (a.deviceIndex ?? 99) - (b.deviceIndex ?? 99));
  }

  /** The route that takes a vSwitch's traffic to `0.0.0.0/0`, if its route table has one. */
  defaultRouteOf(vSwitchId: string): { nextHopType: string; nextHopId: string } | undefined {
    const vsw = this.vSwitches.get(vSwitchId);
    const table = vsw ? this.routeTables.get(vsw.routeTableId) : undefined;
    return table?.routeEntries.find((e) => e.destinationCidrBlock === '0.0.0.0/0');
  }

  /** The EIP bound to an ECS instance (it sits on the primary ENI), when the binding is in effect. */
  eipOfInstance(instanceId: string): EipAddress | undefined {
    return [...this.eips.values()].find(
      (e) =>
        e.binding?.instanceType === 'EcsInstance' &&
        e.binding.instanceId === instanceId &&
        (e.status === 'InUse' || e.status === 'Unassociating'),
    );
  }

  /** The EIP mapped to one private IP of an ENI (NAT mode), or to the ENI itself (BINDED), in any binding state. */
  eipOfEni(eniId: string, privateIp?: string): EipAddress | undefined {
    return [...this.eips.values()].find(
      (e) =>
        e.binding?.instanceType === 'NetworkInterface' &&
        e.binding.instanceId === eniId &&
        (privateIp === undefined || e.binding.privateIpAddress === privateIp),
    );
  }

  private idTaken(id: string): boolean {
    return (
      this.instances.has(id) ||
      this.enis.has(id) ||
      this.eips.has(id) ||
      this.vpcs.has(id) ||
      this.vSwitches.has(id) ||
      this.securityGroups.has(id) ||
      this.natGateways.has(id) ||
      this.routeTables.has(id) ||
      this.snatEntries.has(id)
    );
  }
}
