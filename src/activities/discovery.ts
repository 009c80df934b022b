import { ApplicationFailure } from '@temporalio/common';
import { minimatch } from 'minimatch';
import type { EcsApi, Instance, NetworkInterface } from '../cloud/ecs';
import type { VpcApi } from '../cloud/vpc';
import type { DiscoverFleetInput, DiscoverFleetResult, DiscoveredInstance } from './types';

/**
 * A batch's first step, read-only: the VPC's instances the selection takes, each with what a migration would find
 * (a NAT public IP or an EIP to move, an EIP already on a secondary ENI, or nothing), and the VPC's shared data
 * (vSwitches, NAT gateways, SNAT entries), read once for every migration of the batch.
 */
export async function discoverFleet(
  deps: { ecs: EcsApi; vpc: VpcApi },
  input: DiscoverFleetInput,
): Promise<DiscoverFleetResult> {
  const { ecs, vpc } = deps;
  if (input.regionId !== ecs.regionId) {
    throw ApplicationFailure.nonRetryable(
      `this worker serves region ${ecs.regionId}, the batch asks for ${input.regionId}: start it on a worker (task queue) of ${input.regionId}`,
      'WrongRegion',
    );
  }
  const select = input.select ?? {};
  const [listed, enis, vpcShared] = await Promise.all([
    ecs.listInstances({
      vpcId: input.vpcId,
      zoneId: select.zoneId,
      vSwitchId: select.vSwitchId,
      tags: select.tags,
    }),
    ecs.listVpcNetworkInterfaces(input.vpcId),
    vpc.describeVpcShared(input.vpcId),
  ]);
  const named = select.namePattern
    ? listed.filter((i) => minimatch(i.instanceName ?? '', select.namePattern as string))
    : listed;
  const byId = new Map(named.map((i) => [i.instanceId, i]));
  const instances: DiscoveredInstance[] = [];
  if (select.instanceIds) {
    for (const instanceId of select.instanceIds) {
      const found = byId.get(instanceId);
      instances.push(
        found
          ? classify(found, enis)
          : {
              instanceId,
              found: 'not-in-selection',
              detail: `${instanceId} is not an instance of ${input.vpcId} in region ${input.regionId} matching the batch's filters: check the id and the VPC`,
            },
      );
    }
  } else {
    for (const i of named) instances.push(classify(i, enis));
  }
  // A stable order (by name, then id): the canary is the first, and a rerun takes them in the same order.
  instances.sort(
    (a, b) =>
      (a.instanceName ?? '').localeCompare(b.instanceName ?? '') || a.instanceId.localeCompare(b.instanceId),
  );
  return { instances, vpcShared };
}

function classify(i: Instance, enis: NetworkInterface[]): DiscoveredInstance {
  const base = {
    instanceId: i.instanceId,
    instanceName: i.instanceName,
    zoneId: i.zoneId,
    vSwitchId: i.vSwitchId,
  };
  if (i.eip) return { ...base, found: 'eip', publicIp: i.eip.ipAddress, detail: `EIP ${i.eip.ipAddress}` };
  if (i.publicIp)
    return { ...base, found: 'nat-public-ip', publicIp: i.publicIp, detail: `NAT public IP ${i.publicIp}` };
  const moved = enis.find(
    (e) => e.instanceId === i.instanceId && e.type === 'Secondary' && e.associatedPublicIp,
  );
  if (moved?.associatedPublicIp) {
    return {
      ...base,
      found: 'already-migrated',
      publicIp: moved.associatedPublicIp.publicIpAddress,
      networkInterfaceId: moved.networkInterfaceId,
      detail: `EIP ${moved.associatedPublicIp.publicIpAddress} is on ENI ${moved.networkInterfaceId} already`,
    };
  }
  return { ...base, found: 'no-public-address', detail: 'no NAT public IP, no EIP: nothing to move' };
}
