/**
 * The real fleet before step 1 (issue 8): what Alibaba Cloud refuses or needs, modelled by the local cloud and handled
 * by preflight. Activity level (the activities run in a mock activity context against a local cloud over HTTP through
 * the unmodified SDK clients; no Temporal server), so every case costs milliseconds. Each refusal is checked against
 * the cloud's call log: nothing that changes the cloud was called.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities, type PreflightInput } from '../src/activities';
import { exitCodeForReport, ExitCode } from '../src/cli/exit-codes';
import { defaultTopology, type Topology } from '../src/local-cloud/model/topology';
import { CHANGE_ACTIONS } from '../src/shared/cloud-changes';
import { createSshRunner } from '../src/ssh';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { productCloudApis } from './helpers/migration';

/** Every action that changes the cloud: the product's table, and the SDK verbs the tests themselves could send. */
const MUTATING = new RegExp(
  `^(${CHANGE_ACTIONS.join('|')}|Create|Attach|Detach|Delete|Associate|Unassociate|Modify|Convert)`,
);

const I = {
  twoGroups: 0,
  prePaidTraffic: 1,
  prePaidBandwidth: 2,
  prePaidExpiring: 3,
  pendingChange: 4,
  stopFamily: 5,
  oldStart: 6,
  noRoute: 7,
  moved: 8,
  plain: 9,
};
const SECOND_GROUP = 'sg-second0001';
const NO_ROUTE_VSW = 'vsw-noroute0001';
const BIG_VSW = 'vsw-big0000001';

let dir: string;
const clouds: TestCloud[] = [];

/** A local cloud of the demo topology as `shape` changes it, and the product's activities against it. */
async function cloudWith(
  instances: number,
  shape: (t: Topology) => void,
  opts: { eipQuota?: number } = {},
): Promise<{ tc: TestCloud; acts: Activities; topology: Topology }> {
  const topology = defaultTopology({ instances });
  shape(topology);
  const file = join(dir, `${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(topology));
  const tc = await startTestCloud({ topologyFile: file });
  clouds.push(tc);
  const { ecs, vpc } = productCloudApis(tc, tc.cloud.regionId);
  const acts = createActivities({
    ecs,
    vpc,
    ssh: createSshRunner({}),
    pollIntervalMs: 20,
    transitionMs: tc.cloud.model.timings,
    ...opts,
  });
  return { tc, acts, topology };
}

/** Runs one activity as a first attempt of a fresh workflow. */
function run<K extends keyof Activities>(
  acts: Activities,
  name: K,
  input: Parameters<Activities[K]>[0],
): Promise<Awaited<ReturnType<Activities[K]>>> {
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: `eni-migration/test/${randomUUID()}`, runId: randomUUID() },
    attempt: 1,
  } as never);
  return env.run(acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>, input);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'preflight-fleet-'));
});
after(async () => {
  await Promise.all(clouds.map((c) => c.cloud.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('preflight on a real fleet', () => {
  let tc: TestCloud;
  let acts: Activities;
  let topology: Topology;
  const id = (role: number) => topology.instances[role].instanceId;
  const input = (role: number, extra: Partial<PreflightInput> = {}): PreflightInput => ({
    regionId: tc.cloud.regionId,
    instanceId: id(role),
    verify: false,
    allowChargeTypeChange: false,
    ...extra,
  });

  /** Preflight refuses `role` on the check `name`; nothing that changes the cloud was called. Returns its detail. */
  async function refused(role: number, name: string, extra: Partial<PreflightInput> = {}): Promise<string> {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await run(acts, 'preflight', input(role, extra));
    const failed = r.checks.filter((c) => !c.ok);
    assert.equal(r.ok, false);
    assert.deepEqual(
      failed.map((c) => c.name),
      [name],
      JSON.stringify(failed),
    );
    const changes = (await tc.admin.calls({ since })).filter((c) => MUTATING.test(c.action));
    assert.deepEqual(changes, [], 'preflight changed nothing');
    return failed[0].detail;
  }

  before(async () => {
    ({ tc, acts, topology } = await cloudWith(10, (t) => {
      const vpc = t.vpcs[0];
      const zone = vpc.vSwitches[0].zoneId;
      const nat = vpc.natGateways![0];
      vpc.securityGroups.push({ securityGroupId: SECOND_GROUP, securityGroupName: 'admin-ssh' });
      // A vSwitch with an SNAT entry but a custom route table without 0.0.0.0/0: SNAT alone is no way out.
      vpc.routeTables = [
        {
          routeTableId: 'vtb-noroute0001',
          routeEntries: [
            { destinationCidrBlock: '10.8.0.0/16', nextHopType: 'NatGateway', nextHopId: nat.natGatewayId },
          ],
        },
      ];
      vpc.vSwitches.push(
        {
          vSwitchId: NO_ROUTE_VSW,
          zoneId: zone,
          cidrBlock: '192.168.9.0/24',
          routeTableId: 'vtb-noroute0001',
        },
        { vSwitchId: BIG_VSW, zoneId: zone, cidrBlock: '192.168.16.0/22' },
      );
      nat.snatEntries.push({
        snatEntryId: 'snat-noroute0001',
        snatIp: nat.eips[0].ipAddress,
        sourceVSwitchId: NO_ROUTE_VSW,
      });
      const i = t.instances;
      for (const x of i) x.vSwitchId = vpc.vSwitches[0].vSwitchId;
      i[I.twoGroups].securityGroupIds = [vpc.securityGroups[0].securityGroupId, SECOND_GROUP];
      Object.assign(i[I.prePaidTraffic], {
        instanceChargeType: 'PrePaid',
        internetChargeType: 'PayByTraffic',
      });
      Object.assign(i[I.prePaidBandwidth], {
        instanceChargeType: 'PrePaid',
        internetChargeType: 'PayByBandwidth',
      });
      Object.assign(i[I.prePaidExpiring], { instanceChargeType: 'PrePaid', expiresInHours: 12 });
      i[I.pendingChange].pendingConfigurationChange = true;
      i[I.stopFamily].instanceType = 'ecs.t6-c1m2.large';
      i[I.oldStart].startTime = '2017-06-01T00:00:00Z';
      i[I.noRoute].vSwitchId = NO_ROUTE_VSW;
      // An instance of the unrouted vSwitch without a public address: its egress shows the route table at work.
      i.push({
        ...i[I.plain],
        instanceId: 'i-noroutequiet01',
        vSwitchId: NO_ROUTE_VSW,
        publicIpAddress: undefined,
        internetMaxBandwidthOut: 0,
      });
      i.push({
        ...i[I.plain],
        instanceId: 'i-routedquiet001',
        publicIpAddress: undefined,
        internetMaxBandwidthOut: 0,
      });
    }));
  });

  it('the new ENI joins every security group of the instance; an explicit one still wins', async () => {
    const r = await run(acts, 'preflight', input(I.twoGroups));
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    const groups = topology.instances[I.twoGroups].securityGroupIds;
    assert.deepEqual(r.plan.securityGroupIds, groups);
    const created = await run(acts, 'createNetworkInterface', {
      instanceId: id(I.twoGroups),
      vSwitchId: r.plan.vSwitchId!,
      securityGroupId: r.plan.securityGroupId!,
      securityGroupIds: r.plan.securityGroupIds,
    });
    const res = await tc.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({
        regionId: tc.cloud.regionId,
        networkInterfaceId: [created.networkInterfaceId],
      }),
    );
    const eni = res.body!.networkInterfaceSets!.networkInterfaceSet![0];
    assert.deepEqual(eni.securityGroupIds?.securityGroupId, groups);

    const one = await run(acts, 'preflight', input(I.twoGroups, { securityGroupId: SECOND_GROUP }));
    assert.deepEqual(one.plan.securityGroupIds, [SECOND_GROUP]);
  });

  it('billing: a subscription billed by traffic converts as it is; by fixed bandwidth only with --bandwidth-pay-by-traffic', async () => {
    const direct = await run(acts, 'preflight', input(I.prePaidTraffic));
    assert.equal(direct.ok, true, JSON.stringify(direct.checks));
    assert.equal(direct.plan.switchToPostPaid, false);
    assert.equal(direct.plan.switchToPayByTraffic, undefined);

    const detail = await refused(I.prePaidBandwidth, 'billing allows the conversion');
    assert.match(detail, /billed by fixed bandwidth.*--bandwidth-pay-by-traffic.*--allow-charge-type-change/);
    // The cloud refuses it as preflight says (the SDK, the documented code).
    await assert.rejects(
      tc.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({
          regionId: tc.cloud.regionId,
          instanceId: id(I.prePaidBandwidth),
        }),
      ),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInternetChargeType.ValueNotSupported' && e.statusCode === 403,
    );

    const allowed = await run(acts, 'preflight', input(I.prePaidBandwidth, { allowPayByTraffic: true }));
    assert.equal(allowed.ok, true, JSON.stringify(allowed.checks));
    assert.equal(allowed.plan.switchToPayByTraffic, true);
    assert.equal(allowed.plan.switchToPostPaid, false);
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    await run(acts, 'switchToPayByTraffic', { instanceId: id(I.prePaidBandwidth) });
    const modify = await tc.admin.calls({ since, action: 'ModifyInstanceNetworkSpec' });
    assert.equal(modify.length, 1);
    assert.equal(modify[0].params.NetworkChargeType, 'PayByTraffic');
    const inst = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: tc.cloud.regionId,
        instanceIds: JSON.stringify([id(I.prePaidBandwidth)]),
      }),
    );
    const after = inst.body!.instances!.instance![0];
    assert.equal(after.internetChargeType, 'PayByTraffic');
    assert.equal(after.instanceChargeType, 'PrePaid', 'only the bandwidth billing changed');
    await run(acts, 'convertNatPublicIpToEip', {
      instanceId: id(I.prePaidBandwidth),
      publicIp: topology.instances[I.prePaidBandwidth].publicIpAddress!,
    });

    // The seed's whole-instance switch stays an explicit choice.
    const postPaid = await run(acts, 'preflight', input(I.prePaidExpiring, { allowChargeTypeChange: true }));
    assert.equal(postPaid.plan.switchToPostPaid, true);
  });

  it('billing: a subscription expiring within 24 hours is refused; a scheduled change is refused by the cloud', async () => {
    assert.match(
      await refused(I.prePaidExpiring, 'billing allows the conversion'),
      /within 24 hours.*renew it first/,
    );
    await assert.rejects(
      tc.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({
          regionId: tc.cloud.regionId,
          instanceId: id(I.pendingChange),
        }),
      ),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInstanceId.PlanedChange' && e.statusCode === 403,
    );
  });

  it('an instance type that takes an ENI only while Stopped, Running: refused, as the cloud refuses the attach', async () => {
    assert.match(
      await refused(I.stopFamily, 'ENI can be attached now'),
      /ecs\.t6-c1m2\.large takes an ENI only while Stopped.*stop it, then migrate with verification off/,
    );
    await assertAttachRefused(id(I.stopFamily));
  });

  it('an instance Running since before 2018-04-01: refused until rebooted, as the cloud refuses the attach', async () => {
    const inst = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: tc.cloud.regionId,
        instanceIds: JSON.stringify([id(I.oldStart)]),
      }),
    );
    assert.equal(inst.body!.instances!.instance![0].startTime, '2017-06-01T00:00Z');
    assert.match(await refused(I.oldStart, 'ENI can be attached now'), /before 2018-04-01.*reboot it/);
    await assertAttachRefused(id(I.oldStart));
  });

  /** The local cloud refuses AttachNetworkInterface for this instance with the documented code. */
  async function assertAttachRefused(instanceId: string): Promise<void> {
    const vSwitchId = topology.instances.find((i) => i.instanceId === instanceId)!.vSwitchId;
    const created = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId: tc.cloud.regionId,
        vSwitchId,
        securityGroupId: topology.vpcs[0].securityGroups[0].securityGroupId,
      }),
    );
    await assert.rejects(
      tc.ecs.attachNetworkInterface(
        new $Ecs.AttachNetworkInterfaceRequest({
          regionId: tc.cloud.regionId,
          instanceId,
          networkInterfaceId: created.body!.networkInterfaceId,
        }),
      ),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidOperation.InvalidEcsState' && e.statusCode === 400,
    );
  }

  it('a vSwitch whose route table does not send 0.0.0.0/0 to the NAT gateway: refused; the guest has no way out', async () => {
    assert.match(
      await refused(I.noRoute, 'default route to the NAT gateway'),
      /route table vtb-noroute0001 of vSwitch vsw-noroute0001 sends 0\.0\.0\.0\/0 nowhere.*add the route 0\.0\.0\.0\/0 -> ngw-/,
    );
    const routes = await tc.vpc.describeRouteEntryList(
      new $Vpc.DescribeRouteEntryListRequest({
        regionId: tc.cloud.regionId,
        routeTableId: 'vtb-noroute0001',
        destinationCidrBlock: '0.0.0.0/0',
      }),
    );
    assert.deepEqual(routes.body!.routeEntrys!.routeEntry, []);
    const state = (await tc.admin.state()) as {
      Instances: Array<{ InstanceId: string; EgressAddress: string | null }>;
    };
    const egress = (instanceId: string) =>
      state.Instances.find((i) => i.InstanceId === instanceId)?.EgressAddress;
    assert.equal(
      egress('i-noroutequiet01'),
      null,
      'no default route to the NAT gateway: no egress through SNAT',
    );
    assert.equal(egress('i-routedquiet001'), topology.vpcs[0].natGateways![0].eips[0].ipAddress);
  });

  it('reads the SNAT entries filtered by the source vSwitch, not every entry of the VPC', async () => {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await run(acts, 'preflight', input(I.plain));
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    const reads = await tc.admin.calls({ since, action: 'DescribeSnatTableEntries' });
    assert.ok(reads.length > 0);
    for (const read of reads)
      assert.ok(read.params.SourceVSwitchId || read.params.SourceCIDR, JSON.stringify(read.params));
  });

  it('an instance whose EIP is on a NAT-mode ENI already is already migrated, which exits 0', async () => {
    const instanceId = id(I.moved);
    const publicIp = topology.instances[I.moved].publicIpAddress!;
    const convert = await run(acts, 'convertNatPublicIpToEip', { instanceId, publicIp });
    const r0 = await run(acts, 'preflight', input(I.moved));
    const eni = await run(acts, 'createNetworkInterface', {
      instanceId,
      vSwitchId: r0.plan.vSwitchId!,
      securityGroupId: r0.plan.securityGroupId!,
    });
    await run(acts, 'attachNetworkInterface', { networkInterfaceId: eni.networkInterfaceId, instanceId });
    await run(acts, 'unassociateEipFromInstance', { allocationId: convert.allocationId, instanceId });
    await run(acts, 'associateEipToEni', {
      allocationId: convert.allocationId,
      networkInterfaceId: eni.networkInterfaceId,
      privateIpAddress: eni.privateIpAddress!,
    });

    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await run(acts, 'preflight', input(I.moved));
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    assert.deepEqual(r.alreadyMigrated, {
      publicIp,
      networkInterfaceId: eni.networkInterfaceId,
      allocationId: convert.allocationId,
    });
    assert.deepEqual(
      (await tc.admin.calls({ since })).filter((c) => MUTATING.test(c.action)),
      [],
    );
    assert.equal(exitCodeForReport({ outcome: 'already-migrated' }), ExitCode.OK);
  });

  it('reads every page: 600 ENIs of an account, through NextToken', async () => {
    await tc.admin.rateLimit('CreateNetworkInterface', 10_000, 10_000);
    const tag = { key: 'fleet', value: 'big' };
    for (let n = 0; n < 600; n += 50)
      await Promise.all(
        Array.from({ length: 50 }, () =>
          tc.ecs.createNetworkInterface(
            new $Ecs.CreateNetworkInterfaceRequest({
              regionId: tc.cloud.regionId,
              vSwitchId: BIG_VSW,
              securityGroupId: topology.vpcs[0].securityGroups[0].securityGroupId,
              tag: [new $Ecs.CreateNetworkInterfaceRequestTag(tag)],
            }),
          ),
        ),
      );
    const { ecs } = productCloudApis(tc, tc.cloud.regionId);
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const tagged = await ecs.listNetworkInterfaces({ tags: { [tag.key]: tag.value } });
    assert.equal(tagged.length, 600);
    assert.equal(new Set(tagged.map((n) => n.networkInterfaceId)).size, 600);
    const pages = await tc.admin.calls({ since, action: 'DescribeNetworkInterfaces' });
    assert.equal(pages.length, 2, 'two pages of at most 500');
    const vpcWide = await ecs.listVpcNetworkInterfaces(topology.vpcs[0].vpcId);
    assert.ok(vpcWide.length >= 600 + topology.instances.length, String(vpcWide.length));
  });
});

describe('the EIP quota', () => {
  it('an account at its quota is refused before anything changes, as ConvertNatPublicIpToEip refuses it', async () => {
    // The NAT gateway's EIP is the one EIP the quota allows; the worker is told the account's quota.
    const { tc, acts, topology } = await cloudWith(
      1,
      (t) => {
        t.eipQuota = 1;
      },
      { eipQuota: 1 },
    );
    const instanceId = topology.instances[0].instanceId;
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await run(acts, 'preflight', {
      regionId: tc.cloud.regionId,
      instanceId,
      verify: false,
      allowChargeTypeChange: false,
    });
    const failed = r.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.name),
      ['EIP quota'],
    );
    assert.match(
      failed[0].detail,
      /holds 1 EIPs .* quota is 1.*release an unused EIP or raise the quota.*ENI_MIGRATE_EIP_QUOTA/,
    );
    assert.deepEqual(
      (await tc.admin.calls({ since })).filter((c) => MUTATING.test(c.action)),
      [],
    );
    await assert.rejects(
      tc.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({ regionId: tc.cloud.regionId, instanceId }),
      ),
      (e: { code?: string; statusCode?: number }) => e.code === 'MaxEIPQuotaExceeded' && e.statusCode === 403,
    );
  });
});
