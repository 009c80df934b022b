import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities, type PreflightInput } from '../src/activities';
import { ExitCode, exitCodeForReport } from '../src/cli/exit-codes';
import { defaultTopology, type Topology } from '../src/local-cloud/model/topology';
import type { MigrationInput } from '../src/shared/migration';
import { createSshRunner } from '../src/ssh';
import { approveSignal, approveUpdate, progressQuery, reportQuery } from '../src/workflows';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { productCloudApis, startMigrationEnv, type MigrationEnv } from './helpers/migration';

/** The actions that change the cloud (the product's table, src/shared/cloud-changes.ts, is a subset). */
const MUTATING = /^(Convert|Create|Attach|Detach|Delete|Associate|Unassociate|Modify)/;

// One cloud and one server for the whole file; instances by role.
const I = {
  stopped: 0,
  starting: 1,
  noSnat: 2,
  smallType: 3,
  prePaid: 4,
  zoneI: 5,
  prePaidAllowed: 6,
  hasEip: 7,
  approval: 8, // and 9, 10
  payByTraffic: 11,
};
let env: MigrationEnv;
let otherZoneVSwitch: string;
let otherVpcGroup: string;

before(async () => {
  env = await startMigrationEnv({
    instances: 12,
    topology: (t) => {
      const vpc = t.vpcs[0];
      // A vSwitch no SNAT entry covers, and an instance in it.
      vpc.vSwitches.push({
        vSwitchId: 'vsw-nosnat0001',
        zoneId: vpc.vSwitches[0].zoneId,
        cidrBlock: '192.168.9.0/24',
      });
      // A second VPC with its own security group.
      t.vpcs.push({
        vpcId: 'vpc-other00001',
        cidrBlock: '10.0.0.0/16',
        vSwitches: [
          { vSwitchId: 'vsw-other00001', zoneId: vpc.vSwitches[0].zoneId, cidrBlock: '10.0.1.0/24' },
        ],
        securityGroups: [{ securityGroupId: 'sg-other00001' }],
      });
      t.instances[I.stopped].status = 'Stopped';
      t.instances[I.starting].status = 'Starting';
      t.instances[I.noSnat].vSwitchId = 'vsw-nosnat0001';
      t.instances[I.smallType].instanceType = 'ecs.t5-lc1m1.small';
      t.instances[I.prePaid].instanceChargeType = 'PrePaid';
      t.instances[I.prePaid].internetChargeType = 'PayByBandwidth';
      t.instances[I.payByTraffic].instanceChargeType = 'PrePaid';
      t.instances[I.payByTraffic].internetChargeType = 'PayByBandwidth';
      t.instances[I.prePaidAllowed].instanceChargeType = 'PrePaid';
      // Instance 5 is in the first vSwitch's zone: the second vSwitch is in the other zone.
      t.instances[I.zoneI].vSwitchId = vpc.vSwitches[0].vSwitchId;
      otherZoneVSwitch = vpc.vSwitches[1].vSwitchId;
      otherVpcGroup = 'sg-other00001';
    },
  });
});
after(() => env?.stop());

describe('preflight refuses bad inputs before any change', () => {
  /** Runs a migration expected to be refused; returns the failure message and checks nothing changed. */
  async function refused(
    input: Partial<MigrationInput> & { instanceId: string },
    taskQueue?: string,
  ): Promise<string> {
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const handle = await env.start(input, taskQueue);
    const err = await handle.result().then(
      (r) => assert.fail(`expected a refusal, got ${JSON.stringify(r)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'PreflightFailed');
    assert.equal(err.cause.nonRetryable, true);
    const calls = await env.cloud.admin.calls({ since });
    assert.ok(calls.length > 0);
    assert.deepEqual(
      calls.filter((c) => MUTATING.test(c.action)).map((c) => c.action),
      [],
      'no mutating call before the refusal',
    );
    return err.cause.message;
  }

  it('an unknown instance', async () => {
    assert.match(
      await refused({ instanceId: 'i-doesnotexist00000' }),
      /instance i-doesnotexist00000 not found in region/,
    );
  });

  it('a Stopped instance while verification is on (accepted in a dry run without verification)', async () => {
    const { instanceId } = env.instances[I.stopped];
    assert.match(await refused({ instanceId }), /Stopped, so the move cannot be verified over SSH: start it/);
    const plan = await env.migrate({ instanceId, verify: false, dryRun: true });
    assert.equal(plan.outcome, 'planned');
    assert.ok(
      plan.checks.every((c) => c.ok),
      JSON.stringify(plan.checks),
    );
  });

  it('an instance in a transitional state', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.starting].instanceId }),
      /is Starting: wait until it is Running/,
    );
  });

  it('no SNAT entry covering the instance', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.noSnat].instanceId }),
      /no SNAT entry .* create an SNAT entry for the vSwitch first/,
    );
  });

  it('a vSwitch in another zone', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.zoneI].instanceId, vSwitchId: otherZoneVSwitch }),
      /vSwitch vsw-\w+ is in zone \S+, the instance in \S+; .* pass a vSwitch of zone/,
    );
  });

  it('a security group in another VPC', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.zoneI].instanceId, securityGroupId: otherVpcGroup }),
      /security group sg-other00001 is in VPC vpc-other00001, the instance in vpc-\w+: pass a security group of VPC/,
    );
  });

  it('an instance type without a free ENI slot', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.smallType].instanceId }),
      /ecs\.t5-lc1m1\.small takes at most 1 ENIs and 1 are attached/,
    );
  });

  it('a PrePaid instance billed by fixed bandwidth, unless the caller allows a billing switch', async () => {
    assert.match(
      await refused({ instanceId: env.instances[I.prePaid].instanceId }),
      /subscription \(PrePaid\) instance whose bandwidth is billed by fixed bandwidth.*--bandwidth-pay-by-traffic/,
    );
    const { instanceId } = env.instances[I.prePaidAllowed];
    const report = await env.migrate({ instanceId, allowChargeTypeChange: true });
    assert.equal(report.outcome, 'verified', report.cause);
    const modify = await env.cloud.admin.calls({ action: 'ModifyInstanceChargeType' });
    assert.equal(modify.length, 1);
  });

  it('--bandwidth-pay-by-traffic switches only the bandwidth billing before step 1', async () => {
    const { instanceId } = env.instances[I.payByTraffic];
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const report = await env.migrate({ instanceId, allowPayByTraffic: true });
    assert.equal(report.outcome, 'verified', report.cause);
    const changes = (await env.cloud.admin.calls({ since }))
      .filter((c) => MUTATING.test(c.action))
      .map((c) => c.action);
    assert.deepEqual(changes.slice(0, 2), ['ModifyInstanceNetworkSpec', 'ConvertNatPublicIpToEip']);
    assert.ok(!changes.includes('ModifyInstanceChargeType'), changes.join());
  });

  it('wrong credentials', async () => {
    const { ecs, vpc } = productCloudApis(env.cloud, env.regionId, 'not-the-secret');
    const activities = createActivities({ ecs, vpc, ssh: env.ssh, pollIntervalMs: 50 });
    const message = await env.withWorker(activities, (queue) =>
      refused({ instanceId: env.instances[I.zoneI].instanceId }, queue),
    );
    assert.match(message, /SignatureDoesNotMatch.*fix: check ALIBABA_CLOUD_ACCESS_KEY_SECRET/);
    assert.doesNotMatch(message, /not-the-secret/);
  });

  it('a dry run reports failed checks instead of refusing', async () => {
    const report = await env.migrate({ instanceId: env.instances[I.noSnat].instanceId, dryRun: true });
    assert.equal(report.outcome, 'planned');
    assert.match(report.cause ?? '', /SNAT entry covers the instance: no SNAT entry/);
    assert.equal(report.checks.find((c) => c.name === 'SNAT entry covers the instance')?.ok, false);
  });

  it('an instance that already has an EIP skips step 1', async () => {
    const { instanceId, publicIp } = env.instances[I.hasEip];
    await env.cloud.ecs.convertNatPublicIpToEip(
      new $Ecs.ConvertNatPublicIpToEipRequest({ regionId: env.regionId, instanceId }),
    );
    await sleep(300); // the conversion's own transition
    const report = await env.migrate({ instanceId });
    assert.equal(report.outcome, 'verified', report.cause);
    assert.equal(report.steps.find((s) => s.name === 'convertToEip')?.state, 'skipped');
    assert.equal(report.publicIp, publicIp);

    // Run again: the move is done, so it is already migrated (exit 0), with nothing changed.
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const again = await env.migrate({ instanceId });
    assert.equal(again.outcome, 'already-migrated', again.cause);
    assert.match(again.cause ?? '', new RegExp(`EIP ${publicIp.replace(/\./g, '\\.')} is on ENI eni-`));
    assert.equal(exitCodeForReport(again), ExitCode.OK);
    const calls = await env.cloud.admin.calls({ since });
    assert.deepEqual(
      calls.filter((c) => MUTATING.test(c.action)),
      [],
    );
  });
});

describe('the approval gate before the irreversible step', () => {
  const gated = (n: number) => env.instances[I.approval + n];

  async function awaitingApproval(handle: Awaited<ReturnType<MigrationEnv['start']>>): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if ((await handle.query(progressQuery)).awaitingApproval) return;
      await sleep(25);
    }
    assert.fail('never waited for approval');
  }

  it('waits without changing anything, then proceeds on the approve update', async () => {
    const { instanceId, publicIp } = gated(0);
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const handle = await env.start({ instanceId, requireApproval: true });
    await awaitingApproval(handle);
    await sleep(200);
    const calls = await env.cloud.admin.calls({ since });
    assert.deepEqual(
      calls.filter((c) => MUTATING.test(c.action)),
      [],
    );
    assert.deepEqual((await env.view()).instance(instanceId).PublicIpAddress, [publicIp]);
    await handle.executeUpdate(approveUpdate);
    const report = await handle.result();
    assert.equal(report.outcome, 'verified', report.cause);
  });

  it('also proceeds on the approve signal', async () => {
    const handle = await env.start({ instanceId: gated(1).instanceId, requireApproval: true });
    await awaitingApproval(handle);
    await handle.signal(approveSignal);
    assert.equal((await handle.result()).outcome, 'verified');
  });

  it('cancelled while waiting: nothing was changed', async () => {
    const { instanceId, publicIp } = gated(2);
    const handle = await env.start({ instanceId, requireApproval: true });
    await awaitingApproval(handle);
    await handle.cancel();
    await assert.rejects(handle.result(), (e: unknown) => e instanceof WorkflowFailedError);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    const report = await handle.query(reportQuery);
    assert.equal(report?.outcome, 'rolled-back');
    assert.equal(report?.cause, 'cancelled');
    assert.equal(report?.eipConverted, 'no');
    assert.deepEqual((await env.view()).instance(instanceId).PublicIpAddress, [publicIp]);
  });

  it('refuses an approval that nothing waits for', async () => {
    const handle = await env.start({ instanceId: gated(0).instanceId, dryRun: true });
    await assert.rejects(handle.executeUpdate(approveUpdate), WorkflowUpdateFailedError);
    await handle.result();
  });
});

// --- The real fleet before step 1 (issue 8), at activity level: the activities run in a mock activity context
// against local clouds of their own (no Temporal), so each case costs milliseconds. Each refusal is checked against
// the cloud's call log: nothing that changes the cloud was called.

const F = {
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
function activity<K extends keyof Activities>(
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
    const r = await activity(acts, 'preflight', input(role, extra));
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
      i[F.twoGroups].securityGroupIds = [vpc.securityGroups[0].securityGroupId, SECOND_GROUP];
      Object.assign(i[F.prePaidTraffic], {
        instanceChargeType: 'PrePaid',
        internetChargeType: 'PayByTraffic',
      });
      Object.assign(i[F.prePaidBandwidth], {
        instanceChargeType: 'PrePaid',
        internetChargeType: 'PayByBandwidth',
      });
      Object.assign(i[F.prePaidExpiring], { instanceChargeType: 'PrePaid', expiresInHours: 12 });
      i[F.pendingChange].pendingConfigurationChange = true;
      i[F.stopFamily].instanceType = 'ecs.t6-c1m2.large';
      i[F.oldStart].startTime = '2017-06-01T00:00:00Z';
      i[F.noRoute].vSwitchId = NO_ROUTE_VSW;
      // An instance of the unrouted vSwitch without a public address: its egress shows the route table at work.
      i.push({
        ...i[F.plain],
        instanceId: 'i-noroutequiet01',
        vSwitchId: NO_ROUTE_VSW,
        publicIpAddress: undefined,
        internetMaxBandwidthOut: 0,
      });
      i.push({
        ...i[F.plain],
        instanceId: 'i-routedquiet001',
        publicIpAddress: undefined,
        internetMaxBandwidthOut: 0,
      });
    }));
  });

  it('the new ENI joins every security group of the instance; an explicit one still wins', async () => {
    const r = await activity(acts, 'preflight', input(F.twoGroups));
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    const groups = topology.instances[F.twoGroups].securityGroupIds;
    assert.deepEqual(r.plan.securityGroupIds, groups);
    const created = await activity(acts, 'createNetworkInterface', {
      instanceId: id(F.twoGroups),
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

    const one = await activity(acts, 'preflight', input(F.twoGroups, { securityGroupId: SECOND_GROUP }));
    assert.deepEqual(one.plan.securityGroupIds, [SECOND_GROUP]);
  });

  it('billing: a subscription billed by traffic converts as it is; by fixed bandwidth only with --bandwidth-pay-by-traffic', async () => {
    const direct = await activity(acts, 'preflight', input(F.prePaidTraffic));
    assert.equal(direct.ok, true, JSON.stringify(direct.checks));
    assert.equal(direct.plan.switchToPostPaid, false);
    assert.equal(direct.plan.switchToPayByTraffic, undefined);

    const detail = await refused(F.prePaidBandwidth, 'billing allows the conversion');
    assert.match(detail, /billed by fixed bandwidth.*--bandwidth-pay-by-traffic.*--allow-charge-type-change/);
    // The cloud refuses it as preflight says (the SDK, the documented code).
    await assert.rejects(
      tc.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({
          regionId: tc.cloud.regionId,
          instanceId: id(F.prePaidBandwidth),
        }),
      ),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInternetChargeType.ValueNotSupported' && e.statusCode === 403,
    );

    const allowed = await activity(acts, 'preflight', input(F.prePaidBandwidth, { allowPayByTraffic: true }));
    assert.equal(allowed.ok, true, JSON.stringify(allowed.checks));
    assert.equal(allowed.plan.switchToPayByTraffic, true);
    assert.equal(allowed.plan.switchToPostPaid, false);
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    await activity(acts, 'switchToPayByTraffic', { instanceId: id(F.prePaidBandwidth) });
    const modify = await tc.admin.calls({ since, action: 'ModifyInstanceNetworkSpec' });
    assert.equal(modify.length, 1);
    assert.equal(modify[0].params.NetworkChargeType, 'PayByTraffic');
    const inst = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: tc.cloud.regionId,
        instanceIds: JSON.stringify([id(F.prePaidBandwidth)]),
      }),
    );
    const after = inst.body!.instances!.instance![0];
    assert.equal(after.internetChargeType, 'PayByTraffic');
    assert.equal(after.instanceChargeType, 'PrePaid', 'only the bandwidth billing changed');
    await activity(acts, 'convertNatPublicIpToEip', {
      instanceId: id(F.prePaidBandwidth),
      publicIp: topology.instances[F.prePaidBandwidth].publicIpAddress!,
    });

    // The seed's whole-instance switch stays an explicit choice.
    const postPaid = await activity(
      acts,
      'preflight',
      input(F.prePaidExpiring, { allowChargeTypeChange: true }),
    );
    assert.equal(postPaid.plan.switchToPostPaid, true);
  });

  it('billing: a subscription expiring within 24 hours is refused; a scheduled change is refused by the cloud', async () => {
    assert.match(
      await refused(F.prePaidExpiring, 'billing allows the conversion'),
      /within 24 hours.*renew it first/,
    );
    await assert.rejects(
      tc.ecs.convertNatPublicIpToEip(
        new $Ecs.ConvertNatPublicIpToEipRequest({
          regionId: tc.cloud.regionId,
          instanceId: id(F.pendingChange),
        }),
      ),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInstanceId.PlanedChange' && e.statusCode === 403,
    );
  });

  it('an instance type that takes an ENI only while Stopped, Running: refused, as the cloud refuses the attach', async () => {
    assert.match(
      await refused(F.stopFamily, 'ENI can be attached now'),
      /ecs\.t6-c1m2\.large takes an ENI only while Stopped.*stop it, then migrate with verification off/,
    );
    await assertAttachRefused(id(F.stopFamily));
  });

  it('an instance Running since before 2018-04-01: refused until rebooted, as the cloud refuses the attach', async () => {
    const inst = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({
        regionId: tc.cloud.regionId,
        instanceIds: JSON.stringify([id(F.oldStart)]),
      }),
    );
    assert.equal(inst.body!.instances!.instance![0].startTime, '2017-06-01T00:00Z');
    assert.match(await refused(F.oldStart, 'ENI can be attached now'), /before 2018-04-01.*reboot it/);
    await assertAttachRefused(id(F.oldStart));
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
      await refused(F.noRoute, 'default route to the NAT gateway'),
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
    const r = await activity(acts, 'preflight', input(F.plain));
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    const reads = await tc.admin.calls({ since, action: 'DescribeSnatTableEntries' });
    assert.ok(reads.length > 0);
    for (const read of reads)
      assert.ok(read.params.SourceVSwitchId || read.params.SourceCIDR, JSON.stringify(read.params));
  });

  it('an instance whose EIP is on a NAT-mode ENI already is already migrated, which exits 0', async () => {
    const instanceId = id(F.moved);
    const publicIp = topology.instances[F.moved].publicIpAddress!;
    const convert = await activity(acts, 'convertNatPublicIpToEip', { instanceId, publicIp });
    const r0 = await activity(acts, 'preflight', input(F.moved));
    const eni = await activity(acts, 'createNetworkInterface', {
      instanceId,
      vSwitchId: r0.plan.vSwitchId!,
      securityGroupId: r0.plan.securityGroupId!,
    });
    await activity(acts, 'attachNetworkInterface', {
      networkInterfaceId: eni.networkInterfaceId,
      instanceId,
    });
    await activity(acts, 'unassociateEipFromInstance', { allocationId: convert.allocationId, instanceId });
    await activity(acts, 'associateEipToEni', {
      allocationId: convert.allocationId,
      networkInterfaceId: eni.networkInterfaceId,
      privateIpAddress: eni.privateIpAddress!,
    });

    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await activity(acts, 'preflight', input(F.moved));
    // Still a failed check for a release before 0.5, which reads `ok` alone and refused it; 0.5 reads alreadyMigrated.
    assert.equal(r.ok, false);
    assert.match(r.checks.at(-1)!.detail, /^already migrated: EIP /);
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
        t.quotas = { ...t.quotas, maxEips: 1 };
      },
      { eipQuota: 1 },
    );
    const instanceId = topology.instances[0].instanceId;
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await activity(acts, 'preflight', {
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
