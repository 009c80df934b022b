import type { ActionHandler, Params } from '../contracts';
import { CloudError } from '../errors';
import type { Cloud } from '../model/cloud';
import type { Instance } from '../model/resources';
import {
  checkDryRun,
  checkRegion,
  cloudOf,
  ecsMinuteTime,
  ecsTags,
  hasTags,
  idempotent,
  inFilter,
  tooMany,
} from './common';
import { pageByNumber, pageByToken, pageEither } from './paging';

/** ECS instances: DescribeInstances, DescribeInstanceAttribute, DescribeInstanceStatus, DescribeInstanceTypes,
 * ConvertNatPublicIpToEip, ModifyInstanceChargeType. Shapes follow the SDK models' `types()` maps. */

const STATUSES = ['Pending', 'Running', 'Starting', 'Stopping', 'Stopped'];
/** What PostPaid instances show as ExpiredTime. */
const NEVER = Date.parse('2099-12-31T15:59:00Z');

function eipAddress(cloud: Cloud, inst: Instance) {
  const eip = cloud.region.eipOfInstance(inst.instanceId);
  return eip
    ? {
        AllocationId: eip.allocationId,
        IpAddress: eip.ipAddress,
        Bandwidth: eip.bandwidth,
        InternetChargeType: eip.internetChargeType,
        IsSupportUnassociate: true,
      }
    : { AllocationId: '', IpAddress: '', InternetChargeType: '' };
}

/** The fields DescribeInstances and DescribeInstanceAttribute share. */
function common(cloud: Cloud, inst: Instance) {
  const r = cloud.region;
  const type = r.instanceTypes.get(inst.instanceType);
  const primary = r.enis.get(inst.primaryNetworkInterfaceId);
  return {
    InstanceId: inst.instanceId,
    InstanceName: inst.instanceName,
    Description: '',
    HostName: inst.hostName,
    ImageId: inst.imageId,
    InstanceType: inst.instanceType,
    Cpu: type?.cpuCoreCount ?? 2,
    Memory: (type?.memorySize ?? 8) * 1024,
    RegionId: r.regionId,
    ZoneId: inst.zoneId,
    Status: inst.status,
    StoppedMode: inst.status === 'Stopped' ? (inst.stoppedMode ?? 'KeepCharging') : 'Not-applicable',
    InstanceChargeType: inst.instanceChargeType,
    InternetChargeType: inst.internetChargeType,
    InternetMaxBandwidthIn: inst.internetMaxBandwidthIn,
    InternetMaxBandwidthOut: inst.internetMaxBandwidthOut,
    CreationTime: ecsMinuteTime(inst.creationTime),
    ExpiredTime: ecsMinuteTime(inst.expiredTime ?? NEVER),
    InstanceNetworkType: 'vpc',
    SerialNumber: `${inst.instanceId.slice(2, 10)}-0000-4000-8000-${inst.instanceId.slice(-12).padStart(12, '0')}`,
    VlanId: '',
    ClusterId: '',
    CreditSpecification: '',
    VpcAttributes: {
      VpcId: inst.vpcId,
      VSwitchId: inst.vSwitchId,
      PrivateIpAddress: { IpAddress: primary ? [primary.primaryIpAddress] : [] },
      NatIpAddress: '',
    },
    PublicIpAddress: { IpAddress: inst.publicIpAddress ? [inst.publicIpAddress] : [] },
    InnerIpAddress: { IpAddress: [] as string[] },
    SecurityGroupIds: { SecurityGroupId: [...inst.securityGroupIds] },
  };
}

function instanceItem(cloud: Cloud, inst: Instance) {
  const r = cloud.region;
  const image = r.images.get(inst.imageId);
  const type = r.instanceTypes.get(inst.instanceType);
  return {
    ...common(cloud, inst),
    InstanceTypeFamily: type?.instanceTypeFamily ?? '',
    OSName: image?.osName ?? '',
    OSNameEn: image?.osName ?? '',
    OSType: image?.osType ?? 'linux',
    StartTime: ecsMinuteTime(inst.startTime),
    AutoReleaseTime:
      inst.autoReleaseTime === undefined
        ? ''
        : new Date(inst.autoReleaseTime).toISOString().slice(0, 19) + 'Z',
    IoOptimized: true, // a boolean here, a string in DescribeInstanceAttribute [SDK models]
    DeletionProtection: false,
    DeviceAvailable: true,
    Recyclable: false,
    ResourceGroupId: '',
    KeyPairName: '',
    SpotStrategy: 'NoSpot',
    GPUAmount: 0,
    GPUSpec: '',
    LocalStorageAmount: 0,
    LocalStorageCapacity: 0,
    DeploymentSetId: '',
    EipAddress: eipAddress(cloud, inst),
    RdmaIpAddress: { IpAddress: [] as string[] },
    NetworkInterfaces: {
      // The attachments in effect: an ENI shows up once attached and until its detach completes.
      NetworkInterface: r
        .enisOf(inst.instanceId)
        .filter((e) => e.status === 'InUse' || e.status === 'Detaching')
        .map((e) => ({
          NetworkInterfaceId: e.networkInterfaceId,
          Type: e.type,
          PrimaryIpAddress: e.primaryIpAddress,
          MacAddress: e.macAddress,
          PrivateIpSets: {
            PrivateIpSet: [e.primaryIpAddress, ...e.secondaryIpAddresses].map((ip, i) => ({
              PrivateIpAddress: ip,
              Primary: i === 0,
              PrivateDnsName: '',
            })),
          },
          Ipv6Sets: { Ipv6Set: [] },
          Ipv4PrefixSets: { Ipv4PrefixSet: [] },
          Ipv6PrefixSets: { Ipv6PrefixSet: [] },
        })),
    },
    OperationLocks: { LockReason: [] },
    Tags: ecsTags(inst.tags),
    DedicatedHostAttribute: { DedicatedHostId: '', DedicatedHostName: '', DedicatedHostClusterId: '' },
    DedicatedInstanceAttribute: { Tenancy: '', Affinity: '' },
    EcsCapacityReservationAttr: { CapacityReservationId: '', CapacityReservationPreference: '' },
    HibernationOptions: { Configured: false },
    MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'optional', HttpPutResponseHopLimit: 1 },
    CpuOptions: { CoreCount: Math.max(1, (type?.cpuCoreCount ?? 2) / 2), ThreadsPerCore: 2, Numa: '' },
  };
}

function jsonFilter(params: Params, name: string, max = 100): string[] {
  const values = params.jsonList(name);
  tooMany(params, name, values, max);
  return values;
}

const describeInstances: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = jsonFilter(params, 'InstanceIds');
  const privateIps = jsonFilter(params, 'PrivateIpAddresses');
  const publicIps = jsonFilter(params, 'PublicIpAddresses');
  const eipIps = jsonFilter(params, 'EipAddresses');
  const status = params.str('Status');
  if (status !== undefined && !STATUSES.includes(status))
    throw CloudError.of('InvalidStatus.NotFound', status);
  const chargeType = params.str('InstanceChargeType');
  if (chargeType !== undefined && chargeType !== 'PrePaid' && chargeType !== 'PostPaid')
    throw CloudError.of('InvalidInstanceChargeType.NotFound', chargeType);
  const tags = params.tags();
  const name = params.str('InstanceName');
  const nameRe = name === undefined ? undefined : new RegExp(`^${name.split('*').map(escapeRe).join('.*')}$`);
  checkDryRun(params);

  const simple: Array<[string, (i: Instance) => string]> = [
    ['VpcId', (i) => i.vpcId],
    ['VSwitchId', (i) => i.vSwitchId],
    ['ZoneId', (i) => i.zoneId],
    ['Status', (i) => i.status],
    ['InstanceChargeType', (i) => i.instanceChargeType],
    ['InternetChargeType', (i) => i.internetChargeType],
    ['InstanceType', (i) => i.instanceType],
    ['InstanceTypeFamily', (i) => cloud.region.instanceTypes.get(i.instanceType)?.instanceTypeFamily ?? ''],
    ['ImageId', (i) => i.imageId],
    ['InstanceNetworkType', () => 'vpc'],
  ];
  const matched = cloud.instances.all().filter((inst) => {
    if (!inFilter(inst.instanceId, ids)) return false;
    for (const [param, get] of simple) {
      const want = params.str(param);
      if (want !== undefined && want !== '' && get(inst) !== want) return false;
    }
    const sg = params.str('SecurityGroupId');
    if (sg && !inst.securityGroupIds.includes(sg)) return false;
    if (nameRe && !nameRe.test(inst.instanceName)) return false;
    if (
      privateIps.length &&
      !privateIps.includes(cloud.region.enis.get(inst.primaryNetworkInterfaceId)?.primaryIpAddress ?? '')
    )
      return false;
    if (publicIps.length && !publicIps.includes(inst.publicIpAddress ?? '')) return false;
    if (eipIps.length && !eipIps.includes(cloud.region.eipOfInstance(inst.instanceId)?.ipAddress ?? ''))
      return false;
    return hasTags(inst.tags, tags);
  });

  const page = pageEither(matched, params, {
    defaultSize: 10,
    tokenMin: 10,
    tokenMax: 100,
    pageMax: 100,
    tokenTotalCount: 'page',
  });
  return { ...page.body, Instances: { Instance: page.items.map((i) => instanceItem(cloud, i)) } };
};

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const describeInstanceAttribute: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  const inst = cloud.instances.get(params.str('InstanceId', true)!);
  const eip = eipAddress(cloud, inst);
  return {
    ...common(cloud, inst),
    IoOptimized: 'optimized', // a string here [SDK model DescribeInstanceAttributeResponseBody]
    EipAddress: {
      AllocationId: eip.AllocationId,
      IpAddress: eip.IpAddress,
      Bandwidth: 'Bandwidth' in eip ? eip.Bandwidth : 0,
      InternetChargeType: eip.InternetChargeType,
    },
    OperationLocks: { LockReason: [] },
    DedicatedHostAttribute: { DedicatedHostId: '', DedicatedHostName: '' },
    EnableJumboFrame: false,
  };
};

const describeInstanceStatus: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.list('InstanceId');
  tooMany(params, 'InstanceId', ids, 100);
  const zoneId = params.str('ZoneId');
  const matched = cloud.instances
    .all()
    .filter((i) => inFilter(i.instanceId, ids) && (!zoneId || i.zoneId === zoneId));
  const page = pageByNumber(matched, params, { defaultSize: 10, max: 50 });
  return {
    ...page.body,
    InstanceStatuses: {
      InstanceStatus: page.items.map((i) => ({ InstanceId: i.instanceId, Status: i.status })),
    },
  };
};

const describeInstanceTypes: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  const wanted = params.list('InstanceTypes');
  const family = params.str('InstanceTypeFamily');
  const minEni = params.int('MinimumEniQuantity');
  const matched = [...cloud.region.instanceTypes.values()].filter(
    (t) =>
      inFilter(t.instanceTypeId, wanted) &&
      (!family || t.instanceTypeFamily === family) &&
      (minEni === undefined || t.eniQuantity >= minEni),
  );
  const page = pageByToken(matched, params, { defaultSize: 1600, max: 1600 });
  return {
    NextToken: page.body.NextToken,
    InstanceTypes: {
      InstanceType: page.items.map((t) => ({
        InstanceTypeId: t.instanceTypeId,
        InstanceTypeFamily: t.instanceTypeFamily,
        InstanceCategory: 'General-purpose',
        InstanceFamilyLevel: 'EnterpriseLevel',
        CpuArchitecture: 'X86',
        CpuCoreCount: t.cpuCoreCount,
        MemorySize: t.memorySize,
        EniQuantity: t.eniQuantity,
        EniTotalQuantity: t.eniQuantity,
        EniPrivateIpAddressQuantity: t.eniPrivateIpAddressQuantity,
        EniIpv6AddressQuantity: t.eniPrivateIpAddressQuantity,
        EniTrunkSupported: t.eniQuantity > 1,
        NetworkCardQuantity: 1,
        NetworkCards: { NetworkCardInfo: [{ NetworkCardIndex: 0 }] },
        GPUAmount: 0,
        GPUSpec: '',
        LocalStorageCategory: '',
        PrimaryEniQueueNumber: t.cpuCoreCount,
        SecondaryEniQueueNumber: t.cpuCoreCount,
        SupportedBootModes: { SupportedBootMode: ['BIOS', 'UEFI'] },
      })),
    },
  };
};

const convertNatPublicIpToEip: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  cloud.instances.convertNatPublicIpToEip(params.str('InstanceId', true)!);
  return {};
};

const modifyInstanceChargeType: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  params.str('InstanceIds', true);
  const instanceIds = params.jsonList('InstanceIds');
  const input = {
    instanceIds,
    instanceChargeType: params.str('InstanceChargeType') ?? 'PrePaid',
    period: params.int('Period', 1)!,
    periodUnit: params.str('PeriodUnit') ?? 'Month',
    autoPay: params.bool('AutoPay', true)!,
    dryRun: params.bool('DryRun', false)!,
  };
  return idempotent(cloud, 'ModifyInstanceChargeType', params, () => {
    const result = cloud.instances.modifyInstanceChargeType(input);
    return {
      OrderId: result.orderId,
      FeeOfInstances: {
        FeeOfInstance: result.fees.map((f) => ({
          InstanceId: f.instanceId,
          Fee: f.fee,
          Currency: f.currency,
        })),
      },
    };
  });
};

/** ModifyInstanceNetworkSpec: the bandwidth's billing (NetworkChargeType); other fields of the request are ignored. */
const modifyInstanceNetworkSpec: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params, false); // the request model has no RegionId [SDK]
  const instanceId = params.str('InstanceId', true)!;
  const networkChargeType = params.str('NetworkChargeType');
  return idempotent(cloud, 'ModifyInstanceNetworkSpec', params, () => {
    cloud.instances.modifyInstanceNetworkSpec({ instanceId, networkChargeType });
    return { OrderId: cloud.region.ids.orderId() };
  });
};

export const ECS_INSTANCE_ACTIONS: Record<string, ActionHandler> = {
  DescribeInstances: describeInstances,
  DescribeInstanceAttribute: describeInstanceAttribute,
  DescribeInstanceStatus: describeInstanceStatus,
  DescribeInstanceTypes: describeInstanceTypes,
  ConvertNatPublicIpToEip: convertNatPublicIpToEip,
  ModifyInstanceChargeType: modifyInstanceChargeType,
  ModifyInstanceNetworkSpec: modifyInstanceNetworkSpec,
};
