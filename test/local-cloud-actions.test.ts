/**
 * Every action of the local cloud through the unmodified ECS and VPC SDK clients over HTTP: success bodies decode
 * into the SDK models (a type mismatch would throw), documented preconditions come back as the SDK's ClientError
 * with the documented code and HTTP status, transitions are observed by polling, ClientToken makes retries safe.
 * Runs with FAST_TIMINGS (tens of milliseconds per transition) and without SSH.
 */
import * as $Ecs from '@alicloud/ecs20140526';
import { ClientError } from '@alicloud/openapi-core';
import * as $Vpc from '@alicloud/vpc20160428';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';

let t: TestCloud;
const REGION = 'cn-hangzhou';

before(async () => {
  t = await startTestCloud({ instances: 4 });
});
after(async () => {
  await t?.cloud.stop();
});

/** Polls until `get` returns `want` (as a real client must: every transition is asynchronous). */
async function until<T>(get: () => Promise<T>, want: T, timeoutMs = 3000): Promise<number> {
  const start = Date.now();
  let polls = 0;
  for (;;) {
    polls++;
    const got = await get();
    if (got === want) return polls;
    if (Date.now() - start > timeoutMs)
      assert.fail(`still ${String(got)} after ${timeoutMs} ms, wanted ${String(want)}`);
    await sleep(20);
  }
}

async function rejects(p: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.statusCode, status);
    return true;
  });
}

async function instances() {
  const res = await t.ecs.describeInstances(
    new $Ecs.DescribeInstancesRequest({ regionId: REGION, pageSize: 100 }),
  );
  return res.body!.instances!.instance!;
}

const eniStatus = async (id: string) =>
  (
    await t.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, networkInterfaceId: [id] }),
    )
  ).body!.networkInterfaceSets!.networkInterfaceSet![0]?.status ?? 'gone';

const eip = async (allocationId: string) =>
  (await t.vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId: REGION, allocationId })))
    .body!.eipAddresses!.eipAddress![0];

describe('read actions decode into the SDK models', () => {
  it('ECS: instances, attribute, status, types, security groups, paging', async () => {
    const all = await instances();
    assert.equal(all.length, 4);
    const first = all[0];
    assert.equal(first.ioOptimized, true);
    assert.match(first.publicIpAddress!.ipAddress![0], /^203\.0\.113\./);
    assert.equal(first.networkInterfaces!.networkInterface![0].type, 'Primary');
    assert.deepEqual(
      first.tags!.tag![0],
      new $Ecs.DescribeInstancesResponseBodyInstancesInstanceTagsTag({ tagKey: 'app', tagValue: 'web' }),
    );

    const page = await t.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: REGION,
        maxResults: 10,
        instanceIds: JSON.stringify(all.map((i) => i.instanceId)),
      }),
    );
    assert.equal(page.body!.totalCount, 4);
    const byTag = await t.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: REGION,
        tag: [new $Ecs.DescribeInstancesRequestTag({ key: 'app', value: 'web' })],
        zoneId: first.zoneId,
      }),
    );
    assert.equal(byTag.body!.totalCount, 2);

    const attr = await t.ecs.describeInstanceAttribute(
      new $Ecs.DescribeInstanceAttributeRequest({ instanceId: first.instanceId }),
    );
    assert.equal(attr.body!.ioOptimized, 'optimized');
    const status = await t.ecs.describeInstanceStatus(
      new $Ecs.DescribeInstanceStatusRequest({ regionId: REGION, instanceId: [first.instanceId!] }),
    );
    assert.equal(status.body!.instanceStatuses!.instanceStatus![0].status, 'Running');
    const types = await t.ecs.describeInstanceTypes(
      new $Ecs.DescribeInstanceTypesRequest({ instanceTypes: [first.instanceType!] }),
    );
    assert.equal(types.body!.instanceTypes!.instanceType![0].eniQuantity, 3);
    const sgs = await t.ecs.describeSecurityGroups(
      new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, vpcId: first.vpcAttributes!.vpcId }),
    );
    assert.equal(sgs.body!.securityGroups!.securityGroup!.length, 1);
    await rejects(
      t.ecs.describeInstanceAttribute(
        new $Ecs.DescribeInstanceAttributeRequest({ instanceId: 'i-bp1nosuch0000000000' }),
      ),
      'InvalidInstanceId.NotFound',
      404,
    );
    await rejects(
      t.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION, dryRun: true })),
      'DryRunOperation',
      400,
    );
  });

  it('VPC: VPCs, vSwitches, NAT gateways, SNAT entries, EIPs', async () => {
    const vpcs = await t.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: REGION }));
    const v = vpcs.body!.vpcs!.vpc![0];
    assert.equal(typeof v.ownerId, 'number');
    assert.equal(v.natGatewayIds!.natGatewayIds!.length, 1);
    const vsws = await t.vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ vpcId: v.vpcId }));
    assert.equal(vsws.body!.vSwitches!.vSwitch!.length, 2);
    const ngws = await t.vpc.describeNatGateways(
      new $Vpc.DescribeNatGatewaysRequest({ regionId: REGION, vpcId: v.vpcId }),
    );
    const ngw = ngws.body!.natGateways!.natGateway![0];
    assert.equal(ngw.natType, 'Enhanced');
    const snat = await t.vpc.describeSnatTableEntries(
      new $Vpc.DescribeSnatTableEntriesRequest({
        regionId: REGION,
        snatTableId: ngw.snatTableIds!.snatTableId![0],
      }),
    );
    assert.deepEqual(
      snat.body!.snatTableEntries!.snatTableEntry!.map((e) => e.sourceVSwitchId).sort(),
      vsws.body!.vSwitches!.vSwitch!.map((s) => s.vSwitchId).sort(),
    );
    const eips = await t.vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId: REGION, associatedInstanceType: 'Nat' }),
    );
    assert.equal(eips.body!.eipAddresses!.eipAddress![0].bandwidth, '100');
    await rejects(
      t.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: REGION, dryRun: true })),
      'DryRunOperation',
      400,
    );
  });
});

describe('the runbook through the SDK', () => {
  it('converts, creates and attaches an ENI, moves the EIP onto it, and rolls it back', async () => {
    const inst = (await instances())[0];
    const instanceId = inst.instanceId!;
    const ip = inst.publicIpAddress!.ipAddress![0];
    assert.equal(t.cloud.model.routePublicAddress(ip)?.via, 'nat-public-ip');

    await t.ecs.convertNatPublicIpToEip(
      new $Ecs.ConvertNatPublicIpToEipRequest({ regionId: REGION, instanceId }),
    );
    const converted = (
      await t.ecs.describeInstanceAttribute(new $Ecs.DescribeInstanceAttributeRequest({ instanceId }))
    ).body!;
    assert.deepEqual(converted.publicIpAddress!.ipAddress, []);
    assert.equal(converted.eipAddress!.ipAddress, ip);
    const allocationId = converted.eipAddress!.allocationId!;
    await until(async () => (await eip(allocationId))?.status, 'InUse');

    const createEni = () =>
      t.ecs.createNetworkInterface(
        new $Ecs.CreateNetworkInterfaceRequest({
          regionId: REGION,
          vSwitchId: inst.vpcAttributes!.vSwitchId,
          securityGroupId: inst.securityGroupIds!.securityGroupId![0],
          networkInterfaceName: 'eni-migration',
          clientToken: 'create-1',
        }),
      );
    const created = await createEni();
    const eniId = created.body!.networkInterfaceId!;
    assert.equal(created.body!.status, 'Available');
    const again = await createEni();
    assert.equal(again.body!.networkInterfaceId, eniId, 'same ClientToken, same ENI');

    await t.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId, instanceId }),
    );
    assert.equal(await eniStatus(eniId), 'Attaching');
    assert.ok((await until(() => eniStatus(eniId), 'InUse')) > 1, 'attach takes time');
    const attr = await t.ecs.describeNetworkInterfaceAttribute(
      new $Ecs.DescribeNetworkInterfaceAttributeRequest({ regionId: REGION, networkInterfaceId: eniId }),
    );
    assert.equal(attr.body!.attachment!.instanceId, instanceId);

    await t.vpc.unassociateEipAddress(
      new $Vpc.UnassociateEipAddressRequest({ regionId: REGION, allocationId, instanceId }),
    );
    await rejects(
      t.vpc.associateEipAddress(
        new $Vpc.AssociateEipAddressRequest({
          regionId: REGION,
          allocationId,
          instanceId: eniId,
          instanceType: 'NetworkInterface',
        }),
      ),
      'IncorrectEipStatus',
      400,
    );
    await until(async () => (await eip(allocationId)).status, 'Available');
    await t.vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({
        regionId: REGION,
        allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        mode: 'NAT',
      }),
    );
    await until(async () => (await eip(allocationId)).status, 'InUse');
    const moved = await eip(allocationId);
    assert.deepEqual([moved.instanceType, moved.instanceId, moved.mode], ['NetworkInterface', eniId, 'NAT']);
    assert.equal(t.cloud.model.routePublicAddress(ip)?.via, 'eip-secondary-eni');
    assert.equal(t.cloud.model.egressAddress(instanceId), '47.96.180.23');

    // Roll back: EIP to the instance, ENI detached and deleted.
    await t.vpc.unassociateEipAddress(
      new $Vpc.UnassociateEipAddressRequest({
        regionId: REGION,
        allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
      }),
    );
    await until(async () => (await eip(allocationId)).status, 'Available');
    await t.vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({ regionId: REGION, allocationId, instanceId }),
    );
    await until(async () => (await eip(allocationId)).status, 'InUse');
    await t.ecs.detachNetworkInterface(
      new $Ecs.DetachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId, instanceId }),
    );
    await until(() => eniStatus(eniId), 'Available');
    await t.ecs.deleteNetworkInterface(
      new $Ecs.DeleteNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId }),
    );
    await until(() => eniStatus(eniId), 'gone');
    await rejects(
      t.ecs.describeNetworkInterfaceAttribute(
        new $Ecs.DescribeNetworkInterfaceAttributeRequest({ regionId: REGION, networkInterfaceId: eniId }),
      ),
      'InvalidEniId.NotFound',
      404,
    );
    assert.equal(t.cloud.model.routePublicAddress(ip)?.via, 'eip-primary');
  });

  it('answers preconditions with the documented code and status', async () => {
    const [a, b] = await instances();
    const primary = a.networkInterfaces!.networkInterface![0].networkInterfaceId!;
    await rejects(
      t.ecs.detachNetworkInterface(
        new $Ecs.DetachNetworkInterfaceRequest({
          regionId: REGION,
          networkInterfaceId: primary,
          instanceId: a.instanceId,
        }),
      ),
      'InvalidOperation.DetachPrimaryEniNotAllowed',
      400,
    );
    const inZoneB = await t.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId: REGION,
        vSwitchId: b.vpcAttributes!.vSwitchId,
        securityGroupId: b.securityGroupIds!.securityGroupId![0],
      }),
    );
    await rejects(
      t.ecs.attachNetworkInterface(
        new $Ecs.AttachNetworkInterfaceRequest({
          regionId: REGION,
          networkInterfaceId: inZoneB.body!.networkInterfaceId,
          instanceId: a.instanceId,
        }),
      ),
      'InvalidOperation.AvailabilityZoneMismatch',
      403,
    );
    await rejects(
      t.ecs.createNetworkInterface(
        new $Ecs.CreateNetworkInterfaceRequest({
          regionId: REGION,
          vSwitchId: a.vpcAttributes!.vSwitchId,
          securityGroupId: a.securityGroupIds!.securityGroupId![0],
          primaryIpAddress: a.vpcAttributes!.privateIpAddress!.ipAddress![0],
        }),
      ),
      'InvalidPrivateIpAddress.Duplicated',
      400,
    );
    await rejects(
      t.ecs.createNetworkInterface(
        new $Ecs.CreateNetworkInterfaceRequest({
          regionId: REGION,
          vSwitchId: 'vsw-bp1nosuch00000000001',
          securityGroupId: a.securityGroupIds!.securityGroupId![0],
        }),
      ),
      'InvalidVSwitchId.NotFound',
      404,
    );
    await rejects(
      t.vpc.associateEipAddress(
        new $Vpc.AssociateEipAddressRequest({
          regionId: REGION,
          allocationId: 'eip-bp1nosuch00000000001',
          instanceId: a.instanceId,
        }),
      ),
      'InvalidAllocationId.NotFound',
      404,
    );
    await rejects(
      t.ecs.modifyInstanceChargeType(
        new $Ecs.ModifyInstanceChargeTypeRequest({
          regionId: REGION,
          instanceIds: JSON.stringify([b.instanceId]),
          dryRun: true,
        }),
      ),
      'DryRunOperation',
      400,
    );
    const order = await t.ecs.modifyInstanceChargeType(
      new $Ecs.ModifyInstanceChargeTypeRequest({
        regionId: REGION,
        instanceIds: JSON.stringify([b.instanceId]),
        instanceChargeType: 'PrePaid',
        period: 1,
        periodUnit: 'Month',
      }),
    );
    assert.match(order.body!.orderId!, /^\d+$/);
    assert.deepEqual(order.body!.feeOfInstances!.feeOfInstance, []);
    await rejects(
      t.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({ regionId: REGION, instanceId: 'i-bp1nosuch0000000000' }),
      ),
      'InvalidInstanceId.NotFound',
      404,
    );
  });

  it('admin behaviours reach the model: a stuck detach holds until it is re-issued', async () => {
    const c = (await instances())[2];
    const created = await t.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId: REGION,
        vSwitchId: c.vpcAttributes!.vSwitchId,
        securityGroupId: c.securityGroupIds!.securityGroupId![0],
      }),
    );
    const eniId = created.body!.networkInterfaceId!;
    const req = { regionId: REGION, networkInterfaceId: eniId, instanceId: c.instanceId };
    await t.ecs.attachNetworkInterface(new $Ecs.AttachNetworkInterfaceRequest(req));
    await until(() => eniStatus(eniId), 'InUse');
    await t.admin.behaviours({ stuckDetaches: 1 });
    await t.ecs.detachNetworkInterface(new $Ecs.DetachNetworkInterfaceRequest(req));
    await sleep(300);
    assert.equal(await eniStatus(eniId), 'Detaching');
    await t.ecs.detachNetworkInterface(new $Ecs.DetachNetworkInterfaceRequest(req));
    await until(() => eniStatus(eniId), 'Available');
  });
});

describe('ClientToken as the real API keeps it', () => {
  after(() => t.admin.behaviours({ clientTokenAfterFailure: 'replay', clientTokenProcessingMs: 0 }));

  const enis = async () =>
    (
      await t.ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, pageSize: 100 }),
      )
    ).body!.networkInterfaceSets!.networkInterfaceSet!.length;
  const createEni = async (clientToken: string) => {
    const inst = (await instances())[0];
    return t.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId: REGION,
        vSwitchId: inst.vpcAttributes!.vSwitchId,
        securityGroupId: inst.securityGroupIds!.securityGroupId![0],
        clientToken,
      }),
    );
  };

  it('answers a repeat of a failed call with the same failure (strict, the default), and a new token runs', async () => {
    const before = await enis();
    await t.admin.fault({ action: 'CreateNetworkInterface', code: 'OperationConflict', count: 1 });
    await rejects(createEni('failed-once'), 'OperationConflict', 409);
    // The fault is spent: only the token's memory can answer this.
    await rejects(createEni('failed-once'), 'OperationConflict', 409);
    assert.equal(await enis(), before, 'no ENI made by a replayed failure');
    const created = await createEni('failed-once-2');
    assert.equal(created.body!.status, 'Available');
    assert.equal(await enis(), before + 1);
  });

  it('replays a failure of the action itself too, not only an injected one', async () => {
    const request = (clientToken: string) =>
      t.vpc.unassociateEipAddress(
        new $Vpc.UnassociateEipAddressRequest({ regionId: REGION, allocationId: 'eip-missing', clientToken }),
      );
    await assert.rejects(request('unassoc-1'), (e: ClientError) => e.code === 'InvalidAllocationId.NotFound');
    await assert.rejects(request('unassoc-1'), (e: ClientError) => e.code === 'InvalidAllocationId.NotFound');
    assert.deepEqual(
      (await t.admin.calls({ action: 'UnassociateEipAddress' })).slice(-2).map((c) => c.code),
      ['InvalidAllocationId.NotFound', 'InvalidAllocationId.NotFound'],
    );
  });

  it('remembers no throttled or 5xx answer: the same token runs again, as the docs tell clients to retry', async () => {
    const before = await enis();
    await t.admin.fault({ action: 'CreateNetworkInterface', code: 'InternalError', count: 1 });
    await assert.rejects(createEni('server-error'), (e: ClientError) => e.code === 'InternalError');
    await t.admin.fault({ action: 'CreateNetworkInterface', code: 'Throttling', count: 1 });
    await assert.rejects(createEni('server-error'), (e: ClientError) => e.code === 'Throttling');
    const first = await createEni('server-error');
    assert.equal((await createEni('server-error')).body!.networkInterfaceId, first.body!.networkInterfaceId);
    assert.equal(await enis(), before + 1);
  });

  it('answers IdempotentFailed, or runs the call again, when configured so', async () => {
    await t.admin.behaviours({ clientTokenAfterFailure: 'idempotent-failed' });
    await t.admin.fault({ action: 'CreateNetworkInterface', code: 'Operation.Conflict', count: 1 });
    await rejects(createEni('idem-failed'), 'Operation.Conflict', 403);
    await rejects(createEni('idem-failed'), 'IdempotentFailed', 400);

    await t.admin.behaviours({ clientTokenAfterFailure: 'run-again' });
    await t.admin.fault({ action: 'CreateNetworkInterface', code: 'Operation.Conflict', count: 1 });
    await rejects(createEni('run-again'), 'Operation.Conflict', 403);
    assert.equal((await createEni('run-again')).body!.status, 'Available');
    const state = (await t.admin.request('GET', 'behaviours')) as { clientTokenAfterFailure: string };
    assert.equal(state.clientTokenAfterFailure, 'run-again');
    await assert.rejects(
      t.admin.behaviours({ clientTokenAfterFailure: 'forget' as never }),
      /400 .*clientTokenAfterFailure/,
    );
    await t.admin.behaviours({ clientTokenAfterFailure: 'replay' });
  });

  it('answers a token still being processed with IdempotentProcessing (ECS) or LastTokenProcessing (VPC), 403', async () => {
    await t.admin.behaviours({ clientTokenProcessingMs: 300 });
    const first = await createEni('processing');
    await rejects(createEni('processing'), 'IdempotentProcessing', 403);
    const associate = () =>
      t.vpc.associateEipAddress(
        new $Vpc.AssociateEipAddressRequest({
          regionId: REGION,
          allocationId: 'eip-missing',
          instanceId: 'i-missing',
          clientToken: 'vpc-processing',
        }),
      );
    await assert.rejects(associate(), (e: ClientError) => e.code !== 'LastTokenProcessing');
    await rejects(associate(), 'LastTokenProcessing', 403);
    await sleep(320);
    assert.equal((await createEni('processing')).body!.networkInterfaceId, first.body!.networkInterfaceId);
    await t.admin.behaviours({ clientTokenProcessingMs: 0 });
  });
});
