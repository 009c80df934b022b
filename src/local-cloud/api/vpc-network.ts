import type { ActionHandler, Params } from '../contracts';
import { CloudError } from '../errors';
import { usableCount } from '../model/ipv4';
import {
  ACCOUNT_ID,
  checkDryRun,
  checkRegion,
  cloudOf,
  ecsTags,
  isoSeconds,
  tooMany,
  vpcTags,
} from './common';
import { pageByNumber } from './paging';

/** VPC networking: DescribeVpcs, DescribeVSwitches, DescribeNatGateways, DescribeSnatTableEntries (read-only). */

const OWNER_ID = Number(ACCOUNT_ID); // a number in the VPC API [SDK models]

/**
 * One page (PageNumber/PageSize: 10 by default, at most 50, as every Describe here) of `matched`, shown as the
 * VPC API nests its lists: `{TotalCount, PageNumber, PageSize, <list>: {<item>: [...]}}`.
 */
function pagedList<T>(
  matched: T[],
  params: Params,
  list: string,
  item: string,
  show: (resource: T) => Record<string, unknown>,
): Record<string, unknown> {
  const page = pageByNumber(matched, params, { defaultSize: 10, max: 50 });
  return { ...page.body, [list]: { [item]: page.items.map(show) } };
}

function eqParam(params: Params) {
  return (name: string, value: string) => {
    const want = params.str(name);
    return want === undefined || want === '' || want === value;
  };
}

const describeVpcs: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.commaList('VpcId');
  tooMany(params, 'VpcId', ids, 20);
  const eq = eqParam(params);
  const isDefault = params.bool('IsDefault');
  const tags = params.tags();
  checkDryRun(params);
  const r = cloud.region;
  r.settle();
  const matched = [...r.vpcs.values()].filter(
    (v) =>
      (ids.length === 0 || ids.includes(v.vpcId)) &&
      eq('VpcName', v.vpcName) &&
      isDefault !== true &&
      tags.length === 0,
  );
  return pagedList(matched, params, 'Vpcs', 'Vpc', (v) => ({
    VpcId: v.vpcId,
    VpcName: v.vpcName,
    RegionId: r.regionId,
    CidrBlock: v.cidrBlock,
    Status: 'Available',
    IsDefault: false,
    CreationTime: isoSeconds(v.creationTime),
    Description: '',
    VRouterId: v.vRouterId,
    ResourceGroupId: '',
    OwnerId: OWNER_ID,
    Ipv6CidrBlock: '',
    EnabledIpv6: false,
    DhcpOptionsSetId: '',
    DhcpOptionsSetStatus: '',
    DnsHostnameStatus: 'DISABLED',
    CenStatus: 'Detached',
    VSwitchIds: {
      VSwitchId: [...r.vSwitches.values()].filter((s) => s.vpcId === v.vpcId).map((s) => s.vSwitchId),
    },
    // DescribeVpcs doubles these two names [SDK model].
    NatGatewayIds: {
      NatGatewayIds: [...r.natGateways.values()]
        .filter((n) => n.vpcId === v.vpcId)
        .map((n) => n.natGatewayId),
    },
    RouterTableIds: { RouterTableIds: [v.routeTableId] },
    SecondaryCidrBlocks: { SecondaryCidrBlock: [] },
    UserCidrs: { UserCidr: [] },
    Ipv6CidrBlocks: { Ipv6CidrBlock: [] },
    Tags: vpcTags([]),
  }));
};

const describeVSwitches: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  // RegionId or VpcId: at least one is required [DOC].
  checkRegion(cloud, params, params.str('VpcId') === undefined);
  const eq = eqParam(params);
  const isDefault = params.bool('IsDefault');
  const tags = params.tags();
  checkDryRun(params);
  const r = cloud.region;
  r.settle();
  const matched = [...r.vSwitches.values()].filter(
    (s) =>
      eq('VSwitchId', s.vSwitchId) &&
      eq('VpcId', s.vpcId) &&
      eq('ZoneId', s.zoneId) &&
      eq('VSwitchName', s.vSwitchName) &&
      eq('RouteTableId', s.routeTableId) &&
      isDefault !== true &&
      tags.length === 0,
  );
  return pagedList(matched, params, 'VSwitches', 'VSwitch', (s) => ({
    VSwitchId: s.vSwitchId,
    VpcId: s.vpcId,
    ZoneId: s.zoneId,
    CidrBlock: s.cidrBlock,
    Status: 'Available',
    AvailableIpAddressCount: usableCount(s.cidrBlock) - r.usedIps(s.vSwitchId).size,
    VSwitchName: s.vSwitchName,
    Description: '',
    IsDefault: false,
    CreationTime: isoSeconds(s.creationTime),
    ResourceGroupId: '',
    OwnerId: OWNER_ID,
    NetworkAclId: '',
    Ipv6CidrBlock: '',
    EnabledIpv6: false,
    ShareType: '',
    RouteTable: {
      RouteTableId: s.routeTableId,
      RouteTableType: r.routeTables.get(s.routeTableId)?.routeTableType ?? 'System',
    },
    Tags: vpcTags([]),
  }));
};

const describeNatGateways: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const eq = eqParam(params);
  const tags = params.tags();
  checkDryRun(params);
  const r = cloud.region;
  r.settle();
  const matched = [...r.natGateways.values()].filter(
    (n) =>
      eq('NatGatewayId', n.natGatewayId) &&
      eq('VpcId', n.vpcId) &&
      eq('Name', n.name) &&
      eq('Status', 'Available') &&
      eq('NatType', 'Enhanced') &&
      eq('NetworkType', 'internet') &&
      eq('Spec', n.spec) &&
      eq('ZoneId', n.zoneId) &&
      eq('InstanceChargeType', 'PostPaid') &&
      tags.length === 0,
  );
  return pagedList(matched, params, 'NatGateways', 'NatGateway', (n) => {
    const entries = [...r.snatEntries.values()].filter((s) => s.natGatewayId === n.natGatewayId);
    const eips = [...r.eips.values()].filter(
      (e) => e.binding?.instanceType === 'Nat' && e.binding.instanceId === n.natGatewayId,
    );
    return {
      NatGatewayId: n.natGatewayId,
      Name: n.name,
      Description: '',
      Status: 'Available',
      VpcId: n.vpcId,
      NatType: 'Enhanced',
      NetworkType: 'internet',
      Spec: n.spec,
      InstanceChargeType: 'PostPaid',
      InternetChargeType: 'PayByLcu',
      BusinessStatus: 'Normal',
      CreationTime: isoSeconds(n.creationTime),
      ExpiredTime: '',
      EipBindMode: 'MULTI_BINDED',
      RegionId: r.regionId,
      ResourceGroupId: '',
      DeletionProtection: false,
      AutoPay: false,
      EcsMetricEnabled: false,
      IcmpReplyEnabled: true,
      SecurityProtectionEnabled: false,
      PrivateLinkEnabled: false,
      PrivateLinkMode: '',
      EnableSessionLog: 'false',
      SnatTableIds: { SnatTableId: [n.snatTableId] },
      ForwardTableIds: { ForwardTableId: [n.forwardTableId] },
      FullNatTableIds: { FullNatTableId: [] },
      IpLists: {
        IpList: eips.map((e) => {
          const used = entries.some((s) => s.snatIp.split(',').includes(e.ipAddress));
          return {
            AllocationId: e.allocationId,
            IpAddress: e.ipAddress,
            PrivateIpAddress: '',
            SnatEntryEnabled: used,
            UsingStatus: used ? 'UsedBySnatTable' : 'Idle',
          };
        }),
      },
      IpPrefixList: { IpPrefixList: [] },
      NatGatewayPrivateInfo: {
        EniInstanceId: n.eniInstanceId,
        VswitchId: n.vSwitchId,
        IzNo: n.zoneId,
        PrivateIpAddress: n.privateIpAddress,
        MaxBandwidth: 5120,
        MaxSessionEstablishRate: 100000,
        MaxSessionQuota: 2000000,
        EniType: 'indirect',
      },
      Tags: ecsTags([]), // NAT gateway tags use the ECS shape {TagKey,TagValue} [SDK model]
    };
  });
};

const describeSnatTableEntries: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const tableId = params.str('SnatTableId');
  const natGatewayId = params.str('NatGatewayId');
  // At least one of SnatTableId and NatGatewayId [DOC].
  if (!tableId && !natGatewayId) throw CloudError.of('MissingParameter', 'SnatTableId');
  const eniIds = params.list('NetworkInterfaceIds');
  const eq = eqParam(params);
  const r = cloud.region;
  r.settle();
  // An entry for a vSwitch shows that vSwitch's CIDR block as SourceCIDR, as the console does.
  const sourceCidrOf = (s: { sourceCIDR?: string; sourceVSwitchId?: string }) =>
    s.sourceCIDR ?? r.vSwitches.get(s.sourceVSwitchId ?? '')?.cidrBlock ?? '';
  const matched = [...r.snatEntries.values()].filter(
    (s) =>
      eq('SnatTableId', s.snatTableId) &&
      eq('NatGatewayId', s.natGatewayId) &&
      eq('SnatEntryId', s.snatEntryId) &&
      eq('SnatEntryName', s.snatEntryName) &&
      eq('SnatIp', s.snatIp) &&
      eq('SourceCIDR', sourceCidrOf(s)) &&
      eq('SourceVSwitchId', s.sourceVSwitchId ?? '') &&
      eniIds.length === 0,
  );
  return pagedList(matched, params, 'SnatTableEntries', 'SnatTableEntry', (s) => ({
    SnatEntryId: s.snatEntryId,
    SnatTableId: s.snatTableId,
    NatGatewayId: s.natGatewayId,
    SnatIp: s.snatIp,
    SourceCIDR: sourceCidrOf(s),
    SourceVSwitchId: s.sourceVSwitchId ?? '',
    NetworkInterfaceId: '',
    Status: 'Available',
    SnatEntryName: s.snatEntryName,
    EipAffinity: '0',
  }));
};

/**
 * DescribeRouteEntryList: a route table's entries [DOC; fields per the SDK model], filtered by DestinationCidrBlock,
 * NextHopType, NextHopId, RouteEntryId; MaxResult (≤ 100) / NextToken paging.
 */
const describeRouteEntryList: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const tableId = params.str('RouteTableId', true)!;
  const r = cloud.region;
  r.settle();
  const table = r.routeTables.get(tableId);
  if (!table) throw CloudError.of('InvalidRouteTableId.NotFound', tableId);
  const eq = eqParam(params);
  const matched = table.routeEntries.filter(
    (e) =>
      eq('DestinationCidrBlock', e.destinationCidrBlock) &&
      eq('NextHopType', e.nextHopType) &&
      eq('NextHopId', e.nextHopId) &&
      eq('RouteEntryId', e.routeEntryId) &&
      eq('RouteEntryType', 'Custom'),
  );
  const size = Math.min(100, Math.max(1, params.int('MaxResult', 50)!));
  const start = Number(params.str('NextToken') ?? '0');
  if (!Number.isInteger(start) || start < 0 || start > matched.length)
    throw CloudError.of('InvalidParameter', 'NextToken', 'The token is not valid.');
  const items = matched.slice(start, start + size);
  const next = start + size < matched.length ? String(start + size) : '';
  return {
    NextToken: next,
    TotalCount: matched.length,
    RouteEntrys: {
      RouteEntry: items.map((e) => ({
        RouteEntryId: e.routeEntryId,
        RouteEntryName: '',
        RouteTableId: table.routeTableId,
        DestinationCidrBlock: e.destinationCidrBlock,
        Type: 'Custom',
        Status: 'Available',
        IpVersion: 'ipv4',
        Description: '',
        Origin: '',
        ServiceType: '',
        GmtModified: isoSeconds(table.creationTime),
        NextHops: {
          NextHop: [
            {
              NextHopType: e.nextHopType,
              NextHopId: e.nextHopId,
              Enabled: 1,
              Weight: 100,
              NextHopRegionId: r.regionId,
            },
          ],
        },
      })),
    },
  };
};

export const VPC_NETWORK_ACTIONS: Record<string, ActionHandler> = {
  DescribeVpcs: describeVpcs,
  DescribeVSwitches: describeVSwitches,
  DescribeNatGateways: describeNatGateways,
  DescribeSnatTableEntries: describeSnatTableEntries,
  DescribeRouteEntryList: describeRouteEntryList,
};
