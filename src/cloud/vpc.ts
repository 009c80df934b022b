import Vpc, * as $Vpc from '@alicloud/vpc20160428';
import { callApi } from './call';

/** An elastic IP address. */
export interface Eip {
  allocationId: string;
  ipAddress: string;
  /** Available | Associating | InUse | Unassociating */
  status: string;
  /** What it is bound to (an instance id, an ENI id...), if anything. */
  instanceId?: string;
  /** EcsInstance | NetworkInterface | Nat | SlbInstance | HaVip | IpAddress */
  instanceType?: string;
  /** NAT | MULTI_BINDED | BINDED (for ENI bindings) */
  mode?: string;
  privateIpAddress?: string;
}

export interface VSwitch {
  vSwitchId: string;
  vpcId: string;
  zoneId: string;
  cidrBlock: string;
  status: string;
  availableIpAddressCount: number;
  /** The route table its traffic follows (the VPC's system one unless a custom one is associated). */
  routeTableId?: string;
}

/** Where a route table sends a destination: its next hop. */
export interface Route {
  routeTableId: string;
  destinationCidrBlock: string;
  /** NatGateway | Instance | NetworkInterface | HaVip | ... */
  nextHopType: string;
  nextHopId: string;
}

/** The SNAT entry that gives an address in the VPC its way out to the Internet. */
export interface SnatEntry {
  natGatewayId: string;
  snatTableId: string;
  snatEntryId: string;
  /** The public address(es) outbound traffic leaves from; several when the entry uses an address pool. */
  snatIps: string[];
  sourceCidr?: string;
  sourceVSwitchId?: string;
  status: string;
}

export type EipTargetType = 'EcsInstance' | 'NetworkInterface';

export interface AssociateEipRequest {
  allocationId: string;
  instanceId: string;
  instanceType: EipTargetType;
  /** NAT for a secondary ENI: the EIP maps to the ENI's primary private IP, invisible in the guest. */
  mode?: 'NAT';
  privateIpAddress?: string;
  clientToken: string;
}

export interface UnassociateEipRequest {
  allocationId: string;
  instanceId: string;
  instanceType: EipTargetType;
  privateIpAddress?: string;
  clientToken: string;
}

/** The VPC calls the migration makes, in the domain's words. Every SDK request is counted. */
export interface VpcApi {
  readonly regionId: string;
  findEipByAddress(ipAddress: string): Promise<Eip | undefined>;
  describeEip(allocationId: string): Promise<Eip | undefined>;
  associateEip(request: AssociateEipRequest): Promise<void>;
  unassociateEip(request: UnassociateEipRequest): Promise<void>;
  describeVSwitch(vSwitchId: string): Promise<VSwitch | undefined>;
  /**
   * The SNAT entry covering a private IP of a vSwitch, across the VPC's NAT gateways: an entry for the address itself
   * wins over one for its vSwitch, which wins over one for a CIDR block containing it. Pages through everything.
   */
  findSnatEntryFor(vpcId: string, vSwitchId: string, privateIp: string): Promise<SnatEntry | undefined>;
  /** The route for 0.0.0.0/0 in a route table (DescribeRouteEntryList, all pages), if there is one. */
  defaultRoute(routeTableId: string): Promise<Route | undefined>;
  /** How many EIPs the account holds in the region (DescribeEipAddresses TotalCount: page numbers, so it counts). */
  countEips(): Promise<number>;
  /** What every migration of a VPC reads alike (vSwitches, internet NAT gateways and their SNAT entries): a batch reads it once. */
  describeVpcShared(vpcId: string): Promise<VpcShared>;
}

/** The VPC's shared data as a batch reads it once for all its migrations (preflight uses it instead of reading again). */
export interface VpcShared {
  vpcId: string;
  vSwitches: VSwitch[];
  natGateways: NatGatewaySnat[];
}

const PAGE_SIZE = 50;

export function createVpcApi(client: Vpc, regionId: string): VpcApi {
  async function describeEips(filter: { allocationId?: string; eipAddress?: string }): Promise<Eip[]> {
    const res = await callApi('DescribeEipAddresses', () =>
      client.describeEipAddresses(
        new $Vpc.DescribeEipAddressesRequest({ regionId, ...filter, pageSize: 10 }),
      ),
    );
    return (res.body?.eipAddresses?.eipAddress ?? []).map(toEip);
  }

  async function natGateways(
    vpcId: string,
  ): Promise<$Vpc.DescribeNatGatewaysResponseBodyNatGatewaysNatGateway[]> {
    const all: $Vpc.DescribeNatGatewaysResponseBodyNatGatewaysNatGateway[] = [];
    for (let pageNumber = 1; ; pageNumber++) {
      const res = await callApi('DescribeNatGateways', () =>
        client.describeNatGateways(
          // Filtered here and checked again in pickSnatEntry: an intranet (VPC) NAT gateway's SNAT entry
          // translates to a private address, which is no egress to the Internet.
          new $Vpc.DescribeNatGatewaysRequest({
            regionId,
            vpcId,
            networkType: 'internet',
            pageNumber,
            pageSize: PAGE_SIZE,
          }),
        ),
      );
      const page = res.body?.natGateways?.natGateway ?? [];
      all.push(...page);
      if (page.length < PAGE_SIZE || all.length >= (res.body?.totalCount ?? 0)) return all;
    }
  }

  async function snatEntries(
    natGatewayId: string,
    filter: { sourceVSwitchId?: string; sourceCIDR?: string } = {},
  ): Promise<SnatEntry[]> {
    const all: SnatEntry[] = [];
    for (let pageNumber = 1; ; pageNumber++) {
      const res = await callApi('DescribeSnatTableEntries', () =>
        client.describeSnatTableEntries(
          new $Vpc.DescribeSnatTableEntriesRequest({
            regionId,
            natGatewayId,
            ...filter,
            pageNumber,
            pageSize: PAGE_SIZE,
          }),
        ),
      );
      const page = res.body?.snatTableEntries?.snatTableEntry ?? [];
      all.push(...page.map(toSnatEntry));
      if (page.length < PAGE_SIZE || all.length >= (res.body?.totalCount ?? 0)) return all;
    }
  }

  /**
   * The VPC's internet NAT gateways with their SNAT entries: all of them, or (`near`) only those for one vSwitch or
   * one address, read filtered (SourceVSwitchId, SourceCIDR) so that one instance's preflight reads a page or two
   * rather than every entry of the VPC.
   */
  async function snatGateways(
    vpcId: string,
    near?: { vSwitchId: string; privateIp: string },
  ): Promise<NatGatewaySnat[]> {
    const gateways: NatGatewaySnat[] = [];
    for (const gw of await natGateways(vpcId)) {
      if (!gw.natGatewayId) continue;
      const gateway = { natGatewayId: gw.natGatewayId, status: gw.status, networkType: gw.networkType };
      // Only internet gateways have SNAT entries worth reading; skip the rest without another call.
      if (!isInternetNatGateway(gateway)) continue;
      const id = gw.natGatewayId;
      const entries = near
        ? [
            ...(await snatEntries(id, { sourceVSwitchId: near.vSwitchId })),
            ...(await snatEntries(id, { sourceCIDR: `${near.privateIp}/32` })),
          ]
        : await snatEntries(id);
      gateways.push({ ...gateway, entries });
    }
    return gateways;
  }

  return {
    regionId,

    async findEipByAddress(ipAddress) {
      return (await describeEips({ eipAddress: ipAddress })).find((e) => e.ipAddress === ipAddress);
    },

    async describeEip(allocationId) {
      return (await describeEips({ allocationId })).find((e) => e.allocationId === allocationId);
    },

    async associateEip(r) {
      await callApi('AssociateEipAddress', () =>
        client.associateEipAddress(
          new $Vpc.AssociateEipAddressRequest({
            regionId,
            allocationId: r.allocationId,
            instanceId: r.instanceId,
            instanceType: r.instanceType,
            mode: r.mode,
            privateIpAddress: r.privateIpAddress,
            clientToken: r.clientToken,
          }),
        ),
      );
    },

    async unassociateEip(r) {
      await callApi('UnassociateEipAddress', () =>
        client.unassociateEipAddress(
          new $Vpc.UnassociateEipAddressRequest({
            regionId,
            allocationId: r.allocationId,
            instanceId: r.instanceId,
            instanceType: r.instanceType,
            privateIpAddress: r.privateIpAddress,
            clientToken: r.clientToken,
          }),
        ),
      );
    },

    async describeVSwitch(vSwitchId) {
      const res = await callApi('DescribeVSwitches', () =>
        client.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ regionId, vSwitchId })),
      );
      const v = res.body?.vSwitches?.vSwitch?.find((x) => x.vSwitchId === vSwitchId);
      return v ? toVSwitch(v) : undefined;
    },

    async findSnatEntryFor(vpcId, vSwitchId, privateIp) {
      // The entries for the vSwitch or the address itself first (filtered reads); only without one, every entry,
      // for a CIDR block that holds the address.
      return (
        pickSnatEntry(await snatGateways(vpcId, { vSwitchId, privateIp }), vSwitchId, privateIp) ??
        pickSnatEntry(await snatGateways(vpcId), vSwitchId, privateIp)
      );
    },

    async defaultRoute(routeTableId) {
      let nextToken: string | undefined;
      do {
        const res = await callApi('DescribeRouteEntryList', () =>
          client.describeRouteEntryList(
            new $Vpc.DescribeRouteEntryListRequest({
              regionId,
              routeTableId,
              destinationCidrBlock: '0.0.0.0/0',
              maxResult: 100,
              nextToken,
            }),
          ),
        );
        for (const e of res.body?.routeEntrys?.routeEntry ?? []) {
          const hop = e.nextHops?.nextHop?.find((h) => h.enabled !== 0) ?? e.nextHops?.nextHop?.[0];
          if (e.destinationCidrBlock === '0.0.0.0/0' && hop?.nextHopType && hop.nextHopId)
            return {
              routeTableId,
              destinationCidrBlock: '0.0.0.0/0',
              nextHopType: hop.nextHopType,
              nextHopId: hop.nextHopId,
            };
        }
        nextToken = res.body?.nextToken || undefined;
      } while (nextToken);
      return undefined;
    },

    async countEips() {
      const res = await callApi('DescribeEipAddresses', () =>
        client.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, pageSize: 1 })),
      );
      return res.body?.totalCount ?? 0;
    },

    async describeVpcShared(vpcId) {
      const vSwitches: VSwitch[] = [];
      for (let pageNumber = 1; ; pageNumber++) {
        const res = await callApi('DescribeVSwitches', () =>
          client.describeVSwitches(
            new $Vpc.DescribeVSwitchesRequest({ regionId, vpcId, pageNumber, pageSize: PAGE_SIZE }),
          ),
        );
        const page = res.body?.vSwitches?.vSwitch ?? [];
        vSwitches.push(...page.map(toVSwitch));
        if (page.length < PAGE_SIZE) break;
      }
      return { vpcId, vSwitches, natGateways: await snatGateways(vpcId) };
    },
  };
}

/** A NAT gateway as the SNAT lookup sees it: its kind and its SNAT entries. */
export interface NatGatewaySnat {
  natGatewayId: string;
  status?: string;
  /** internet | intranet. Intranet (VPC) gateways translate to private addresses: no way out to the Internet. */
  networkType?: string;
  entries: SnatEntry[];
}

/** An internet NAT gateway that is in service. A gateway from before NetworkType existed is an internet one. */
export function isInternetNatGateway(gw: Pick<NatGatewaySnat, 'status' | 'networkType'>): boolean {
  return (!gw.status || gw.status === 'Available') && (gw.networkType ?? 'internet') === 'internet';
}

/**
 * The SNAT entry that takes a private IP of a vSwitch to the Internet: only internet gateways, only entries whose
 * addresses are public (a private or shared address would be taken for the egress IP and fail verification or pass
 * preflight wrongly). An entry for the address itself wins over one for its vSwitch, which wins over a CIDR block.
 */
export function pickSnatEntry(
  gateways: readonly NatGatewaySnat[],
  vSwitchId: string,
  privateIp: string,
): SnatEntry | undefined {
  const rank = (e: SnatEntry): number => {
    if (e.sourceCidr === `${privateIp}/32`) return 3;
    if (e.sourceVSwitchId === vSwitchId) return 2;
    if (e.sourceCidr && cidrContains(e.sourceCidr, privateIp)) return 1;
    return 0;
  };
  let best: SnatEntry | undefined;
  for (const gw of gateways) {
    if (!isInternetNatGateway(gw)) continue;
    for (const entry of gw.entries) {
      if (entry.status !== 'Available' || entry.snatIps.length === 0) continue;
      if (entry.snatIps.some((ip) => !isPublicIpv4(ip))) continue;
      if (rank(entry) > (best ? rank(best) : 0)) best = entry;
    }
  }
  return best;
}

/** Address blocks that never leave a VPC: RFC 1918, shared address space (RFC 6598), loopback, link-local. */
const NON_PUBLIC_BLOCKS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '0.0.0.0/8',
];

/** Whether an IPv4 address can be someone's source address on the Internet. */
export function isPublicIpv4(ip: string): boolean {
  return ipv4ToInt(ip) !== undefined && !NON_PUBLIC_BLOCKS.some((block) => cidrContains(block, ip));
}

function nonEmpty(s: string | undefined): string | undefined {
  return s ? s : undefined;
}

function toEip(e: $Vpc.DescribeEipAddressesResponseBodyEipAddressesEipAddress): Eip {
  return {
    allocationId: e.allocationId ?? '',
    ipAddress: e.ipAddress ?? '',
    status: e.status ?? '',
    instanceId: nonEmpty(e.instanceId),
    instanceType: nonEmpty(e.instanceType),
    mode: nonEmpty(e.mode),
    privateIpAddress: nonEmpty(e.privateIpAddress),
  };
}

function toVSwitch(v: $Vpc.DescribeVSwitchesResponseBodyVSwitchesVSwitch): VSwitch {
  return {
    vSwitchId: v.vSwitchId ?? '',
    vpcId: v.vpcId ?? '',
    zoneId: v.zoneId ?? '',
    cidrBlock: v.cidrBlock ?? '',
    status: v.status ?? '',
    availableIpAddressCount: v.availableIpAddressCount ?? 0,
    routeTableId: nonEmpty(v.routeTable?.routeTableId),
  };
}

function toSnatEntry(e: $Vpc.DescribeSnatTableEntriesResponseBodySnatTableEntriesSnatTableEntry): SnatEntry {
  return {
    natGatewayId: e.natGatewayId ?? '',
    snatTableId: e.snatTableId ?? '',
    snatEntryId: e.snatEntryId ?? '',
    snatIps: (e.snatIp ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sourceCidr: nonEmpty(e.sourceCIDR),
    sourceVSwitchId: nonEmpty(e.sourceVSwitchId),
    status: e.status ?? '',
  };
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Whether an IPv4 address lies inside a CIDR block such as 192.168.0.0/24. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? '32');
  const a = ipv4ToInt(base);
  const b = ipv4ToInt(ip);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}
