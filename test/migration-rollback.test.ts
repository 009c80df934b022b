/**
 * A saga that never strands an address: the compensations that give the EIP a home never give up, a rollback that
 * cannot make progress says so (and takes an operator's retry or roll-forward), the way back that is impossible rolls
 * forward, the offline window has a budget, and every outcome says what happened — in the report and in Temporal's
 * own status. Real dev server, local cloud over HTTP, real SSH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MigrationClient } from '../src/client';
import { FAST_TIMINGS } from '../src/local-cloud';
import type { MigrationProgress } from '../src/shared/migration';
import { MIGRATION_OUTCOME, MIGRATION_STEP } from '../src/shared/search-attributes';
import { progressQuery, reportQuery, type migrateInstance } from '../src/workflows';
import { eventually } from './helpers/eventually';
import {
  assertAsAfterStep1,
  productCloudApis,
  startMigrationEnv,
  type MigrationEnv,
} from './helpers/migration';

/** An image whose guest answers on a secondary NIC only after set-up: verification fails on it. */
const MANUAL_NIC_IMAGE = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';

type Handle = WorkflowHandle<typeof migrateInstance>;

async function until(
  handle: Handle,
  what: string,
  ok: (p: MigrationProgress) => boolean,
  ms = 30_000,
): Promise<MigrationProgress> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await handle.query(progressQuery);
    if (ok(p)) return p;
    assert.ok(Date.now() < deadline, `${what} never happened: ${JSON.stringify(p)}`);
    await sleep(50);
  }
}

describe('a rollback never strands the address', () => {
  let env: MigrationEnv;
  let client: MigrationClient;
  before(async () => {
    env = await startMigrationEnv({
      instances: 11,
      topology: (t) => {
        for (const n of [0, 1, 2, 9]) t.instances[n].imageId = MANUAL_NIC_IMAGE;
      },
    });
    client = await MigrationClient.connect({ client: env.temporal.client });
  });
  after(() => env?.stop());

  it('a permission error on the bind-back, longer than any attempt limit, ends rolled-back once it is fixed', async () => {
    const instance = env.instances[0];
    const enisBefore = (await env.view()).secondaryEnis().length;
    // Verification fails (the guest is not set up for a second NIC); then the RAM policy forbids AssociateEipAddress.
    const handle = await env.start({
      instanceId: instance.instanceId,
      verifyTimeoutSeconds: 2,
      rollbackRetryMaxIntervalSeconds: 1, // the shortest the workflow accepts
    });
    await until(handle, 'verify', (p) => p.currentStep === 'verify');
    await env.cloud.admin.fault({ action: 'AssociateEipAddress', code: 'Forbidden.RAM', rate: 1 });
    let stuckFor: number;
    try {
      // Release 0.1 gave up after 20 attempts; here the rounds go on, visibly stuck.
      const stuck = await until(
        handle,
        '21 stuck rounds',
        (p) => (p.rollbackStuck?.rounds ?? 0) > 21,
        90_000,
      );
      stuckFor = Date.now() - Date.parse(stuck.rollbackStuck!.since);
      assert.equal(stuck.rollbackStuck?.step, 'unassociateEip');
      assert.equal(stuck.rollbackStuck?.action, 'bind the EIP back to the instance');
      assert.match(stuck.rollbackStuck?.lastError ?? '', /Forbidden\.RAM/);
      assert.match(stuck.rollbackStuck?.fix ?? '', /RAM/);
      assert.equal(stuck.rollbackStuck?.canRollForward, true);
      const sa = (await handle.describe()).typedSearchAttributes;
      assert.equal(sa.get(MIGRATION_STEP), 'rollback-stuck:unassociateEip');
      assert.equal(sa.get(MIGRATION_OUTCOME), 'running');
      // The Web UI's current details say the same, with the fix and the commands that answer it.
      const { currentDetails } = await handle.query<{ currentDetails?: string }>(
        '__temporal_workflow_metadata',
      );
      const details = currentDetails ?? '';
      assert.match(
        details,
        /^\*\*Rollback stuck\*\* \(undoing step 4\): bind the EIP back to the instance failed \d+ round\(s\) since .*Forbidden\.RAM/m,
      );
      assert.match(details, /^Fix: .*RAM.*Next round at /m);
      assert.match(details, new RegExp(`eni-migrate retry-rollback ${handle.workflowId}\``));
      assert.match(details, new RegExp(`eni-migrate roll-forward ${handle.workflowId}\``));
      assert.match(details, /^\*\*No public address\*\* since \d{4}-/m);
      // Meanwhile the ENI was neither detached nor deleted, and the EIP is free (bound to nothing).
      const view = await env.view();
      assert.equal(view.eipByAddress(instance.publicIp)?.Status, 'Available');
      assert.equal(view.secondaryEnisOf(instance.instanceId).length, 1);
    } finally {
      await env.cloud.admin.clearFaults();
    }
    // The operator fixed the policy: the next round goes through by itself.
    const report = await client.result(handle.workflowId);
    assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
    assert.match(report.cause ?? '', /verification failed/);
    assert.equal(report.eipConverted, 'yes');
    // The window without a public address counts the stuck rollback too.
    assert.ok((report.offlineMs ?? 0) >= stuckFor, `${report.offlineMs} < ${stuckFor}`);
    await assertAsAfterStep1(env, instance, report, enisBefore);
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
  });

  it('a bind-back that is impossible rolls forward: the EIP ends on the ENI, never unbound', async () => {
    const instance = env.instances[1];
    const handle = await env.start({ instanceId: instance.instanceId, verifyTimeoutSeconds: 2 });
    await until(handle, 'verify', (p) => p.currentStep === 'verify');
    // The instance got another public address meanwhile: the cloud refuses to bind the EIP back, once.
    await env.cloud.admin.fault({
      action: 'AssociateEipAddress',
      code: 'InvalidAssociation.Duplicated',
      count: 1,
    });
    try {
      const report = await client.result(handle.workflowId);
      assert.equal(report.outcome, 'rolled-forward', JSON.stringify(report));
      assert.match(report.rolledForward ?? '', /bind the EIP back to the instance is impossible/);
      assert.match(report.cause ?? '', /verification failed/);
      const view = await env.view();
      const eip = view.eipByAddress(instance.publicIp);
      assert.equal(eip?.Status, 'InUse');
      assert.equal(eip?.InstanceId, report.networkInterfaceId);
      assert.equal(view.eniById(report.networkInterfaceId!)?.Status, 'InUse');
      const detaches = (await env.cloud.admin.calls()).filter((c) => c.action === 'DetachNetworkInterface');
      assert.deepEqual(
        detaches.filter((c) => c.params.NetworkInterfaceId === report.networkInterfaceId),
        [],
      );
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('an operator can retry a stuck rollback at once, or roll it forward', async () => {
    const instance = env.instances[2];
    const handle = await env.start({
      instanceId: instance.instanceId,
      verifyTimeoutSeconds: 2,
      rollbackRetryMaxIntervalSeconds: 3600, // no round would come by itself within the test
    });
    await until(handle, 'verify', (p) => p.currentStep === 'verify');
    await env.cloud.admin.fault({ action: 'UnassociateEipAddress', code: 'Forbidden.RAM', rate: 1 });
    try {
      const first = await until(handle, 'stuck', (p) => p.rollbackStuck !== undefined);
      assert.equal(first.rollbackStuck?.action, 'unbind the EIP from the ENI');
      await assert.rejects(client.approve(handle.workflowId), /without an approval gate/);
      await client.retryRollback(handle.workflowId);
      await until(handle, 'a second round', (p) => (p.rollbackStuck?.rounds ?? 0) >= 2, 10_000);
      await client.rollForward(handle.workflowId);
      const report = await client.result(handle.workflowId);
      assert.equal(report.outcome, 'rolled-forward', JSON.stringify(report));
      assert.match(report.rolledForward ?? '', /operator chose/);
      assert.equal(report.steps.find((st) => st.name === 'associateEipToEni')?.state, 'done');
      const eip = (await env.view()).eipByAddress(instance.publicIp);
      assert.equal(eip?.InstanceId, report.networkInterfaceId);
      await assert.rejects(client.retryRollback(handle.workflowId), /cannot retry/);
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('a stuck rollback fixed by hand ends once the operator retries: the EIP already has its home', async () => {
    const instance = env.instances[9];
    const enisBefore = (await env.view()).secondaryEnis().length;
    const handle = await env.start({
      instanceId: instance.instanceId,
      verifyTimeoutSeconds: 2,
      rollbackRetryMaxIntervalSeconds: 3600,
    });
    await until(handle, 'verify', (p) => p.currentStep === 'verify');
    await env.cloud.admin.fault({ action: 'UnassociateEipAddress', code: 'Forbidden.RAM', rate: 1 });
    const stuck = await until(handle, 'stuck', (p) => p.rollbackStuck !== undefined);
    await env.cloud.admin.clearFaults();
    // The operator moves the EIP by hand: off the ENI, back onto the instance.
    const { vpc } = productCloudApis(env.cloud, env.regionId);
    const allocationId = stuck.resources.allocationId!;
    const eniId = stuck.resources.networkInterfaceId!;
    await vpc.unassociateEip({
      allocationId,
      instanceId: eniId,
      instanceType: 'NetworkInterface',
      clientToken: 'by-hand-1',
    });
    await eventually(async () => (await vpc.describeEip(allocationId))?.status === 'Available', 'EIP free');
    await vpc.associateEip({
      allocationId,
      instanceId: instance.instanceId,
      instanceType: 'EcsInstance',
      clientToken: 'by-hand-2',
    });
    await eventually(
      async () => (await vpc.describeEip(allocationId))?.status === 'InUse',
      'EIP on the instance',
    );
    await client.retryRollback(handle.workflowId);
    const report = await client.result(handle.workflowId);
    assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
    await assertAsAfterStep1(env, instance, report, enisBefore);
  });

  it('refuses limits that would harm, before anything changes', async () => {
    const instance = env.instances[10];
    for (const bad of [{ offlineBudgetSeconds: 0 }, { rollbackRetryMaxIntervalSeconds: 0.05 }]) {
      const err = await env.migrate({ instanceId: instance.instanceId, ...bad }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e as Error & { failureType?: string },
      );
      assert.equal(err.failureType, 'InvalidInput', String(err));
      assert.match(err.message, new RegExp(`${Object.keys(bad)[0]} must be a number of seconds of at least`));
    }
    assert.deepEqual((await env.view()).instance(instance.instanceId).PublicIpAddress, [instance.publicIp]);
  });

  it('the offline budget ends a slow step 5 and binds the EIP back to the instance', async () => {
    const instance = env.instances[3];
    const enisBefore = (await env.view()).secondaryEnis().length;
    await env.cloud.admin.timings({ associateMs: 8000 });
    try {
      const report = await env.migrate({ instanceId: instance.instanceId, offlineBudgetSeconds: 2 });
      assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
      assert.match(report.cause ?? '', /offline budget \(2 s\)/);
      // The budget bounded step 5; the rest of the window is the way back (a slow association itself).
      assert.ok((report.offlineMs ?? 0) >= 2000, String(report.offlineMs));
      await env.cloud.admin.timings(FAST_TIMINGS);
      await assertAsAfterStep1(env, instance, report, enisBefore);
    } finally {
      await env.cloud.admin.timings(FAST_TIMINGS);
    }
  });

  it('without verification the outcome is migrated, with the reason and the offline window', async () => {
    const instance = env.instances[4];
    const report = await env.migrate({ instanceId: instance.instanceId, verify: false });
    assert.equal(report.outcome, 'migrated');
    assert.match(report.verificationSkipped ?? '', /--no-verify/);
    assert.equal(report.steps.find((s) => s.name === 'verify')?.state, 'skipped');
    assert.equal(report.eipConverted, 'yes');
    assert.ok(report.offlineMs !== undefined && report.offlineMs > 0 && report.offlineMs < 10_000);
  });

  it('a migration that leaves resources ends as a failed workflow, its report in the failure', async () => {
    const instance = env.instances[5];
    // Deleting the ENI is forbidden: the rollback ends with the ENI left (it strands no address).
    await env.cloud.admin.fault({ action: 'DeleteNetworkInterface', code: 'Forbidden.RAM', rate: 1 });
    await env.cloud.admin.fault({ action: 'AttachNetworkInterface', code: 'InvalidParameter', count: 1 });
    try {
      const handle = await env.start({ instanceId: instance.instanceId });
      const err = await handle.result().then(
        () => assert.fail('expected a failed workflow'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'MigrationFailed');
      const report = await client.result(handle.workflowId);
      assert.equal(report.outcome, 'failed');
      assert.match(report.leftovers?.[0] ?? '', /created by this migration: delete it/);
      assert.equal((await handle.describe()).status.name, 'FAILED');
      assert.equal((await client.status(handle.workflowId)).report?.outcome, 'failed');
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('a cancelled migration ends Canceled in Temporal, its report by query', async () => {
    const instance = env.instances[6];
    const enisBefore = (await env.view()).secondaryEnis().length;
    await env.cloud.admin.timings({ attachMs: 1500 });
    try {
      const handle = await env.start({ instanceId: instance.instanceId });
      await until(handle, 'attachEni', (p) => p.currentStep === 'attachEni');
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('expected a cancelled workflow'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
      const description = await handle.describe();
      assert.equal(description.status.name, 'CANCELLED');
      assert.equal(description.typedSearchAttributes.get(MIGRATION_OUTCOME), 'cancelled');
      const report = await handle.query(reportQuery);
      assert.equal(report?.outcome, 'rolled-back');
      assert.equal(report?.cause, 'cancelled');
      // The client (and so the CLI: exit code 4) reads the same report.
      assert.deepEqual(await client.result(handle.workflowId), report);
      await env.cloud.admin.timings(FAST_TIMINGS);
      await assertAsAfterStep1(env, instance, report!, enisBefore);
    } finally {
      await env.cloud.admin.timings(FAST_TIMINGS);
    }
  });

  it('a lost answer to the conversion is reported as converted, not as nothing changed', async () => {
    const instance = env.instances[7];
    // The conversion happens, its answer is lost; the retry finds the EIP. Then step 2 fails for good.
    await env.cloud.admin.fault({
      action: 'ConvertNatPublicIpToEip',
      code: 'ServiceUnavailable',
      count: 1,
      when: 'after',
    });
    await env.cloud.admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InvalidVSwitchId.IpNotEnough',
      count: 1,
    });
    try {
      const report = await env.migrate({ instanceId: instance.instanceId });
      assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
      assert.equal(report.eipConverted, 'yes');
      assert.ok(report.allocationId?.startsWith('eip-'));
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('an approval given later runs the checks again, and refuses with nothing changed', async () => {
    const instance = env.instances[8];
    const handle = await env.start({ instanceId: instance.instanceId, requireApproval: true });
    await until(handle, 'approval gate', (p) => p.awaitingApproval);
    // Meanwhile the instance was stopped: verification cannot run, preflight refuses.
    await env.cloud.admin.fault({ action: 'DescribeInstances', code: 'InvalidInstanceId.NotFound', rate: 1 });
    try {
      await client.approve(handle.workflowId);
      const err = await client.result(handle.workflowId).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e as Error & { failureType?: string },
      );
      assert.equal(err.failureType, 'PreflightFailed', String(err));
      // Listed as refused, not failed: `list --outcome failed` is what needs a person.
      assert.equal((await handle.describe()).typedSearchAttributes.get(MIGRATION_OUTCOME), 'refused');
    } finally {
      await env.cloud.admin.clearFaults();
    }
    const calls = await env.cloud.admin.calls();
    assert.deepEqual(
      calls.filter(
        (c) => c.action === 'ConvertNatPublicIpToEip' && c.params.InstanceId === instance.instanceId,
      ),
      [],
    );
    assert.deepEqual((await env.view()).instance(instance.instanceId).PublicIpAddress, [instance.publicIp]);
  });
});
