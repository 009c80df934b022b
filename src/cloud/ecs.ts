import Ecs, * as $Ecs from '@alicloud/ecs20140526';
import { callApi } from './call';
import { cloudAssistantCalls, type CloudAssistantCalls } from './cloud-assistant';
import { CloudApiError, isNotFound } from './errors';

/** An ECS instance, reduced to what the migration reads. */
export interface Instance {
  instanceId: string;
  instanceName?: string;
  /** The image's OS as DescribeInstances names it (e.g. `Ubuntu  22.04 64位`): picks the guest set-up script. */
  osName?: string;
  /** linux | windows */
  osType?: string;
  /** Pending | Starting | Running | Stopping | Stopped */
  status: string;
  instanceType: string;
  zoneId: string;
  /** `vpc` or `classic`. */
  networkType: string;
  vpcId?: string;
  vSwitchId?: string;
  privateIp?: string;
  /** The static ("NAT") public IP, if any. */
  publicIp?: string;
  /** The EIP bound to the instance (its primary ENI), if any. */
  eip?: { allocationId: string; ipAddress: string };
  /** PrePaid (subscription) | PostPaid (pay-as-you-go) */
  chargeType: string;
  /** PayByTraffic | PayByBandwidth */
  internetChargeType?: string;
  internetMaxBandwidthOut: number;
  expiredTime?: string;
  /** When it was last started (a reboot counts): attach needs one since 2018-04-01. */
  startTime?: string;
  securityGroupIds: string[];
  networkInterfaces: Array<{ networkInterfaceId: string; type: string; primaryIpAddress?: string }>;
  operationLocks: string[];
  tags: Record<string, string>;
}

/** What CreateNetworkInterface answers: the new ENI's id and, as the API documents, its status and primary IP. */
export interface CreatedNetworkInterface {
  networkInterfaceId: string;
  status?: string;
  privateIpAddress?: string;
}

/** An elastic network interface. */
export interface NetworkInterface {
  networkInterfaceId: string;
  /** Available | Attaching | InUse | Detaching | Deleting */
  status: string;
  /** Primary | Secondary */
  type: string;
  /** The instance it is attached to, if any. */
  instanceId?: string;
  vpcId?: string;
  vSwitchId?: string;
  zoneId?: string;
  privateIpAddress?: string;
  /** Its NIC's index in the instance while attached (0 is the primary: eth0; the first secondary is eth1). */
  deviceIndex?: number;
  /** The EIP bound (NAT mode) to its primary private IP, if any. */
  associatedPublicIp?: { publicIpAddress: string; allocationId: string };
  tags: Record<string, string>;
}

export interface SecurityGroup {
  securityGroupId: string;
  vpcId?: string;
  name?: string;
}

export interface CreateNetworkInterfaceRequest {
  vSwitchId: string;
  /** Every group the ENI joins (SecurityGroupIds.N): after the move they filter the traffic to the EIP. */
  securityGroupIds: string[];
  primaryIpAddress?: string;
  name: string;
  description: string;
  tags: Record<string, string>;
  /** ≤64 ASCII; the same token with the same parameters returns the ENI created the first time. */
  clientToken: string;
}

/** The ECS calls the migration makes, in the domain's words. One method, one API request (counted). */
export interface EcsApi extends CloudAssistantCalls {
  readonly regionId: string;
  describeInstance(instanceId: string): Promise<Instance | undefined>;
  /** Every instance of a VPC matching the filters (all pages, through NextToken). */
  listInstances(filter: {
    vpcId: string;
    zoneId?: string;
    vSwitchId?: string;
    tags?: Record<string, string>;
  }): Promise<Instance[]>;
  /** Every ENI of a VPC (all pages, through NextToken): which instances already carry their EIP on an ENI. */
  listVpcNetworkInterfaces(vpcId: string): Promise<NetworkInterface[]>;
  /** How many ENIs (primary included) the instance type supports: DescribeInstanceTypes EniQuantity. */
  instanceTypeEniQuantity(instanceType: string): Promise<number | undefined>;
  describeSecurityGroup(securityGroupId: string): Promise<SecurityGroup | undefined>;
  convertNatPublicIpToEip(instanceId: string): Promise<void>;
  modifyInstanceChargeType(instanceId: string, chargeType: 'PostPaid', clientToken: string): Promise<void>;
  /** ModifyInstanceNetworkSpec NetworkChargeType only: the public bandwidth billed by traffic, nothing else changed. */
  modifyInstanceNetworkChargeType(
    instanceId: string,
    networkChargeType: 'PayByTraffic',
    clientToken: string,
  ): Promise<void>;
  createNetworkInterface(request: CreateNetworkInterfaceRequest): Promise<CreatedNetworkInterface>;
  describeNetworkInterface(networkInterfaceId: string): Promise<NetworkInterface | undefined>;
  /** ENIs matching every given filter (all pages, through NextToken). */
  listNetworkInterfaces(filter: {
    instanceId?: string;
    tags?: Record<string, string>;
  }): Promise<NetworkInterface[]>;
  attachNetworkInterface(networkInterfaceId: string, instanceId: string): Promise<void>;
  detachNetworkInterface(networkInterfaceId: string, instanceId: string): Promise<void>;
  deleteNetworkInterface(networkInterfaceId: string): Promise<void>;
}

export function createEcsApi(client: Ecs, regionId: string): EcsApi {
  return {
    regionId,
    ...cloudAssistantCalls(client, regionId),

    async describeInstance(instanceId) {
      const res = await callApi('DescribeInstances', () =>
        client.describeInstances(
          new $Ecs.DescribeInstancesRequest({
            regionId,
            instanceIds: JSON.stringify([instanceId]),
            pageSize: 10,
          }),
        ),
      );
      const found = res.body?.instances?.instance?.find((i) => i.instanceId === instanceId);
      return found ? toInstance(found) : undefined;
    },

    async listInstances(filter) {
      const all: Instance[] = [];
      let nextToken: string | undefined;
      do {
        const res = await callApi('DescribeInstances', () =>
          client.describeInstances(
            new $Ecs.DescribeInstancesRequest({
              regionId,
              vpcId: filter.vpcId,
              zoneId: filter.zoneId,
              vSwitchId: filter.vSwitchId,
              tag: filter.tags
                ? Object.entries(filter.tags).map(
                    ([key, value]) => new $Ecs.DescribeInstancesRequestTag({ key, value }),
                  )
                : undefined,
              maxResults: 100,
              nextToken,
            }),
          ),
        );
        all.push(...(res.body?.instances?.instance ?? []).map(toInstance));
        // TotalCount means nothing with NextToken (the SDK's docs): the token alone says whether more pages follow.
        nextToken = res.body?.nextToken || undefined;
      } while (nextToken);
      // Filter again on our side, as for ENIs: a batch must never take an instance of another VPC.
      return all.filter(
        (i) =>
          i.vpcId === filter.vpcId &&
          (!filter.zoneId || i.zoneId === filter.zoneId) &&
          (!filter.vSwitchId || i.vSwitchId === filter.vSwitchId) &&
          Object.entries(filter.tags ?? {}).every(([k, v]) => i.tags[k] === v),
      );
    },

    async listVpcNetworkInterfaces(vpcId) {
      const all: NetworkInterface[] = [];
      let nextToken: string | undefined;
      do {
        const res = await callApi('DescribeNetworkInterfaces', () =>
          client.describeNetworkInterfaces(
            new $Ecs.DescribeNetworkInterfacesRequest({ regionId, vpcId, maxResults: 500, nextToken }),
          ),
        );
        all.push(...(res.body?.networkInterfaceSets?.networkInterfaceSet ?? []).map(toNetworkInterface));
        nextToken = res.body?.nextToken || undefined;
      } while (nextToken);
      return all.filter((n) => n.vpcId === vpcId);
    },

    async instanceTypeEniQuantity(instanceType) {
      const res = await callApi('DescribeInstanceTypes', () =>
        client.describeInstanceTypes(
          new $Ecs.DescribeInstanceTypesRequest({ instanceTypes: [instanceType] }),
        ),
      );
      const t = res.body?.instanceTypes?.instanceType?.find((x) => x.instanceTypeId === instanceType);
      return t?.eniQuantity;
    },

    async describeSecurityGroup(securityGroupId) {
      const res = await callApi('DescribeSecurityGroups', () =>
        client.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId, securityGroupId })),
      );
      const g = res.body?.securityGroups?.securityGroup?.find((x) => x.securityGroupId === securityGroupId);
      return g ? { securityGroupId, vpcId: g.vpcId || undefined, name: g.securityGroupName } : undefined;
    },

    async convertNatPublicIpToEip(instanceId) {
      await callApi('ConvertNatPublicIpToEip', () =>
        client.convertNatPublicIpToEip(new $Ecs.ConvertNatPublicIpToEipRequest({ regionId, instanceId })),
      );
    },

    async modifyInstanceChargeType(instanceId, chargeType, clientToken) {
      await callApi('ModifyInstanceChargeType', () =>
        client.modifyInstanceChargeType(
          new $Ecs.ModifyInstanceChargeTypeRequest({
            regionId,
            instanceIds: JSON.stringify([instanceId]),
            instanceChargeType: chargeType,
            autoPay: true,
            clientToken,
          }),
        ),
      );
    },

    async modifyInstanceNetworkChargeType(instanceId, networkChargeType, clientToken) {
      await callApi('ModifyInstanceNetworkSpec', () =>
        client.modifyInstanceNetworkSpec(
          new $Ecs.ModifyInstanceNetworkSpecRequest({
            instanceId,
            networkChargeType,
            autoPay: true,
            clientToken,
          }),
        ),
      );
    },

    async createNetworkInterface(r) {
      const res = await callApi('CreateNetworkInterface', () =>
        client.createNetworkInterface(
          new $Ecs.CreateNetworkInterfaceRequest({
            regionId,
            vSwitchId: r.vSwitchId,
            // One group goes as SecurityGroupId, as before: a create re-sent with its ClientToken must send the same
            // parameters, or the cloud answers IdempotentParameterMismatch.
            ...(r.securityGroupIds.length === 1
              ? { securityGroupId: r.securityGroupIds[0] }
              : { securityGroupIds: r.securityGroupIds }),
            primaryIpAddress: r.primaryIpAddress,
            networkInterfaceName: r.name,
            description: r.description,
            tag: Object.entries(r.tags).map(
              ([key, value]) => new $Ecs.CreateNetworkInterfaceRequestTag({ key, value }),
            ),
            clientToken: r.clientToken,
          }),
        ),
      );
      const networkInterfaceId = res.body?.networkInterfaceId;
      if (!networkInterfaceId) {
        // Documented: no ENI was made, call again. Never a success; the error table makes it a retry.
        throw new CloudApiError(
          'NoNetworkInterfaceId',
          'CreateNetworkInterface answered without a NetworkInterfaceId: no ENI was made; it is called again',
          'CreateNetworkInterface',
          res.statusCode,
          res.body?.requestId,
        );
      }
      return {
        networkInterfaceId,
        ...(res.body?.status ? { status: res.body.status } : {}),
        ...(res.body?.privateIpAddress ? { privateIpAddress: res.body.privateIpAddress } : {}),
      };
    },

    async describeNetworkInterface(networkInterfaceId) {
      try {
        const res = await callApi('DescribeNetworkInterfaces', () =>
          client.describeNetworkInterfaces(
            new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [networkInterfaceId] }),
          ),
        );
        const found = res.body?.networkInterfaceSets?.networkInterfaceSet?.find(
          (n) => n.networkInterfaceId === networkInterfaceId,
        );
        return found ? toNetworkInterface(found) : undefined;
      } catch (err) {
        // Describe answers an empty set for an unknown id; a NotFound code means the same.
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },

    async listNetworkInterfaces(filter) {
      const all: NetworkInterface[] = [];
      let nextToken: string | undefined;
      do {
        const res = await callApi('DescribeNetworkInterfaces', () =>
          client.describeNetworkInterfaces(
            new $Ecs.DescribeNetworkInterfacesRequest({
              regionId,
              instanceId: filter.instanceId,
              tag: filter.tags
                ? Object.entries(filter.tags).map(
                    ([key, value]) => new $Ecs.DescribeNetworkInterfacesRequestTag({ key, value }),
                  )
                : undefined,
              maxResults: 500,
              nextToken,
            }),
          ),
        );
        all.push(...(res.body?.networkInterfaceSets?.networkInterfaceSet ?? []).map(toNetworkInterface));
        // TotalCount is invalid with NextToken (the API page): the token alone says whether more pages follow.
        nextToken = res.body?.nextToken || undefined;
      } while (nextToken);
      // Filter again on our side: acting on an ENI another filter-ignoring endpoint returned could delete the wrong one.
      return all.filter(
        (n) =>
          (!filter.instanceId || n.instanceId === filter.instanceId) &&
          Object.entries(filter.tags ?? {}).every(([k, v]) => n.tags[k] === v),
      );
    },

    async attachNetworkInterface(networkInterfaceId, instanceId) {
      await callApi('AttachNetworkInterface', () =>
        client.attachNetworkInterface(
          new $Ecs.AttachNetworkInterfaceRequest({ regionId, networkInterfaceId, instanceId }),
        ),
      );
    },

    async detachNetworkInterface(networkInterfaceId, instanceId) {
      await callApi('DetachNetworkInterface', () =>
        client.detachNetworkInterface(
          new $Ecs.DetachNetworkInterfaceRequest({ regionId, networkInterfaceId, instanceId }),
        ),
      );
    },

    async deleteNetworkInterface(networkInterfaceId) {
      await callApi('DeleteNetworkInterface', () =>
        client.deleteNetworkInterface(
          new $Ecs.DeleteNetworkInterfaceRequest({ regionId, networkInterfaceId }),
        ),
      );
    },
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s ? s : undefined;
}

function toInstance(i: $Ecs.DescribeInstancesResponseBodyInstancesInstance): Instance {
  const eip = i.eipAddress;
  return {
    instanceId: i.instanceId ?? '',
    instanceName: nonEmpty(i.instanceName),
    osName: nonEmpty(i.OSName),
    osType: nonEmpty(i.OSType),
    status: i.status ?? '',
    instanceType: i.instanceType ?? '',
    zoneId: i.zoneId ?? '',
    networkType: i.instanceNetworkType ?? (i.vpcAttributes?.vpcId ? 'vpc' : 'classic'),
    vpcId: nonEmpty(i.vpcAttributes?.vpcId),
    vSwitchId: nonEmpty(i.vpcAttributes?.vSwitchId),
    privateIp: nonEmpty(i.vpcAttributes?.privateIpAddress?.ipAddress?.[0]),
    publicIp: nonEmpty(i.publicIpAddress?.ipAddress?.[0]),
    eip:
      eip?.allocationId && eip.ipAddress
        ? { allocationId: eip.allocationId, ipAddress: eip.ipAddress }
        : undefined,
    chargeType: i.instanceChargeType ?? '',
    internetChargeType: nonEmpty(i.internetChargeType),
    internetMaxBandwidthOut: i.internetMaxBandwidthOut ?? 0,
    expiredTime: nonEmpty(i.expiredTime),
    startTime: nonEmpty(i.startTime),
    securityGroupIds: i.securityGroupIds?.securityGroupId ?? [],
    networkInterfaces: (i.networkInterfaces?.networkInterface ?? []).map((n) => ({
      networkInterfaceId: n.networkInterfaceId ?? '',
      type: n.type ?? '',
      primaryIpAddress: nonEmpty(n.primaryIpAddress),
    })),
    operationLocks: (i.operationLocks?.lockReason ?? []).map((l) => l.lockReason ?? '').filter(Boolean),
    tags: Object.fromEntries((i.tags?.tag ?? []).map((t) => [t.tagKey ?? '', t.tagValue ?? ''])),
  };
}

function toNetworkInterface(
  n: $Ecs.DescribeNetworkInterfacesResponseBodyNetworkInterfaceSetsNetworkInterfaceSet,
): NetworkInterface {
  const pub = n.associatedPublicIp;
  return {
    networkInterfaceId: n.networkInterfaceId ?? '',
    status: n.status ?? '',
    type: n.type ?? '',
    instanceId: nonEmpty(n.instanceId) ?? nonEmpty(n.attachment?.instanceId),
    vpcId: nonEmpty(n.vpcId),
    vSwitchId: nonEmpty(n.vSwitchId),
    zoneId: nonEmpty(n.zoneId),
    privateIpAddress: nonEmpty(n.privateIpAddress),
    deviceIndex: n.attachment?.deviceIndex,
    associatedPublicIp:
      pub?.publicIpAddress && pub.allocationId
        ? { publicIpAddress: pub.publicIpAddress, allocationId: pub.allocationId }
        : undefined,
    tags: Object.fromEntries((n.tags?.tag ?? []).map((t) => [t.tagKey ?? '', t.tagValue ?? ''])),
  };
}
