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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultTopology } from '../src/local-cloud/model';
import { AdminError, startTestCloud, type TestCloud } from './helpers/local-cloud';

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
          privateIpAddress: attr.body!.privateIpAddress,
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
        privateIpAddress: attr.body!.privateIpAddress,
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

/**
 * The real cloud's rules (issue 8): quotas, conflicts between concurrent operations, paging's TotalCount, the EIP and
 * ENI edge rules, ModifyInstanceChargeType's periods, AutoPay and economical stop mode, on a cloud of their own (a
 * topology with an ENI quota, an instance type with 2 IPs per ENI, a Stopped economical-mode, a PrePaid and a Starting
 * instance). Each rule's source is in docs/local-cloud.md.
 */
describe("the real cloud's rules", () => {
  const SPARE_EIPS = [
    { allocationId: 'eip-bp1spare0000000001', ipAddress: '47.96.1.2' },
    { allocationId: 'eip-bp1spare0000000002', ipAddress: '47.96.1.3' },
    { allocationId: 'eip-bp1spare0000000003', ipAddress: '47.96.1.4' },
  ];
  const RULES_TIMINGS = {
    attachMs: 150,
    detachMs: 150,
    deleteMs: 20,
    associateMs: 150,
    unassociateMs: 30,
    convertMs: 30,
  };
  /** Secondary ENIs the account may have in the region (topology quotas.maxEnis). */
  const MAX_ENIS = 8;

  let t: TestCloud;
  let dir: string;
  /** [0] Running g7 (3 ENIs, 6 IPs each), [1] Running with 2 IPs per ENI, [2] Stopped in economical mode,
   * [3] PrePaid, [4] Starting. */
  let ids: string[];
  let vSwitchOf: Map<string, string>;
  let securityGroupId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lc-rules-'));
    const topology = defaultTopology({ instances: 5 });
    topology.instanceTypes = [
      {
        instanceTypeId: 'ecs.n1.tiny',
        instanceTypeFamily: 'ecs.n1',
        cpuCoreCount: 1,
        memorySize: 1,
        eniQuantity: 3,
        eniPrivateIpAddressQuantity: 2,
      },
    ];
    const [, tiny, stopped, prepaid, starting] = topology.instances;
    tiny.instanceType = 'ecs.n1.tiny';
    Object.assign(stopped, { status: 'Stopped', stoppedMode: 'StopCharging' });
    Object.assign(prepaid, { instanceChargeType: 'PrePaid' });
    Object.assign(starting, { status: 'Starting' });
    topology.eips = SPARE_EIPS;
    topology.quotas = { maxEnis: MAX_ENIS };
    const topologyFile = join(dir, 'region.json');
    writeFileSync(topologyFile, JSON.stringify(topology));
    // Quicker than FAST_TIMINGS, yet attaches and associations stay under way long enough to meet a second call.
    t = await startTestCloud({ topologyFile, timings: RULES_TIMINGS });
    ids = topology.instances.map((i) => i.instanceId);
    vSwitchOf = new Map(topology.instances.map((i) => [i.instanceId, i.vSwitchId]));
    securityGroupId = topology.vpcs[0].securityGroups[0].securityGroupId;
  });
  after(async () => {
    await t?.cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function until<T>(get: () => Promise<T>, want: T, timeoutMs = 3000): Promise<void> {
    const start = Date.now();
    for (;;) {
      const got = await get();
      if (got === want) return;
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

  async function createEni(instanceId: string, extra: Partial<$Ecs.CreateNetworkInterfaceRequest> = {}) {
    const res = await t.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId: REGION,
        vSwitchId: vSwitchOf.get(instanceId),
        securityGroupId,
        ...extra,
      }),
    );
    return res.body!.networkInterfaceId!;
  }

  /** The ENI's primary private IP, which AssociateEipAddress needs for an ENI. */
  async function primaryIpOf(id: string): Promise<string> {
    const res = await t.ecs.describeNetworkInterfaceAttribute(
      new $Ecs.DescribeNetworkInterfaceAttributeRequest({ regionId: REGION, networkInterfaceId: id }),
    );
    return res.body!.privateIpAddress!;
  }

  async function eniStatus(id: string): Promise<string> {
    const res = await t.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, networkInterfaceId: [id] }),
    );
    return res.body!.networkInterfaceSets!.networkInterfaceSet![0]?.status ?? 'gone';
  }

  async function eipStatus(allocationId: string): Promise<string> {
    const res = await t.vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId: REGION, allocationId }),
    );
    return res.body!.eipAddresses!.eipAddress![0].status!;
  }

  const attach = (networkInterfaceId: string, instanceId: string) =>
    t.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId, instanceId }),
    );
  const detach = (networkInterfaceId: string, instanceId: string) =>
    t.ecs.detachNetworkInterface(
      new $Ecs.DetachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId, instanceId }),
    );
  const del = (networkInterfaceId: string) =>
    t.ecs.deleteNetworkInterface(
      new $Ecs.DeleteNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId }),
    );
  const associate = (fields: Partial<$Vpc.AssociateEipAddressRequest>) =>
    t.vpc.associateEipAddress(new $Vpc.AssociateEipAddressRequest({ regionId: REGION, ...fields }));
  const unassociate = (fields: Partial<$Vpc.UnassociateEipAddressRequest>) =>
    t.vpc.unassociateEipAddress(new $Vpc.UnassociateEipAddressRequest({ regionId: REGION, ...fields }));

  async function secondaryEniCount(): Promise<number> {
    const state = await t.admin.state();
    return (state.NetworkInterfaces as Array<{ Type: string }>).filter((e) => e.Type === 'Secondary').length;
  }

  /** Deletes every secondary ENI that is Available (tests leave the quota as they found it). */
  async function deleteAll(enis: string[]): Promise<void> {
    for (const id of enis) await del(id);
    for (const id of enis) await until(() => eniStatus(id), 'gone');
  }

  describe('quotas', () => {
    it('ENIs per region: MaxEniCountExceeded (403) past the topology quota, nothing made', async () => {
      const made: string[] = [];
      while ((await secondaryEniCount()) < MAX_ENIS) made.push(await createEni(ids[0]));
      await rejects(createEni(ids[0]), 'MaxEniCountExceeded', 403);
      assert.equal(await secondaryEniCount(), MAX_ENIS);
      await deleteAll(made);
    });

    it('private IPs per ENI at attach: InvalidOperation.Ipv4CountExceeded (403) over the instance type limit', async () => {
      const three = await createEni(ids[1], { secondaryPrivateIpAddressCount: 2 });
      await rejects(attach(three, ids[1]), 'InvalidOperation.Ipv4CountExceeded', 403);
      assert.equal(await eniStatus(three), 'Available');
      const two = await createEni(ids[1], { secondaryPrivateIpAddressCount: 1 });
      await attach(two, ids[1]);
      await until(() => eniStatus(two), 'InUse');
      await detach(two, ids[1]);
      await until(() => eniStatus(two), 'Available');
      await deleteAll([three, two]);
    });
  });

  describe('conflicts between concurrent operations', () => {
    it('ENI: a second attach or detach on an instance while one is under way is OperationConflict (409)', async () => {
      const [a, b] = [await createEni(ids[0]), await createEni(ids[0])];
      await attach(a, ids[0]);
      await rejects(attach(b, ids[0]), 'OperationConflict', 409);
      // An EIP change on an ENI being attached is refused until it settles.
      await rejects(
        associate({
          allocationId: SPARE_EIPS[0].allocationId,
          instanceId: a,
          instanceType: 'NetworkInterface',
          privateIpAddress: await primaryIpOf(a),
        }),
        'InvalidStatus.EniStatusNotSupport',
        400,
      );
      await until(() => eniStatus(a), 'InUse');
      await attach(b, ids[0]);
      await until(() => eniStatus(b), 'InUse');
      await detach(a, ids[0]);
      await rejects(detach(b, ids[0]), 'OperationConflict', 409);
      await until(() => eniStatus(a), 'Available');
      await detach(b, ids[0]);
      await until(() => eniStatus(b), 'Available');
      await deleteAll([a, b]);
    });

    it('EIP: a second change on the same target while one is under way is TaskConflict; a Starting instance is InvalidStatus.EcsStatusNotSupport', async () => {
      const eni = await createEni(ids[0], { secondaryPrivateIpAddressCount: 1 });
      const attr = await t.ecs.describeNetworkInterfaceAttribute(
        new $Ecs.DescribeNetworkInterfaceAttributeRequest({ regionId: REGION, networkInterfaceId: eni }),
      );
      const [first, second] = attr.body!.privateIpSets!.privateIpSet!.map((p) => p.privateIpAddress!);
      const bind = (i: number, privateIpAddress: string) =>
        associate({
          allocationId: SPARE_EIPS[i].allocationId,
          instanceId: eni,
          instanceType: 'NetworkInterface',
          privateIpAddress,
        });
      await bind(0, first);
      await rejects(bind(1, second), 'TaskConflict', 400);
      await until(() => eipStatus(SPARE_EIPS[0].allocationId), 'InUse');
      await bind(1, second); // one EIP per private IP, once the first settled
      await until(() => eipStatus(SPARE_EIPS[1].allocationId), 'InUse');
      for (const e of SPARE_EIPS.slice(0, 2)) {
        await unassociate({
          allocationId: e.allocationId,
          instanceId: eni,
          instanceType: 'NetworkInterface',
        });
        await until(() => eipStatus(e.allocationId), 'Available');
      }
      await deleteAll([eni]);

      await rejects(
        associate({ allocationId: SPARE_EIPS[0].allocationId, instanceId: ids[4] }),
        'InvalidStatus.EcsStatusNotSupport',
        400,
      );
    });
  });

  describe('paging', () => {
    it('TotalCount is no count of the matches with NextToken paging; a true count with page numbers', async () => {
      // 5 primary ENIs and 6 secondary ones: two pages of at least 10 (MaxResults under 10 counts as 10).
      const made: string[] = [];
      for (let i = 0; i < 6; i++) made.push(await createEni(ids[0]));
      const page = (nextToken?: string) =>
        t.ecs.describeNetworkInterfaces(
          new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, maxResults: 10, nextToken }),
        );
      const first = await page();
      assert.equal(first.body!.networkInterfaceSets!.networkInterfaceSet!.length, 10);
      assert.ok(first.body!.nextToken);
      assert.notEqual(first.body!.totalCount, 11, 'not the number of matching ENIs');
      const second = await page(first.body!.nextToken);
      assert.equal(second.body!.networkInterfaceSets!.networkInterfaceSet!.length, 1);
      assert.notEqual(second.body!.totalCount, 11);
      const byPage = await t.ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, pageSize: 10 }),
      );
      assert.equal(byPage.body!.totalCount, 11, 'page numbers: a true count');
      await deleteAll(made);

      const byToken = await t.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId: REGION, maxResults: 10 }),
      );
      assert.equal(byToken.body!.instances!.instance!.length, ids.length);
      const sgs = await t.ecs.describeSecurityGroups(
        new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, maxResults: 10 }),
      );
      assert.equal(
        sgs.body!.totalCount,
        undefined,
        'DescribeSecurityGroups returns no TotalCount with NextToken paging',
      );
    });

    it('the SecurityGroupId filter of DescribeNetworkInterfaces finds secondary ENIs only', async () => {
      const eni = await createEni(ids[0]);
      const res = await t.ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, securityGroupId, maxResults: 100 }),
      );
      const found = res.body!.networkInterfaceSets!.networkInterfaceSet!;
      assert.deepEqual(
        found.map((e) => [e.networkInterfaceId, e.type]),
        [[eni, 'Secondary']],
      );
      await deleteAll([eni]);
    });
  });

  describe('EIP rules', () => {
    it('NAT-mode EIP on a primary ENI; Unassociate defaults InstanceType to EcsInstance; Alibaba not-found spellings', async () => {
      const inst = await t.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify([ids[2]]) }),
      );
      const primaryEni = inst.body!.instances!.instance![0].networkInterfaces!.networkInterface![0];
      const primary = primaryEni.networkInterfaceId!;
      const eip = SPARE_EIPS[2].allocationId;
      // PrivateIpAddress is required for an ENI (the strictest of the sources), before anything changes.
      await rejects(
        associate({ allocationId: eip, instanceId: primary, instanceType: 'NetworkInterface', mode: 'NAT' }),
        'MissingParameter',
        400,
      );
      assert.equal(await eipStatus(eip), 'Available');
      await associate({
        allocationId: eip,
        instanceId: primary,
        instanceType: 'NetworkInterface',
        privateIpAddress: primaryEni.primaryIpAddress,
        mode: 'NAT',
      });
      await until(() => eipStatus(eip), 'InUse');
      await rejects(unassociate({ allocationId: eip }), 'InvalidBindingStatus', 400);
      await rejects(
        unassociate({
          allocationId: eip,
          instanceId: 'i-bp1nosuchinstance0001',
          instanceType: 'EcsInstance',
        }),
        'InvalidInstanceId.NotFound',
        400,
      );
      await unassociate({ allocationId: eip, instanceType: 'NetworkInterface' });
      await until(() => eipStatus(eip), 'Available');
      // A primary ENI whose instance has its own public address takes no EIP on that address.
      const running = await t.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify([ids[0]]) }),
      );
      const busyPrimary = running.body!.instances!.instance![0].networkInterfaces!.networkInterface![0];
      await rejects(
        associate({
          allocationId: eip,
          instanceId: busyPrimary.networkInterfaceId,
          instanceType: 'NetworkInterface',
          privateIpAddress: busyPrimary.primaryIpAddress,
        }),
        'InvalidAssociation.Duplicated',
        400,
      );

      await rejects(
        associate({ allocationId: eip, instanceId: 'i-bp1nosuchinstance0001' }),
        'InvalidInstanId.NotFound',
        404,
      );
      await rejects(
        associate({
          allocationId: eip,
          instanceId: 'eni-bp1nosuch00000001',
          instanceType: 'NetworkInterface',
          privateIpAddress: '192.168.0.9',
        }),
        'InvalidParams.NotFound',
        400,
      );
    });

    it('an association can fall back to Available (associateFallbacks), counted in fired', async () => {
      const eip = SPARE_EIPS[0].allocationId;
      await t.admin.behaviours({ associateFallbacks: 1 });
      await associate({ allocationId: eip, instanceId: ids[2] });
      assert.equal(await eipStatus(eip), 'Associating');
      await until(() => eipStatus(eip), 'Available');
      const b = await t.admin.request<{ associateFallbacks: number; fired: { associateFallbacks: number } }>(
        'GET',
        'behaviours',
      );
      assert.equal(b.associateFallbacks, 0);
      assert.equal(b.fired.associateFallbacks, 1);
      await associate({ allocationId: eip, instanceId: ids[2] });
      await until(() => eipStatus(eip), 'InUse');
      await unassociate({ allocationId: eip, instanceId: ids[2], instanceType: 'EcsInstance' });
      await until(() => eipStatus(eip), 'Available');
    });

    it('the admin API refuses a bad behaviour, naming the field', async () => {
      await assert.rejects(
        t.admin.behaviours({ associateFallbackRate: 2 }),
        (e: unknown) =>
          e instanceof AdminError && e.status === 400 && /associateFallbackRate/.test(e.message),
      );
    });
  });

  describe('ENI rules', () => {
    it('a stuck detach that persists ignores re-issues (stuckDetachReissues), then moves', async () => {
      const eni = await createEni(ids[0]);
      await attach(eni, ids[0]);
      await until(() => eniStatus(eni), 'InUse');
      await t.admin.behaviours({ stuckDetaches: 1, stuckDetachReissues: 2 });
      await detach(eni, ids[0]);
      for (let i = 0; i < 2; i++) {
        await sleep(RULES_TIMINGS.detachMs + 50); // longer than detachMs
        assert.equal(await eniStatus(eni), 'Detaching');
        await detach(eni, ids[0]);
      }
      await sleep(RULES_TIMINGS.detachMs + 50);
      assert.equal(await eniStatus(eni), 'Detaching', 'two re-issues ignored');
      await detach(eni, ids[0]);
      await until(() => eniStatus(eni), 'Available');
      const b = await t.admin.request<{ fired: { ignoredDetachReissues: number } }>('GET', 'behaviours');
      assert.equal(b.fired.ignoredDetachReissues, 2);
      await t.admin.behaviours({ stuckDetachReissues: 0 });

      // A stuck Deleting moves on when the delete is issued again.
      await t.admin.behaviours({ stuckDeletes: 1 });
      await del(eni);
      await sleep(3 * RULES_TIMINGS.deleteMs);
      assert.equal(await eniStatus(eni), 'Deleting');
      await del(eni);
      await until(() => eniStatus(eni), 'gone');
    });

    it('CreateNetworkInterface may answer 200 without a NetworkInterfaceId: no ENI made, the same token creates next time', async () => {
      const before = await secondaryEniCount();
      await t.admin.behaviours({ emptyCreates: 1 });
      const request = () =>
        t.ecs.createNetworkInterface(
          new $Ecs.CreateNetworkInterfaceRequest({
            regionId: REGION,
            vSwitchId: vSwitchOf.get(ids[0]),
            securityGroupId,
            clientToken: 'empty-create-1',
          }),
        );
      const empty = await request();
      assert.equal(empty.statusCode, 200);
      assert.equal(empty.body!.networkInterfaceId, undefined);
      assert.equal(await secondaryEniCount(), before);
      const made = await request();
      assert.match(made.body!.networkInterfaceId!, /^eni-/);
      assert.equal(await secondaryEniCount(), before + 1);
      await deleteAll([made.body!.networkInterfaceId!]);
    });
  });

  describe('ModifyInstanceChargeType and economical stop mode', () => {
    const modify = (fields: Partial<$Ecs.ModifyInstanceChargeTypeRequest>) =>
      t.ecs.modifyInstanceChargeType(
        new $Ecs.ModifyInstanceChargeTypeRequest({ regionId: REGION, ...fields }),
      );
    const chargeType = async (id: string) =>
      (
        await t.ecs.describeInstances(
          new $Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify([id]) }),
        )
      ).body!.instances!.instance![0];

    it('takes the documented periods only', async () => {
      const toPrePaid = (period: number, periodUnit = 'Month') =>
        modify({
          instanceIds: JSON.stringify([ids[0]]),
          instanceChargeType: 'PrePaid',
          period,
          periodUnit,
          dryRun: true,
        });
      await rejects(toPrePaid(10), 'InvalidPeriod', 400);
      await rejects(toPrePaid(13), 'InvalidPeriod', 400);
      await rejects(toPrePaid(5, 'Week'), 'InvalidPeriod', 400);
      for (const ok of [1, 9, 12, 24, 60]) await rejects(toPrePaid(ok), 'DryRunOperation', 400);
    });

    it('AutoPay=false creates an unpaid order: the charge type stays', async () => {
      const res = await modify({
        instanceIds: JSON.stringify([ids[3]]),
        instanceChargeType: 'PostPaid',
        autoPay: false,
      });
      assert.ok(res.body!.orderId);
      assert.equal((await chargeType(ids[3])).instanceChargeType, 'PrePaid');
    });

    it('a Stopped instance in economical mode (StopCharging) has released its static public IP: nothing to convert', async () => {
      const inst = await chargeType(ids[2]);
      assert.equal(inst.stoppedMode, 'StopCharging');
      assert.deepEqual(inst.publicIpAddress!.ipAddress, []);
      await rejects(
        t.ecs.convertNatPublicIpToEip(
          new $Ecs.ConvertNatPublicIpToEipRequest({ regionId: REGION, instanceId: ids[2] }),
        ),
        'OperationDenied',
        403,
      );
    });
  });

  describe('outside China', () => {
    let intl: TestCloud;
    before(async () => {
      intl = await startTestCloud({ instances: 1, regionId: 'ap-southeast-1' });
    });
    after(() => intl?.cloud.stop());

    it('ModifyInstanceChargeType takes months 1–9 and 12 only', async () => {
      const [{ instanceId }] = intl.cloud.info().instances as Array<{ instanceId: string }>;
      const toPrePaid = (period: number, periodUnit = 'Month') =>
        intl.ecs.modifyInstanceChargeType(
          new $Ecs.ModifyInstanceChargeTypeRequest({
            regionId: 'ap-southeast-1',
            instanceIds: JSON.stringify([instanceId]),
            instanceChargeType: 'PrePaid',
            period,
            periodUnit,
            dryRun: true,
          }),
        );
      await rejects(toPrePaid(24), 'InvalidPeriod', 400);
      await rejects(toPrePaid(1, 'Week'), 'InvalidPeriod.UnitMismatch', 400);
      await rejects(toPrePaid(12), 'DryRunOperation', 400);
    });

    it('Force=true disassociates the NAT gateway EIP its SNAT entries use', async () => {
      const state = await intl.admin.state();
      const natEip = (
        state.EipAddresses as Array<{ AllocationId: string; InstanceType: string; InstanceId: string }>
      ).find((e) => e.InstanceType === 'Nat')!;
      const req = (force?: boolean) =>
        intl.vpc.unassociateEipAddress(
          new $Vpc.UnassociateEipAddressRequest({
            regionId: 'ap-southeast-1',
            allocationId: natEip.AllocationId,
            instanceId: natEip.InstanceId,
            instanceType: 'Nat',
            force,
          }),
        );
      await rejects(req(), 'InvalidIpStatus.HasBeenUsedBySnatTable', 400);
      await req(true);
      const after = await intl.vpc.describeEipAddresses(
        new $Vpc.DescribeEipAddressesRequest({
          regionId: 'ap-southeast-1',
          allocationId: natEip.AllocationId,
        }),
      );
      assert.equal(after.body!.eipAddresses!.eipAddress![0].status, 'Unassociating');
    });
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
