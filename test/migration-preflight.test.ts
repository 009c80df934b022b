import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as $Ecs from '@alicloud/ecs20140526';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../src/activities';
import { ExitCode, exitCodeForReport } from '../src/cli/exit-codes';
import type { MigrationInput } from '../src/shared/migration';
import { approveSignal, approveUpdate, progressQuery, reportQuery } from '../src/workflows';
import { productCloudApis, startMigrationEnv, type MigrationEnv } from './helpers/migration';

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
