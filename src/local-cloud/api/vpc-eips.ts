import type { ActionHandler } from '../contracts';
import type { Cloud } from '../model/cloud';
import { CloudError } from '../errors';
import type { EipAddress } from '../model/resources';
import {
  checkDryRun,
  checkRegion,
  cloudOf,
  hasTags,
  idempotent,
  inFilter,
  isoSeconds,
  tooMany,
  vpcTags,
} from './common';
import { pageByNumber } from './paging';

/** EIPs: DescribeEipAddresses, AssociateEipAddress, UnassociateEipAddress. */

function eipItem(cloud: Cloud, e: EipAddress) {
  const b = e.binding;
  return {
    AllocationId: e.allocationId,
    IpAddress: e.ipAddress,
    Status: e.status,
    InstanceId: b?.instanceId ?? '',
    InstanceType: b?.instanceType ?? '',
    InstanceRegionId: b ? cloud.regionId : '',
    PrivateIpAddress: b?.privateIpAddress ?? '',
    Mode: b?.mode ?? 'NAT',
    RegionId: cloud.regionId,
    Bandwidth: String(e.bandwidth), // a string in the VPC API [SDK model]
    EipBandwidth: String(e.bandwidth),
    InternetChargeType: e.internetChargeType,
    ChargeType: e.chargeType,
    AllocationTime: isoSeconds(e.allocationTime),
    ExpiredTime: '',
    BandwidthPackageId: '',
    BandwidthPackageType: '',
    BandwidthPackageBandwidth: '',
    Name: e.name,
    Description: e.description,
    ISP: 'BGP',
    Netmode: 'public',
    BusinessStatus: 'Normal',
    BizType: '',
    DeletionProtection: false,
    ResourceGroupId: '',
    VpcId: '',
    Zone: '',
    ServiceManaged: 0, // a number in the VPC API [SDK model]
    SecondLimited: false,
    HDMonitorStatus: 'OFF',
    HasReservationData: 'false',
    OperationLocks: { LockReason: [] },
    SecurityProtectionTypes: { SecurityProtectionType: [] },
    Tags: vpcTags(e.tags),
  };
}

const describeEipAddresses: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.commaList('AllocationId');
  const ips = params.commaList('EipAddress');
  tooMany(params, 'AllocationId', ids, 50);
  tooMany(params, 'EipAddress', ips, 50);
  const tags = params.tags();
  const eq = (name: string, value: string) => {
    const want = params.str(name);
    return want === undefined || want === '' || want === value;
  };
  checkDryRun(params);
  const matched = cloud.eips
    .visible()
    .filter(
      (e) =>
        inFilter(e.allocationId, ids) &&
        inFilter(e.ipAddress, ips) &&
        eq('AssociatedInstanceType', e.binding?.instanceType ?? '') &&
        eq('AssociatedInstanceId', e.binding?.instanceId ?? '') &&
        eq('Status', e.status) &&
        eq('EipName', e.name) &&
        eq('ChargeType', e.chargeType) &&
        eq('ISP', 'BGP') &&
        hasTags(e.tags, tags),
    );
  const page = pageByNumber(matched, params, { defaultSize: 10, max: 100 });
  return { ...page.body, EipAddresses: { EipAddress: page.items.map((e) => eipItem(cloud, e)) } };
};

const associateEipAddress: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params, false);
  const input = {
    allocationId: params.str('AllocationId', true)!,
    instanceId: params.str('InstanceId', true)!,
    instanceType: params.str('InstanceType'),
    mode: params.str('Mode'),
    privateIpAddress: params.str('PrivateIpAddress'),
  };
  // Required for an ENI by the current SDK doc (the 2021 doc and the OOS template omit it): the strictest reading.
  if (input.instanceType === 'NetworkInterface' && !input.privateIpAddress) {
    throw CloudError.of('MissingParameter', 'PrivateIpAddress');
  }
  return idempotent(cloud, 'AssociateEipAddress', params, () => {
    cloud.eips.associate(input);
    return {};
  });
};

const unassociateEipAddress: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params, false);
  const input = {
    allocationId: params.str('AllocationId', true)!,
    instanceId: params.str('InstanceId'),
    instanceType: params.str('InstanceType'),
    privateIpAddress: params.str('PrivateIpAddress'),
    force: params.bool('Force', false),
  };
  return idempotent(cloud, 'UnassociateEipAddress', params, () => {
    cloud.eips.unassociate(input);
    return {};
  });
};

export const VPC_EIP_ACTIONS: Record<string, ActionHandler> = {
  DescribeEipAddresses: describeEipAddresses,
  AssociateEipAddress: associateEipAddress,
  UnassociateEipAddress: unassociateEipAddress,
};
