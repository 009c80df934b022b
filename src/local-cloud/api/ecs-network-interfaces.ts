import type { ActionHandler } from '../contracts';
import { CloudError } from '../errors';
import type { Cloud } from '../model/cloud';
import type { NetworkInterface } from '../model/resources';
import {
  ACCOUNT_ID,
  checkRegion,
  cloudOf,
  ecsTags,
  hasTags,
  idempotent,
  inFilter,
  isoSeconds,
  tooMany,
} from './common';
import { pageEither } from './paging';

/** ENIs: CreateNetworkInterface, DescribeNetworkInterfaces, DescribeNetworkInterfaceAttribute,
 * AttachNetworkInterface, DetachNetworkInterface, DeleteNetworkInterface. */

/** The public address mapped to one private IP: a NAT-mode EIP, or on the primary ENI the instance's own. */
function associatedPublicIp(cloud: Cloud, eni: NetworkInterface, ip: string) {
  const r = cloud.region;
  const inEffect = (s: string) => s === 'InUse' || s === 'Unassociating';
  const eip = r.eipOfEni(eni.networkInterfaceId, ip);
  if (eip && inEffect(eip.status)) return { PublicIpAddress: eip.ipAddress, AllocationId: eip.allocationId };
  if (eni.type === 'Primary' && eni.instanceId && ip === eni.primaryIpAddress) {
    const inst = r.instances.get(eni.instanceId);
    if (inst?.publicIpAddress) return { PublicIpAddress: inst.publicIpAddress, AllocationId: '' };
    const own = r.eipOfInstance(eni.instanceId);
    if (own) return { PublicIpAddress: own.ipAddress, AllocationId: own.allocationId };
  }
  return {};
}

function eniFields(cloud: Cloud, eni: NetworkInterface) {
  return {
    NetworkInterfaceId: eni.networkInterfaceId,
    Status: eni.status,
    Type: eni.type,
    InstanceId: eni.instanceId ?? '',
    VpcId: eni.vpcId,
    VSwitchId: eni.vSwitchId,
    ZoneId: eni.zoneId,
    PrivateIpAddress: eni.primaryIpAddress,
    MacAddress: eni.macAddress,
    NetworkInterfaceName: eni.networkInterfaceName,
    Description: eni.description,
    CreationTime: isoSeconds(eni.creationTime),
    DeleteOnRelease: eni.deleteOnRelease,
    ResourceGroupId: '',
    OwnerId: ACCOUNT_ID, // a string for ENIs [SDK model]
    ServiceManaged: false,
    SourceDestCheck: false,
    NetworkInterfaceTrafficMode: 'Standard',
    QueueNumber: 1,
    AssociatedPublicIp: associatedPublicIp(cloud, eni, eni.primaryIpAddress),
    SecurityGroupIds: { SecurityGroupId: [...eni.securityGroupIds] },
    Ipv6Sets: { Ipv6Set: [] },
    Ipv4PrefixSets: { Ipv4PrefixSet: [] },
    Ipv6PrefixSets: { Ipv6PrefixSet: [] },
    Tags: ecsTags(eni.tags),
  };
}

function privateIpSet(cloud: Cloud, eni: NetworkInterface, withDnsName: boolean) {
  return {
    PrivateIpSet: [eni.primaryIpAddress, ...eni.secondaryIpAddresses].map((ip, i) => ({
      PrivateIpAddress: ip,
      Primary: i === 0,
      ...(withDnsName ? { PrivateDnsName: '' } : {}),
      AssociatedPublicIp: associatedPublicIp(cloud, eni, ip),
    })),
  };
}

function attachment(eni: NetworkInterface) {
  return eni.instanceId
    ? {
        InstanceId: eni.instanceId,
        DeviceIndex: eni.deviceIndex ?? 0,
        NetworkCardIndex: 0,
        TrunkNetworkInterfaceId: '',
      }
    : {};
}

const createNetworkInterface: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const vSwitchId = params.str('VSwitchId', true)!;
  const single = params.str('SecurityGroupId');
  const many = params.list('SecurityGroupIds');
  if (single && many.length)
    throw CloudError.of('InvalidParameter.Conflict', 'SecurityGroupId, SecurityGroupIds');
  if (!single && !many.length) throw CloudError.of('MissingParameter', 'SecurityGroupId');
  const securityGroupIds = single ? [single] : many;
  tooMany(params, 'SecurityGroupIds', securityGroupIds, 5);
  const privateIpAddresses = params.list('PrivateIpAddress');
  const count = params.int('SecondaryPrivateIpAddressCount');
  if (count !== undefined && privateIpAddresses.length)
    throw CloudError.of('InvalidParameter.Conflict', 'SecondaryPrivateIpAddressCount, PrivateIpAddress');
  if (count !== undefined && (count < 1 || count > 49))
    throw CloudError.of('InvalidParameter', 'SecondaryPrivateIpAddressCount', 'Valid values: 1 to 49.');
  tooMany(params, 'PrivateIpAddress', privateIpAddresses, 49);
  const eniType = params.str('InstanceType') ?? 'Secondary';
  if (eniType !== 'Secondary')
    throw CloudError.of('InvalidParameter', 'InstanceType', 'The local cloud models Secondary ENIs only.');

  // 200 without a NetworkInterfaceId: no ENI was made, nothing is remembered for the token, call again [doc].
  if (cloud.enis.answersEmpty()) return {};
  return idempotent(cloud, 'CreateNetworkInterface', params, () => {
    const eni = cloud.enis.create({
      vSwitchId,
      securityGroupIds,
      primaryIpAddress: params.str('PrimaryIpAddress'),
      privateIpAddresses,
      secondaryPrivateIpAddressCount: count,
      networkInterfaceName: params.str('NetworkInterfaceName'),
      description: params.str('Description'),
      deleteOnRelease: params.bool('DeleteOnRelease'),
      tags: params.tags(),
    });
    // The create response has no ZoneId [reference note §7, from the API docs].
    return {
      NetworkInterfaceId: eni.networkInterfaceId,
      Status: eni.status,
      Type: eni.type,
      VpcId: eni.vpcId,
      VSwitchId: eni.vSwitchId,
      PrivateIpAddress: eni.primaryIpAddress,
      MacAddress: eni.macAddress,
      NetworkInterfaceName: eni.networkInterfaceName,
      Description: eni.description,
      OwnerId: ACCOUNT_ID,
      ResourceGroupId: '',
      SourceDestCheck: false,
      ServiceManaged: false,
      SecurityGroupIds: { SecurityGroupId: [...eni.securityGroupIds] },
      PrivateIpSets: {
        PrivateIpSet: [eni.primaryIpAddress, ...eni.secondaryIpAddresses].map((ip, i) => ({
          PrivateIpAddress: ip,
          Primary: i === 0,
        })),
      },
      Ipv6Sets: { Ipv6Set: [] },
      Ipv4PrefixSets: { Ipv4PrefixSet: [] },
      Ipv6PrefixSets: { Ipv6PrefixSet: [] },
      Tags: ecsTags(eni.tags),
    };
  });
};

const describeNetworkInterfaces: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.list('NetworkInterfaceId');
  tooMany(params, 'NetworkInterfaceId', ids, 100);
  const privateIps = params.list('PrivateIpAddress');
  const tags = params.tags();
  const eq = (name: string, value: string) => {
    const want = params.str(name);
    return want === undefined || want === '' || want === value;
  };
  const serviceManaged = params.bool('ServiceManaged');
  const sg = params.str('SecurityGroupId');
  const matched = cloud.enis.visible().filter(
    (e) =>
      inFilter(e.networkInterfaceId, ids) &&
      eq('InstanceId', e.instanceId ?? '') &&
      eq('VpcId', e.vpcId) &&
      eq('VSwitchId', e.vSwitchId) &&
      eq('Status', e.status) &&
      eq('Type', e.type) &&
      eq('NetworkInterfaceName', e.networkInterfaceName) &&
      eq('PrimaryIpAddress', e.primaryIpAddress) &&
      // The SecurityGroupId filter finds secondary ENIs only [sdk doc comment; API page].
      (!sg || (e.type === 'Secondary' && e.securityGroupIds.includes(sg))) &&
      serviceManaged !== true &&
      (privateIps.length === 0 ||
        [e.primaryIpAddress, ...e.secondaryIpAddresses].some((ip) => privateIps.includes(ip))) &&
      hasTags(e.tags, tags),
  );
  const page = pageEither(matched, params, {
    defaultSize: 10,
    tokenMin: 10,
    tokenMax: 500,
    pageMax: 100,
    tokenTotalCount: 'page',
  });
  return {
    ...page.body,
    NetworkInterfaceSets: {
      NetworkInterfaceSet: page.items.map((e) => ({
        ...eniFields(cloud, e),
        Attachment: attachment(e),
        PrivateIpSets: privateIpSet(cloud, e, true),
      })),
    },
  };
};

const describeNetworkInterfaceAttribute: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const id = params.str('NetworkInterfaceId', true)!;
  const eni = cloud.enis.visible().find((e) => e.networkInterfaceId === id);
  if (!eni) throw CloudError.of('InvalidEniId.NotFound', id);
  const att = attachment(eni);
  return {
    ...eniFields(cloud, eni),
    Attachment:
      'InstanceId' in att ? { ...att, MemberNetworkInterfaceIds: { MemberNetworkInterfaceId: [] } } : {},
    PrivateIpSets: privateIpSet(cloud, eni, false),
    ConnectionTrackingConfiguration: {
      TcpEstablishedTimeout: 910,
      TcpClosedAndTimeWaitTimeout: 3,
      UdpTimeout: 30,
    },
    TcpOptionAddressEnabled: 'false',
  };
};

const attachNetworkInterface: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const eniId = params.str('NetworkInterfaceId', true)!;
  const instanceId = params.str('InstanceId', true)!;
  const card = params.int('NetworkCardIndex');
  if (card !== undefined && card !== 0)
    throw CloudError.of(
      'InvalidParameter',
      'NetworkCardIndex',
      'The instance type has one network card (index 0).',
    );
  cloud.enis.attach(eniId, instanceId);
  return {};
};

const detachNetworkInterface: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  cloud.enis.detach(params.str('NetworkInterfaceId', true)!, params.str('InstanceId', true)!);
  return {};
};

const deleteNetworkInterface: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  cloud.enis.delete(params.str('NetworkInterfaceId', true)!);
  return {};
};

export const ECS_NETWORK_INTERFACE_ACTIONS: Record<string, ActionHandler> = {
  CreateNetworkInterface: createNetworkInterface,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DescribeNetworkInterfaceAttribute: describeNetworkInterfaceAttribute,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
};
