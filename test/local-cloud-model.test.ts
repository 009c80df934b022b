/**
 * The local cloud's state and rules, driven through the action table exactly as the server drives it
 * (ACTIONS + RequestParams), with a hand-moved clock so transitions are observed without sleeping. Every success
 * body is also decoded by the official SDK's own response model ($dara.cast), which throws on a type mismatch.
 */
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as $dara from '@darabonba/typescript';
import * as EcsModels from '@alicloud/ecs20140526';
import * as VpcModels from '@alicloud/vpc20160428';
import { ACTIONS, API_VERSIONS, findAction, RequestParams } from '../src/local-cloud/api';
import type { Product } from '../src/local-cloud/contracts';
import { CloudError } from '../src/local-cloud/errors';
import {
  type Cloud,
  createCloudModel,
  defaultTopology,
  DEFAULT_TIMINGS,
  loadTopology,
  type Topology,
  TopologyError,
  validateTopology,
} from '../src/local-cloud/model';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const TIMINGS = {
  attachMs: 3000,
  detachMs: 3000,
  deleteMs: 2000,
  associateMs: 2000,
  unassociateMs: 2000,
  convertMs: 1000,
};

/** A region with the corner cases a migration meets, on top of the demo VPC. */
function testTopology(): Topology {
  const base = defaultTopology({ instances: 3 });
  const vpc = base.vpcs[0];
  const [vswI, vswJ] = vpc.vSwitches;
  const sg = vpc.securityGroups[0].securityGroupId;
  const inst = (over: Partial<Topology['instances'][number]> & { instanceId: string }) => ({
    vSwitchId: vswI.vSwitchId,
    securityGroupIds: [sg],
    instanceType: 'ecs.g7.large',
    imageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
    internetMaxBandwidthOut: 5,
    ...over,
  });
  return validateTopology({
    ...base,
    vpcs: [
      vpc,
      {
        vpcId: 'vpc-bp1other000000000001',
        cidrBlock: '10.0.0.0/16',
        vSwitches: [
          { vSwitchId: 'vsw-bp1other000000000001', zoneId: 'cn-hangzhou-i', cidrBlock: '10.0.1.0/24' },
        ],
        securityGroups: [{ securityGroupId: 'sg-bp1other000000000001' }],
      },
    ],
    images: [
      {
        imageId: 'm-bp1manualnic00000001',
        osName: 'Debian 12',
        osType: 'linux',
        secondaryNicSetup: 'manual',
      },
    ],
    instances: [
      ...base.instances,
      inst({
        instanceId: 'i-bp1manual00000000001',
        imageId: 'm-bp1manualnic00000001',
        publicIpAddress: '203.0.113.200',
      }),
      inst({
        instanceId: 'i-bp1small000000000001',
        instanceType: 'ecs.t5-lc1m1.small',
        publicIpAddress: '203.0.113.201',
      }),
      inst({ instanceId: 'i-bp1stopped0000000001', status: 'Stopped', publicIpAddress: '203.0.113.202' }),
      inst({ instanceId: 'i-bp1starting000000001', status: 'Starting', publicIpAddress: '203.0.113.203' }),
      inst({
        instanceId: 'i-bp1prepaid0000000001',
        instanceChargeType: 'PrePaid',
        publicIpAddress: '203.0.113.204',
      }),
      inst({
        instanceId: 'i-bp1prepaidsoon000001',
        instanceChargeType: 'PrePaid',
        expiresInHours: 12,
        publicIpAddress: '203.0.113.205',
      }),
      inst({
        instanceId: 'i-bp1prepaidbw000000001',
        instanceChargeType: 'PrePaid',
        internetChargeType: 'PayByBandwidth',
        publicIpAddress: '203.0.113.206',
      }),
      inst({ instanceId: 'i-bp1nopublic000000001', vSwitchId: vswJ.vSwitchId }),
      {
        instanceId: 'i-bp1nosnat00000000001',
        vSwitchId: 'vsw-bp1other000000000001',
        securityGroupIds: ['sg-bp1other000000000001'],
        instanceType: 'ecs.g7.large',
        imageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
        publicIpAddress: '203.0.113.207',
      },
    ],
    eips: [{ allocationId: 'eip-bp1spare0000000001', ipAddress: '47.96.1.50', bandwidth: 5 }],
  });
}

const SDK: Record<Product, Record<string, unknown>> = { Ecs: EcsModels, Vpc: VpcModels };

let now = T0;
let cloud: Cloud;
let topo: Topology;

/** Calls an action as the server does, and decodes the body with the SDK's response model. */
function call(
  product: Product,
  action: string,
  raw: Record<string, string | number | boolean> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire JSON, read field by field below
): Record<string, any> {
  const params = new RequestParams(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)])));
  const body = { RequestId: 'REQ-1', ...ACTIONS[product][action](cloud, params) };
  const Response = SDK[product][`${action}Response`] as new (m: object) => object;
  assert.ok(Response, `SDK model ${action}Response`);
  $dara.cast({ headers: {}, statusCode: 200, body }, new Response({})); // throws "type of X is mismatch" on a bad shape
  return body;
}
const ecs = (action: string, raw: Record<string, string | number | boolean> = {}) =>
  call('Ecs', action, { RegionId: 'cn-hangzhou', ...raw });
const vpc = (action: string, raw: Record<string, string | number | boolean> = {}) =>
  call('Vpc', action, { RegionId: 'cn-hangzhou', ...raw });

function fails(fn: () => unknown, code: string, status: number): CloudError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CloudError, `expected CloudError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status, `${code} status`);
  return caught;
}

const advance = (ms: number) => {
  now += ms;
};
const eniOf = (id: string) =>
  ecs('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': id }).NetworkInterfaceSets
    .NetworkInterfaceSet[0];
const eipOf = (id: string) => vpc('DescribeEipAddresses', { AllocationId: id }).EipAddresses.EipAddress[0];
const instance = (id: string) =>
  ecs('DescribeInstances', { InstanceIds: JSON.stringify([id]) }).Instances.Instance[0];

function createEni(over: Record<string, string> = {}): string {
  const vswI = topo.vpcs[0].vSwitches[0].vSwitchId;
  const sg = topo.vpcs[0].securityGroups[0].securityGroupId;
  return ecs('CreateNetworkInterface', { VSwitchId: vswI, SecurityGroupId: sg, ...over }).NetworkInterfaceId;
}

function attached(eniId: string, instanceId: string): void {
  ecs('AttachNetworkInterface', { NetworkInterfaceId: eniId, InstanceId: instanceId });
  advance(TIMINGS.attachMs);
  assert.equal(eniOf(eniId).Status, 'InUse');
}

/** Convert, then move the EIP from the instance to the ENI in NAT mode: the runbook's steps 1 to 5. */
function migrate(instanceId: string): { eni: string; eip: string; ip: string } {
  const before = instance(instanceId);
  const ip = before.PublicIpAddress.IpAddress[0];
  ecs('ConvertNatPublicIpToEip', { InstanceId: instanceId });
  const eip = instance(instanceId).EipAddress.AllocationId;
  // The runbook: the ENI goes in the instance's own vSwitch, with its security group.
  const eni = createEni({
    VSwitchId: before.VpcAttributes.VSwitchId,
    SecurityGroupId: before.SecurityGroupIds.SecurityGroupId[0],
  });
  attached(eni, instanceId);
  advance(TIMINGS.convertMs);
  vpc('UnassociateEipAddress', { AllocationId: eip, InstanceId: instanceId });
  advance(TIMINGS.unassociateMs);
  vpc('AssociateEipAddress', {
    AllocationId: eip,
    InstanceId: eni,
    InstanceType: 'NetworkInterface',
    PrivateIpAddress: eniOf(eni).PrivateIpAddress,
  });
  advance(TIMINGS.associateMs);
  return { eni, eip, ip };
}

beforeEach(() => {
  now = T0;
  topo = testTopology();
  cloud = createCloudModel({ topology: topo, timings: TIMINGS, clock: () => now });
});

const web = () => topo.instances[0].instanceId; // zone i, Alibaba Cloud Linux 3, 203.0.113.10

describe('topology', () => {
  it('builds the demo region: two zones, SNAT over both vSwitches, public instances, Alibaba-looking ids', () => {
    const t = defaultTopology({ instances: 4 });
    assert.deepEqual(t, defaultTopology({ instances: 4 }), 'deterministic');
    const v = t.vpcs[0];
    assert.deepEqual(
      v.vSwitches.map((s) => s.zoneId),
      ['cn-hangzhou-i', 'cn-hangzhou-j'],
    );
    assert.match(v.vpcId, /^vpc-bp1[a-z0-9]{17}$/);
    assert.match(t.instances[0].instanceId, /^i-bp1[a-z0-9]{17}$/);
    assert.deepEqual(
      v.natGateways![0].snatEntries.map((e) => e.sourceVSwitchId),
      v.vSwitches.map((s) => s.vSwitchId),
    );
    assert.deepEqual(
      t.instances.map((i) => i.publicIpAddress),
      ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13'],
    );
    assert.deepEqual(
      t.instances.map((i) => i.vSwitchId),
      [0, 1, 0, 1].map((z) => v.vSwitches[z].vSwitchId),
    );
    assert.equal(
      defaultTopology({ instances: 1, regionId: 'cn-beijing' }).vpcs[0].vSwitches[0].zoneId,
      'cn-beijing-i',
    );
  });

  it('names the bad field of a topology file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topology-'));
    try {
      const file = join(dir, 'region.json');
      const t = defaultTopology({ instances: 2 });
      t.instances[1].vSwitchId = 'vsw-bp1doesnotexist0001';
      writeFileSync(file, JSON.stringify(t));
      assert.throws(
        () => loadTopology(file),
        (e: Error) => e instanceof TopologyError && /instances\[1\]\.vSwitchId/.test(e.message),
      );
      writeFileSync(file, JSON.stringify({ ...defaultTopology({ instances: 1 }), regionId: 7 }));
      assert.throws(() => loadTopology(file), /regionId/);
      writeFileSync(file, '{ nope');
      assert.throws(() => loadTopology(file), /not valid JSON/);
      const loopback = defaultTopology({ instances: 1 });
      loopback.instances[0].publicIpAddress = '127.0.0.5';
      writeFileSync(file, JSON.stringify(loopback));
      assert.throws(
        () => loadTopology(file),
        /instances\[0\]\.publicIpAddress: 127\.0\.0\.5 is not a public address/,
      );
      const stopMode = defaultTopology({ instances: 1 });
      Object.assign(stopMode.instances[0], { stoppedMode: 'StopCharging' });
      writeFileSync(file, JSON.stringify(stopMode));
      assert.throws(() => loadTopology(file), /instances\[0\]\.stoppedMode: only a Stopped instance/);
      writeFileSync(file, JSON.stringify({ ...defaultTopology({ instances: 1 }), quotas: { maxEnis: -1 } }));
      assert.throws(() => loadTopology(file), /quotas\.maxEnis/);
      // The real fleet's marks: route tables, start time, EIP quota.
      const routes = defaultTopology({ instances: 1 });
      routes.vpcs[0].vSwitches[0].routeTableId = 'vtb-missing0001';
      assert.throws(
        () => validateTopology(routes),
        /vpcs\[0\]\.vSwitches\[0\]\.routeTableId: no route table vtb-missing0001 in vpcs\[0\]\.routeTables/,
      );
      routes.vpcs[0].routeTables = [
        {
          routeTableId: 'vtb-missing0001',
          routeEntries: [
            { destinationCidrBlock: '0.0.0.0/0', nextHopType: 'NatGateway', nextHopId: 'ngw-elsewhere01' },
          ],
        },
      ];
      assert.throws(
        () => validateTopology(routes),
        /vpcs\[0\]\.routeTables\[0\]\.routeEntries\[0\]\.nextHopId: no NAT gateway ngw-elsewhere01/,
      );
      const marks = defaultTopology({ instances: 1 });
      assert.throws(
        () => validateTopology({ ...marks, instances: [{ ...marks.instances[0], startTime: 'long ago' }] }),
        /instances\[0\]\.startTime: must be an ISO 8601 time/,
      );
      assert.throws(() => validateTopology({ ...marks, quotas: { maxEips: -1 } }), /quotas\.maxEips/);
      writeFileSync(file, JSON.stringify(defaultTopology({ instances: 2 })));
      assert.equal(loadTopology(file).instances.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('request parameters and routing of actions', () => {
  it('decodes the SDK list encodings and rejects what it cannot read', () => {
    const p = new RequestParams({
      'NetworkInterfaceId.2': 'eni-b',
      'NetworkInterfaceId.1': 'eni-a',
      'NetworkInterfaceId.10': 'eni-j',
      InstanceIds: '["i-1","i-2"]',
      AllocationId: 'eip-1, eip-2,',
      'Tag.2.Key': 'b',
      'Tag.1.Key': 'a',
      'Tag.1.Value': 'x y+z',
      DryRun: 'true',
      PageSize: 'ten',
    });
    assert.deepEqual(p.list('NetworkInterfaceId'), ['eni-a', 'eni-b', 'eni-j']);
    assert.deepEqual(p.jsonList('InstanceIds'), ['i-1', 'i-2']);
    assert.deepEqual(p.commaList('AllocationId'), ['eip-1', 'eip-2']);
    assert.deepEqual(p.tags(), [
      { key: 'a', value: 'x y+z' },
      { key: 'b', value: '' },
    ]);
    assert.equal(p.bool('DryRun'), true);
    fails(() => p.str('RegionId', true), 'MissingParameter', 400);
    fails(() => p.int('PageSize'), 'InvalidParameter', 400);
    fails(() => new RequestParams({ InstanceIds: 'i-1' }).jsonList('InstanceIds'), 'InvalidParameter', 400);
  });

  it('finds actions by API version', () => {
    assert.equal(findAction(API_VERSIONS.Ecs, 'AttachNetworkInterface')?.product, 'Ecs');
    assert.equal(findAction('2016-04-28', 'AssociateEipAddress')?.product, 'Vpc');
    assert.equal(findAction('2016-04-28', 'AttachNetworkInterface'), undefined);
    assert.equal(findAction('2014-05-26', 'toString'), undefined);
    assert.equal(Object.keys(ACTIONS.Ecs).length + Object.keys(ACTIONS.Vpc).length, 26);
  });

  it('answers InvalidRegionId.NotFound for another region and MissingParameter without one', () => {
    fails(
      () => call('Ecs', 'DescribeInstances', { RegionId: 'cn-shanghai' }),
      'InvalidRegionId.NotFound',
      404,
    );
    fails(() => call('Vpc', 'DescribeEipAddresses', {}), 'MissingParameter', 400);
    // DescribeInstanceAttribute has no RegionId at all; DescribeVSwitches accepts VpcId instead.
    call('Ecs', 'DescribeInstanceAttribute', { InstanceId: web() });
    call('Vpc', 'DescribeVSwitches', { VpcId: topo.vpcs[0].vpcId });
  });
});

describe('describe actions', () => {
  it('DescribeInstances: shapes, filters, unknown ids, both paging schemes, DryRun', () => {
    const one = ecs('DescribeInstances', { InstanceIds: JSON.stringify([web()]) });
    assert.equal(one.TotalCount, 1);
    const i = one.Instances.Instance[0];
    assert.equal(i.IoOptimized, true);
    assert.deepEqual(i.PublicIpAddress.IpAddress, ['203.0.113.10']);
    assert.equal(i.EipAddress.AllocationId, '');
    assert.equal(i.NetworkInterfaces.NetworkInterface.length, 1);
    assert.equal(i.NetworkInterfaces.NetworkInterface[0].Type, 'Primary');
    assert.deepEqual(i.Tags.Tag, [{ TagKey: 'app', TagValue: 'web' }]);
    assert.equal(i.ExpiredTime, '2099-12-31T15:59Z');

    assert.equal(
      ecs('DescribeInstances', { InstanceIds: '["i-bp1nosuchinstance0001"]' }).Instances.Instance.length,
      0,
    );
    const all = ecs('DescribeInstances', { PageSize: 100 }).TotalCount;
    assert.equal(all, topo.instances.length);
    assert.equal(ecs('DescribeInstances', { Status: 'Stopped' }).TotalCount, 1);
    assert.equal(ecs('DescribeInstances', { InstanceChargeType: 'PrePaid' }).TotalCount, 3);
    assert.equal(ecs('DescribeInstances', { ZoneId: 'cn-hangzhou-j' }).TotalCount, 2);
    assert.equal(ecs('DescribeInstances', { 'Tag.1.Key': 'app', 'Tag.1.Value': 'web' }).TotalCount, 3);
    assert.equal(ecs('DescribeInstances', { InstanceName: 'web-0*' }).TotalCount, 3);
    assert.equal(ecs('DescribeInstances', { PublicIpAddresses: '["203.0.113.11"]' }).TotalCount, 1);
    fails(() => ecs('DescribeInstances', { Status: 'Sleeping' }), 'InvalidStatus.NotFound', 404);
    fails(() => ecs('DescribeInstances', { DryRun: true }), 'DryRunOperation', 400);
    fails(() => ecs('DescribeInstances', { PageSize: 101 }), 'InvalidParameter', 400);

    const p2 = ecs('DescribeInstances', { PageSize: 5, PageNumber: 2 });
    assert.deepEqual([p2.PageNumber, p2.PageSize, p2.Instances.Instance.length], [2, 5, 5]);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = ecs('DescribeInstances', { MaxResults: 10, ...(token ? { NextToken: token } : {}) });
      seen.push(...page.Instances.Instance.map((x: { InstanceId: string }) => x.InstanceId));
      token = page.NextToken;
    } while (token);
    assert.equal(new Set(seen).size, all);
  });

  it('DescribeInstanceAttribute: IoOptimized is a string there; unknown id is InvalidInstanceId.NotFound 404', () => {
    const a = call('Ecs', 'DescribeInstanceAttribute', { InstanceId: web() });
    assert.equal(a.IoOptimized, 'optimized');
    assert.deepEqual(a.VpcAttributes.PrivateIpAddress.IpAddress.length, 1);
    fails(
      () => call('Ecs', 'DescribeInstanceAttribute', { InstanceId: 'i-bp1nosuchinstance0001' }),
      'InvalidInstanceId.NotFound',
      404,
    );
  });

  it('DescribeInstanceStatus and DescribeInstanceTypes (EniQuantity counts the primary ENI)', () => {
    const s = ecs('DescribeInstanceStatus', {
      'InstanceId.1': web(),
      'InstanceId.2': 'i-bp1stopped0000000001',
    });
    assert.deepEqual(
      s.InstanceStatuses.InstanceStatus.map((x: { Status: string }) => x.Status),
      ['Running', 'Stopped'],
    );
    fails(() => ecs('DescribeInstanceStatus', { PageSize: 51 }), 'InvalidParameter', 400);
    const t = call('Ecs', 'DescribeInstanceTypes', {
      'InstanceTypes.1': 'ecs.g7.large',
      'InstanceTypes.2': 'ecs.t5-lc1m1.small',
    });
    assert.deepEqual(
      t.InstanceTypes.InstanceType.map((x: { InstanceTypeId: string; EniQuantity: number }) => [
        x.InstanceTypeId,
        x.EniQuantity,
      ]),
      [
        ['ecs.g7.large', 3],
        ['ecs.t5-lc1m1.small', 1],
      ],
    );
  });

  it('VPC describes keep the API type quirks', () => {
    const v = vpc('DescribeVpcs', { VpcId: `${topo.vpcs[0].vpcId},vpc-bp1nosuch000000000001` });
    assert.equal(v.TotalCount, 1);
    assert.equal(typeof v.Vpcs.Vpc[0].OwnerId, 'number');
    assert.equal(v.Vpcs.Vpc[0].NatGatewayIds.NatGatewayIds.length, 1);
    assert.equal(v.Vpcs.Vpc[0].VSwitchIds.VSwitchId.length, 2);
    const s = vpc('DescribeVSwitches', { VpcId: topo.vpcs[0].vpcId, ZoneId: 'cn-hangzhou-j' });
    assert.equal(s.VSwitches.VSwitch.length, 1);
    assert.equal(typeof s.VSwitches.VSwitch[0].OwnerId, 'number');
    assert.ok(s.VSwitches.VSwitch[0].AvailableIpAddressCount < 250);
    const n = vpc('DescribeNatGateways', { VpcId: topo.vpcs[0].vpcId });
    const ngw = n.NatGateways.NatGateway[0];
    assert.equal(ngw.NatType, 'Enhanced');
    assert.deepEqual(
      ngw.IpLists.IpList.map((x: { IpAddress: string }) => x.IpAddress),
      ['47.96.180.23'],
    );
    const snat = vpc('DescribeSnatTableEntries', {
      SnatTableId: ngw.SnatTableIds.SnatTableId[0],
      SourceVSwitchId: topo.vpcs[0].vSwitches[1].vSwitchId,
    });
    assert.equal(snat.SnatTableEntries.SnatTableEntry.length, 1);
    assert.equal(snat.SnatTableEntries.SnatTableEntry[0].SnatIp, '47.96.180.23');
    fails(() => vpc('DescribeSnatTableEntries', {}), 'MissingParameter', 400);
    const eips = vpc('DescribeEipAddresses', { PageSize: 100 }).EipAddresses.EipAddress;
    const spare = eips.find((e: { AllocationId: string }) => e.AllocationId === 'eip-bp1spare0000000001');
    assert.equal(spare.Bandwidth, '5');
    assert.equal(spare.ServiceManaged, 0);
    assert.equal(vpc('DescribeEipAddresses', { AssociatedInstanceType: 'Nat' }).TotalCount, 1);
    const sgs = ecs('DescribeSecurityGroups', { VpcId: topo.vpcs[0].vpcId });
    assert.equal(sgs.SecurityGroups.SecurityGroup.length, 1);
    for (const [product, action] of [
      ['Ecs', 'DescribeSecurityGroups'],
      ['Vpc', 'DescribeNatGateways'],
      ['Vpc', 'DescribeVSwitches'],
      ['Vpc', 'DescribeVpcs'],
      ['Vpc', 'DescribeEipAddresses'],
    ] as const)
      fails(() => call(product, action, { RegionId: 'cn-hangzhou', DryRun: 'true' }), 'DryRunOperation', 400);
  });
});

describe('the migration, step by step, with time passing', () => {
  it('ConvertNatPublicIpToEip keeps the address; the EIP shows up in the VPC API a moment later', () => {
    ecs('ConvertNatPublicIpToEip', { InstanceId: web() });
    const i = instance(web());
    assert.deepEqual(i.PublicIpAddress.IpAddress, []);
    assert.equal(i.EipAddress.IpAddress, '203.0.113.10');
    assert.match(i.EipAddress.AllocationId, /^eip-bp1/);
    assert.equal(
      vpc('DescribeEipAddresses', { AllocationId: i.EipAddress.AllocationId }).TotalCount,
      0,
      'not yet visible',
    );
    fails(
      () => vpc('UnassociateEipAddress', { AllocationId: i.EipAddress.AllocationId }),
      'InvalidAllocationId.NotFound',
      404,
    );
    advance(TIMINGS.convertMs);
    const eip = eipOf(i.EipAddress.AllocationId);
    assert.deepEqual(
      [eip.Status, eip.InstanceId, eip.InstanceType, eip.IpAddress],
      ['InUse', web(), 'EcsInstance', '203.0.113.10'],
    );
    assert.equal(cloud.routePublicAddress('203.0.113.10')?.via, 'eip-primary');
    fails(() => ecs('ConvertNatPublicIpToEip', { InstanceId: web() }), 'OperationDenied', 403);
  });

  it('ENI: Available → Attaching → InUse → Detaching → Available → Deleting → gone', () => {
    const eni = createEni({ NetworkInterfaceName: 'migration' });
    assert.equal(eniOf(eni).Status, 'Available');
    ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() });
    assert.equal(eniOf(eni).Status, 'Attaching');
    advance(TIMINGS.attachMs - 1);
    assert.equal(eniOf(eni).Status, 'Attaching');
    advance(1);
    const inUse = eniOf(eni);
    assert.deepEqual([inUse.Status, inUse.InstanceId, inUse.Attachment.DeviceIndex], ['InUse', web(), 1]);
    assert.equal(instance(web()).NetworkInterfaces.NetworkInterface.length, 2);
    assert.equal(ecs('DescribeNetworkInterfaces', { InstanceId: web(), Type: 'Secondary' }).TotalCount, 1);
    fails(
      () => ecs('DeleteNetworkInterface', { NetworkInterfaceId: eni }),
      'InvalidOperation.InvalidEniState',
      400,
    );
    ecs('DetachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() });
    assert.equal(eniOf(eni).Status, 'Detaching');
    advance(TIMINGS.detachMs);
    assert.deepEqual([eniOf(eni).Status, eniOf(eni).InstanceId], ['Available', '']);
    ecs('DeleteNetworkInterface', { NetworkInterfaceId: eni });
    assert.equal(eniOf(eni).Status, 'Deleting');
    ecs('DeleteNetworkInterface', { NetworkInterfaceId: eni }); // re-issue is allowed
    advance(TIMINGS.deleteMs);
    assert.equal(ecs('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni }).TotalCount, 0);
    fails(
      () => ecs('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: eni }),
      'InvalidEniId.NotFound',
      404,
    );
  });

  it('moves the public IP to the secondary ENI: SSH arrives on the ENI, egress leaves through SNAT', () => {
    const before = cloud.runGuestCommand(web(), 'curl -s https://myip.ipip.net');
    assert.equal(before.stdout, '当前 IP：203.0.113.10  来自于：中国 浙江 杭州  阿里云\n');
    const { eni, eip, ip } = migrate(web());
    const e = eipOf(eip);
    assert.deepEqual(
      [e.Status, e.InstanceType, e.InstanceId, e.Mode],
      ['InUse', 'NetworkInterface', eni, 'NAT'],
    );
    assert.equal(e.PrivateIpAddress, eniOf(eni).PrivateIpAddress);
    assert.equal(eniOf(eni).AssociatedPublicIp.PublicIpAddress, ip);
    assert.equal(instance(web()).EipAddress.IpAddress, '');
    assert.deepEqual(cloud.routePublicAddress(ip), {
      instanceId: web(),
      publicIp: ip,
      via: 'eip-secondary-eni',
    });
    assert.equal(cloud.egressAddress(web()), '47.96.180.23');
    assert.equal(cloud.runGuestCommand(web(), 'curl -s ifconfig.me').stdout, '47.96.180.23');
    assert.equal(cloud.runGuestCommand(web(), 'curl -s --interface eth1 ifconfig.me').stdout, ip);
    assert.match(
      cloud.runGuestCommand(web(), 'ip -4 -o addr').stdout,
      /^3: eth1 +inet 192\.168\.1\.\d+\/24 /m,
    );
  });

  it('on an image without multi-nic-util the EIP on the ENI answers only after eni.service runs', () => {
    const id = 'i-bp1manual00000000001';
    const { ip } = migrate(id);
    assert.equal(cloud.routePublicAddress(ip), undefined, 'replies would leave through eth0');
    assert.doesNotMatch(cloud.runGuestCommand(id, 'ip -4 -o addr').stdout, /eth1/);
    const out = cloud.runGuestCommand(id, 'sudo systemctl restart eni.service && echo done');
    assert.deepEqual(out, { stdout: 'done\n', stderr: '', exitCode: 0 });
    assert.equal(cloud.routePublicAddress(ip)?.via, 'eip-secondary-eni');
  });

  it('an instance whose VPC has no SNAT entry has no way out once its public IP is gone', () => {
    const id = 'i-bp1nosnat00000000001';
    migrate(id);
    assert.equal(cloud.egressAddress(id), undefined);
    const out = cloud.runGuestCommand(id, 'curl -sS https://myip.ipip.net');
    assert.equal(out.exitCode, 28);
    assert.match(out.stderr, /^curl: \(28\) .*timed out/);
    assert.equal(
      cloud.runGuestCommand(id, 'curl -s https://myip.ipip.net').stderr,
      '',
      '-s alone silences curl',
    );
    assert.equal(
      cloud.runGuestCommand(id, 'curl -m 5 ifconfig.me').stderr,
      'curl: (28) Connection timed out after 5001 milliseconds\n',
    );
  });
});

describe('preconditions answer the documented codes', () => {
  it('attach: zone, VPC, states, primary ENI, instance-type ENI limit', () => {
    const vswJ = topo.vpcs[0].vSwitches[1].vSwitchId;
    const sg = topo.vpcs[0].securityGroups[0].securityGroupId;
    const inZoneJ = ecs('CreateNetworkInterface', {
      VSwitchId: vswJ,
      SecurityGroupId: sg,
    }).NetworkInterfaceId;
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: inZoneJ, InstanceId: web() }),
      'InvalidOperation.AvailabilityZoneMismatch',
      403,
    );
    const otherVpc = ecs('CreateNetworkInterface', {
      VSwitchId: 'vsw-bp1other000000000001',
      SecurityGroupId: 'sg-bp1other000000000001',
    }).NetworkInterfaceId;
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: otherVpc, InstanceId: web() }),
      'InvalidOperation.VpcMismatch',
      403,
    );
    const eni = createEni();
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-bp1starting000000001' }),
      'InvalidOperation.InvalidEcsState',
      400,
    );
    fails(
      () =>
        ecs('AttachNetworkInterface', { NetworkInterfaceId: 'eni-bp1nosuch00000000001', InstanceId: web() }),
      'InvalidEniId.NotFound',
      404,
    );
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-bp1nosuchinstance0001' }),
      'InvalidEcsId.NotFound',
      404,
    );
    ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-bp1stopped0000000001' }); // Stopped is fine
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() }),
      'InvalidOperation.InvalidEniState',
      400,
    );
    fails(
      () =>
        ecs('AttachNetworkInterface', {
          NetworkInterfaceId: createEni(),
          InstanceId: 'i-bp1small000000000001',
        }),
      'EniPerInstanceLimitExceeded',
      403,
    );
    attached(createEni(), web());
    attached(createEni(), web());
    fails(
      () => ecs('AttachNetworkInterface', { NetworkInterfaceId: createEni(), InstanceId: web() }),
      'EniPerInstanceLimitExceeded',
      403,
    );
    const primary = instance(web()).NetworkInterfaces.NetworkInterface[0].NetworkInterfaceId;
    fails(
      () => ecs('DetachNetworkInterface', { NetworkInterfaceId: primary, InstanceId: web() }),
      'InvalidOperation.DetachPrimaryEniNotAllowed',
      400,
    );
    fails(
      () => ecs('DeleteNetworkInterface', { NetworkInterfaceId: primary }),
      'InvalidOperation.InvalidEniType',
      403,
    );
    fails(
      () => ecs('DetachNetworkInterface', { NetworkInterfaceId: createEni(), InstanceId: web() }),
      'InvalidOperation.InvalidEniState',
      400,
    );
  });

  it('create: vSwitch, security group, IP address', () => {
    const vswI = topo.vpcs[0].vSwitches[0].vSwitchId;
    const sg = topo.vpcs[0].securityGroups[0].securityGroupId;
    fails(
      () => ecs('CreateNetworkInterface', { VSwitchId: 'vsw-bp1nosuch00000000001', SecurityGroupId: sg }),
      'InvalidVSwitchId.NotFound',
      404,
    );
    fails(
      () => ecs('CreateNetworkInterface', { VSwitchId: vswI, SecurityGroupId: 'sg-bp1nosuch00000000001' }),
      'InvalidSecurityGroupId.NotFound',
      404,
    );
    fails(
      () => ecs('CreateNetworkInterface', { VSwitchId: vswI, SecurityGroupId: 'sg-bp1other000000000001' }),
      'InvalidOperation.VpcMismatch',
      403,
    );
    fails(() => ecs('CreateNetworkInterface', { VSwitchId: vswI }), 'MissingParameter', 400);
    fails(
      () => ecs('CreateNetworkInterface', { VSwitchId: vswI, SecurityGroupId: sg, 'SecurityGroupIds.1': sg }),
      'InvalidParameter.Conflict',
      400,
    );
    fails(
      () =>
        ecs('CreateNetworkInterface', {
          VSwitchId: vswI,
          SecurityGroupId: sg,
          PrimaryIpAddress: '192.168.2.50',
        }),
      'InvalidVSwitchId.IpInvalid',
      403,
    );
    const taken = instance(web()).VpcAttributes.PrivateIpAddress.IpAddress[0];
    fails(
      () => ecs('CreateNetworkInterface', { VSwitchId: vswI, SecurityGroupId: sg, PrimaryIpAddress: taken }),
      'InvalidPrivateIpAddress.Duplicated',
      400,
    );
    const made = ecs('CreateNetworkInterface', {
      VSwitchId: vswI,
      SecurityGroupId: sg,
      PrimaryIpAddress: '192.168.1.77',
      SecondaryPrivateIpAddressCount: 2,
    });
    assert.equal(made.PrivateIpAddress, '192.168.1.77');
    assert.equal(made.PrivateIpSets.PrivateIpSet.length, 3);
    assert.equal(typeof made.OwnerId, 'string');
    assert.equal(made.Status, 'Available');
  });

  it('EIP: busy, duplicate associations, NAT vs BINDED mode, NAT gateway EIPs', () => {
    const spare = 'eip-bp1spare0000000001';
    fails(
      () => vpc('AssociateEipAddress', { AllocationId: spare, InstanceId: web() }),
      'InvalidAssociation.Duplicated',
      400,
    );
    const eni = createEni();
    // NAT, ENI not attached
    vpc('AssociateEipAddress', {
      AllocationId: spare,
      InstanceId: eni,
      InstanceType: 'NetworkInterface',
      PrivateIpAddress: eniOf(eni).PrivateIpAddress,
    });
    assert.equal(eipOf(spare).Status, 'Associating');
    fails(() => vpc('UnassociateEipAddress', { AllocationId: spare }), 'IncorrectEipStatus', 400);
    fails(
      () => vpc('AssociateEipAddress', { AllocationId: spare, InstanceId: web() }),
      'IncorrectEipStatus',
      400,
    );
    advance(TIMINGS.associateMs);
    assert.equal(eipOf(spare).Status, 'InUse');
    ecs('ConvertNatPublicIpToEip', { InstanceId: web() });
    advance(TIMINGS.convertMs);
    const converted = instance(web()).EipAddress.AllocationId;
    vpc('UnassociateEipAddress', { AllocationId: converted, InstanceId: web() });
    advance(TIMINGS.unassociateMs);
    fails(
      () =>
        vpc('AssociateEipAddress', {
          AllocationId: converted,
          InstanceId: eni,
          InstanceType: 'NetworkInterface',
          PrivateIpAddress: eniOf(eni).PrivateIpAddress,
        }),
      'InvalidAssociation.Duplicated',
      400,
    );
    const attachedEni = createEni();
    attached(attachedEni, web());
    fails(
      () =>
        vpc('AssociateEipAddress', {
          AllocationId: converted,
          InstanceId: attachedEni,
          InstanceType: 'NetworkInterface',
          PrivateIpAddress: eniOf(attachedEni).PrivateIpAddress,
          Mode: 'BINDED',
        }),
      'InvalidStatus.EniStatusNotSupport',
      400,
    );
    fails(
      () => vpc('AssociateEipAddress', { AllocationId: converted, InstanceId: 'i-bp1nosuchinstance0001' }),
      'InvalidInstanId.NotFound', // Alibaba's spelling [doc]
      404,
    );
    fails(
      () => vpc('AssociateEipAddress', { AllocationId: 'eip-bp1nosuch00000000001', InstanceId: web() }),
      'InvalidAllocationId.NotFound',
      404,
    );
    vpc('AssociateEipAddress', { AllocationId: converted, InstanceId: web() }); // back onto the instance
    advance(TIMINGS.associateMs);
    assert.equal(instance(web()).EipAddress.AllocationId, converted);
    fails(() => ecs('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'OperationDenied', 403);
    const natEip = vpc('DescribeEipAddresses', { AssociatedInstanceType: 'Nat' }).EipAddresses.EipAddress[0]
      .AllocationId;
    fails(
      () => vpc('UnassociateEipAddress', { AllocationId: natEip }),
      'InvalidIpStatus.HasBeenUsedBySnatTable',
      400,
    );
  });

  it('ConvertNatPublicIpToEip: instance state, subscription rules, no public IP', () => {
    fails(
      () => ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1starting000000001' }),
      'IncorrectInstanceStatus',
      403,
    );
    fails(
      () => ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1prepaidbw000000001' }),
      'InvalidInternetChargeType.ValueNotSupported',
      403,
    );
    fails(
      () => ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1prepaidsoon000001' }),
      'InvalidEndTime.OperateNotSupport',
      403,
    );
    fails(
      () => ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1nopublic000000001' }),
      'OperationDenied',
      403,
    );
    fails(
      () => ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1nosuchinstance0001' }),
      'InvalidInstanceId.NotFound',
      404,
    );
    ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1prepaid0000000001' });
    ecs('ConvertNatPublicIpToEip', { InstanceId: 'i-bp1stopped0000000001' });
  });

  it('ModifyInstanceChargeType: PrePaid ↔ PostPaid, at most 20 ids, DryRun changes nothing', () => {
    fails(
      () =>
        ecs('ModifyInstanceChargeType', {
          InstanceIds: JSON.stringify(Array.from({ length: 21 }, () => web())),
        }),
      'InstancesIdQuotaExceed',
      400,
    );
    fails(() => ecs('ModifyInstanceChargeType', {}), 'MissingParameter', 400);
    fails(
      () => ecs('ModifyInstanceChargeType', { InstanceIds: '["i-bp1starting000000001"]' }),
      'InvalidStatus.ValueNotSupported',
      400,
    );
    fails(
      () => ecs('ModifyInstanceChargeType', { InstanceIds: JSON.stringify([web()]), DryRun: true }),
      'DryRunOperation',
      400,
    );
    assert.equal(instance(web()).InstanceChargeType, 'PostPaid');
    const r = ecs('ModifyInstanceChargeType', {
      InstanceIds: JSON.stringify([web()]),
      Period: 1,
      PeriodUnit: 'Month',
    });
    assert.match(r.OrderId, /^\d{15}$/);
    assert.equal(instance(web()).InstanceChargeType, 'PrePaid');
    assert.equal(instance(web()).ExpiredTime, '2026-06-01T00:00Z');
    ecs('ModifyInstanceChargeType', {
      InstanceIds: JSON.stringify(['i-bp1prepaid0000000001']),
      InstanceChargeType: 'PostPaid',
    });
    assert.equal(instance('i-bp1prepaid0000000001').InstanceChargeType, 'PostPaid');
  });
});

describe('ClientToken idempotency', () => {
  it('CreateNetworkInterface: same token and params → the same ENI; different params → IdempotentParameterMismatch', () => {
    const count = () => ecs('DescribeNetworkInterfaces', { MaxResults: 500 }).TotalCount;
    const before = count();
    const a = createEni({ ClientToken: 'tok-1' });
    assert.equal(createEni({ ClientToken: 'tok-1' }), a);
    assert.equal(count(), before + 1);
    fails(
      () => createEni({ ClientToken: 'tok-1', Description: 'other' }),
      'IdempotentParameterMismatch',
      400,
    );
  });

  it('AssociateEipAddress and UnassociateEipAddress: a retried call with its token succeeds again without effect', () => {
    const eni = createEni();
    const assoc = {
      AllocationId: 'eip-bp1spare0000000001',
      InstanceId: eni,
      InstanceType: 'NetworkInterface',
      PrivateIpAddress: eniOf(eni).PrivateIpAddress,
      ClientToken: 'a-1',
    };
    vpc('AssociateEipAddress', assoc);
    vpc('AssociateEipAddress', assoc); // would be IncorrectEipStatus without the token
    fails(() => vpc('AssociateEipAddress', { ...assoc, Mode: 'BINDED' }), 'IdempotentParameterMismatch', 400);
    advance(TIMINGS.associateMs);
    const unassoc = {
      AllocationId: assoc.AllocationId,
      InstanceType: 'NetworkInterface',
      ClientToken: 'u-1',
    };
    vpc('UnassociateEipAddress', unassoc);
    advance(TIMINGS.unassociateMs);
    vpc('UnassociateEipAddress', unassoc);
    assert.equal(eipOf(assoc.AllocationId).Status, 'Available');
  });

  it('ModifyInstanceChargeType returns the same order for the same token', () => {
    const req = { InstanceIds: JSON.stringify([web()]), ClientToken: 'm-1' };
    assert.equal(ecs('ModifyInstanceChargeType', req).OrderId, ecs('ModifyInstanceChargeType', req).OrderId);
  });
});

describe('behaviours switched on by the admin API', () => {
  it('associations take associateMs plus a seeded spread: the same seed, the same durations; 0 spread, a constant', () => {
    assert.equal(cloud.region.associateDurationMs(), TIMINGS.associateMs, 'exact timings: no spread');
    cloud.timings = { ...cloud.timings, associateSpreadMs: 500 };
    cloud.configure({ latencySeed: 3 });
    const draws = Array.from({ length: 40 }, () => cloud.region.associateDurationMs());
    cloud.configure({ latencySeed: 3 });
    assert.deepEqual(
      Array.from({ length: 40 }, () => cloud.region.associateDurationMs()),
      draws,
    );
    assert.ok(draws.every((d) => d >= TIMINGS.associateMs / 4 && d <= TIMINGS.associateMs + 4 * 500));
    assert.ok(new Set(draws).size > 30, 'not a constant');
    const sorted = [...draws].sort((a, b) => a - b);
    assert.ok(Math.abs(sorted[20] - TIMINGS.associateMs) < 400, `median near associateMs, got ${sorted[20]}`);
    // Through the API: the association is due after the next draw.
    cloud.configure({ latencySeed: 3 });
    const eni = createEni();
    vpc('AssociateEipAddress', {
      AllocationId: 'eip-bp1spare0000000001',
      InstanceId: eni,
      InstanceType: 'NetworkInterface',
      PrivateIpAddress: eniOf(eni).PrivateIpAddress,
    });
    const eip = (
      cloud.snapshot().EipAddresses as Array<{ AllocationId: string; Pending?: { At: string } }>
    ).find((e) => e.AllocationId === 'eip-bp1spare0000000001')!;
    assert.equal(Date.parse(eip.Pending!.At) - now, draws[0]);
  });

  it('describeLagMs: a new ENI is missing from Describe* for a while, yet can be used', () => {
    cloud.configure({ describeLagMs: 1500 });
    const eni = createEni();
    assert.equal(ecs('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni }).TotalCount, 0);
    fails(
      () => ecs('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: eni }),
      'InvalidEniId.NotFound',
      404,
    );
    advance(1500);
    assert.equal(ecs('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: eni }).Status, 'Available');
  });

  it('attachFallbacks: the next attach goes Attaching → Available', () => {
    cloud.configure({ attachFallbacks: 1 });
    const eni = createEni();
    ecs('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() });
    assert.equal(eniOf(eni).Status, 'Attaching');
    advance(TIMINGS.attachMs);
    assert.deepEqual([eniOf(eni).Status, eniOf(eni).InstanceId], ['Available', '']);
    attached(eni, web()); // only the next one
  });

  it('stuckDetaches: a detach sticks in Detaching until it is issued again', () => {
    const eni = createEni();
    attached(eni, web());
    cloud.configure({ stuckDetaches: 1 });
    ecs('DetachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() });
    advance(60_000);
    assert.equal(eniOf(eni).Status, 'Detaching');
    ecs('DetachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: web() });
    advance(TIMINGS.detachMs);
    assert.equal(eniOf(eni).Status, 'Available');
  });
});

describe('instances as seen from the network and from inside', () => {
  it('routes public addresses only to Running instances that own them', () => {
    assert.equal(cloud.routePublicAddress('203.0.113.10')?.via, 'nat-public-ip');
    assert.equal(cloud.routePublicAddress('203.0.113.202'), undefined, 'stopped');
    assert.equal(cloud.routePublicAddress('47.96.180.23'), undefined, 'the SNAT IP answers nothing');
    assert.equal(cloud.routePublicAddress('198.18.0.1'), undefined);
    assert.ok(cloud.publicAddresses().includes('47.96.1.50'));
    assert.equal(cloud.egressAddress('i-bp1nopublic000000001'), '47.96.180.23', 'SNAT covers zone j');
  });

  it('runs the tiny guest shell', () => {
    const host = cloud.runGuestCommand(web(), 'hostname');
    assert.equal(host.stdout, `iZ${web().slice(2)}Z\n`);
    assert.deepEqual(cloud.runGuestCommand(web(), "echo 'a  b' c"), {
      stdout: 'a  b c\n',
      stderr: '',
      exitCode: 0,
    });
    assert.deepEqual(cloud.runGuestCommand(web(), 'uptime'), {
      stdout: '',
      stderr: 'bash: uptime: command not found\n',
      exitCode: 127,
    });
    assert.equal(cloud.runGuestCommand(web(), 'false || true').exitCode, 0);
    assert.equal(cloud.runGuestCommand(web(), 'curl -s ipinfo.io/ip').stdout, '203.0.113.10');
    assert.match(
      cloud.runGuestCommand(web(), 'ip -4 -o addr').stdout,
      /^2: eth0 +inet 192\.168\.1\.\d+\/24 brd 192\.168\.1\.255/m,
    );
  });

  it('runs the built-in guest scripts: curl -4 (no IPv6 route), sudo for a non-root user, sh -c, sh quoting', () => {
    assert.equal(
      cloud.runGuestCommand(web(), 'curl -4 -sS -m 10 https://ifconfig.me').stdout,
      '203.0.113.10',
    );
    assert.equal(cloud.runGuestCommand(web(), 'curl --ipv4 -s ifconfig.me').stdout, '203.0.113.10');
    const v6 = cloud.runGuestCommand(web(), 'curl -6 -sS -m 10 https://ifconfig.me');
    assert.equal(v6.exitCode, 7);
    assert.match(v6.stderr, /Network is unreachable/);
    assert.equal(cloud.runGuestCommand(web(), 'whoami', 'ecs-user').stdout, 'ecs-user\n');
    assert.equal(cloud.runGuestCommand(web(), 'whoami').stdout, 'root\n');
    assert.equal(cloud.runGuestCommand(web(), 'sudo -n whoami', 'ecs-user').stdout, 'root\n');
    assert.equal(cloud.runGuestCommand(web(), 'id -u', 'ecs-user').stdout, '1000\n');
    const denied = cloud.runGuestCommand(web(), 'systemctl restart eni.service', 'ecs-user');
    assert.equal(denied.exitCode, 1);
    assert.match(denied.stderr, /Failed to restart eni\.service: Interactive authentication required/);
    assert.deepEqual(
      cloud.runGuestCommand(
        web(),
        `sudo -n sh -c 'systemctl restart eni.service && echo "it'\\''s up"'`,
        'ecs-user',
      ),
      { stdout: "it's up\n", stderr: '', exitCode: 0 },
    );
    assert.equal(cloud.runGuestCommand(web(), 'echo a\\ b "c\\"d"').stdout, 'a b c"d\n');
    assert.match(cloud.runGuestCommand(web(), 'sudo -u admin whoami').stderr, /option -u is not emulated/);
  });

  it('snapshot lists every resource with the API field names', () => {
    const s = cloud.snapshot() as Record<string, Array<Record<string, unknown>>>;
    assert.equal(s.Instances.length, topo.instances.length);
    assert.ok(s.NetworkInterfaces.every((e) => typeof e.NetworkInterfaceId === 'string' && 'Status' in e));
    assert.ok(s.EipAddresses.some((e) => e.InstanceType === 'Nat'));
    assert.ok(Array.isArray(s.SnatTableEntries) && Array.isArray(s.VSwitches) && Array.isArray(s.Vpcs));
  });

  it('defaults to realistic timings', () => {
    assert.deepEqual(
      createCloudModel({ topology: defaultTopology({ instances: 1 }) }).timings,
      DEFAULT_TIMINGS,
    );
    assert.equal(DEFAULT_TIMINGS.attachMs, 3000);
  });
});

describe('the documented attach rules', () => {
  it('the product refuses exactly the instance types the local cloud refuses (one documented list, two readers)', async () => {
    const product = await import('../src/activities/attach-rules');
    const cloud = await import('../src/local-cloud/model/catalog');
    assert.deepEqual([...product.ATTACH_NEEDS_STOPPED].sort(), [...cloud.ATTACH_NEEDS_STOPPED].sort());
    assert.equal(product.ATTACH_NEEDS_START_SINCE, cloud.ATTACH_REBOOT_BEFORE);
  });
});
