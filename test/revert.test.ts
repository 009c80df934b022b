/**
 * The way back (revertInstance): migrate, revert, migrate again, with the cloud checked after each; a revert refused
 * by preflight changes nothing; a revert that fails puts the EIP back on the ENI. Real dev server, local cloud, SSH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MigrationClient } from '../src/client';
import { guestScriptRegistry } from '../src/guest-scripts';
import { progressQuery } from '../src/workflows';
import { eventually } from './helpers/eventually';
import { REVERT_STEP_ORDER, type RevertInput } from '../src/shared/migration';
import { assertAsAfterStep1, startMigrationEnv, type MigrationEnv } from './helpers/migration';

describe('revertInstance: the way back', () => {
  let env: MigrationEnv;
  let client: MigrationClient;
  before(async () => {
    env = await startMigrationEnv({
      instances: 4,
      // An egress check that never answers the expected address: the revert's verification fails.
      guestScripts: guestScriptRegistry([
        {
          name: 'egress-elsewhere',
          description: 'answers an address that is not the instance address',
          command: 'echo 198.51.100.7',
          root: false,
          answer: 'ipv4',
        },
      ]),
    });
    client = await MigrationClient.connect({
      client: env.temporal.client,
      temporal: { taskQueue: env.taskQueue },
    });
  });
  after(() => env?.stop());

  const revert = async (input: Partial<RevertInput> & { instanceId: string }) => {
    const { workflowId } = await client.revert({ regionId: env.regionId, verifyTimeoutSeconds: 5, ...input });
    return client.result(workflowId);
  };

  const assertMigrated = async (instance: { instanceId: string; publicIp: string }, eniId: string) => {
    const view = await env.view();
    const eip = view.eipByAddress(instance.publicIp);
    assert.equal(eip?.Status, 'InUse');
    assert.equal(eip?.InstanceType, 'NetworkInterface');
    assert.equal(eip?.InstanceId, eniId);
    assert.equal(view.eniById(eniId)?.Status, 'InUse');
    assert.equal(view.instance(instance.instanceId).EipAddress, '');
    assert.deepEqual(view.instance(instance.instanceId).PublicIpAddress, []);
  };

  it('round-trips: migrate, revert, migrate again; the cloud holds exactly what it should after each', async () => {
    const instance = env.instances[0];
    const enisBefore = (await env.view()).secondaryEnis().length;

    const first = await env.migrate({ instanceId: instance.instanceId });
    assert.equal(first.outcome, 'verified', first.cause);
    await assertMigrated(instance, first.networkInterfaceId!);

    const back = await revert({ instanceId: instance.instanceId });
    assert.equal(back.outcome, 'reverted', JSON.stringify(back));
    assert.deepEqual(
      back.steps.map((s) => [s.name, s.state]),
      REVERT_STEP_ORDER.map((n) => [n, 'done']),
    );
    assert.equal(back.networkInterfaceId, first.networkInterfaceId);
    assert.ok((back.offlineMs ?? 0) > 0);
    // As after step 1: the address is an EIP on the instance, reaching it; the ENI is gone.
    await assertAsAfterStep1(env, instance, back, enisBefore);
    // What the Web UI shows of it (test/web-ui.test.ts looks at a migration's in a browser): a revert, not a
    // migration; the way back's steps numbered as the runbook numbers them; how it ended, in the current details.
    const handle = env.temporal.client.workflow.getHandle(back.workflowId);
    const described = await handle.describe();
    assert.equal(
      await described.staticSummary(),
      `Revert ${instance.instanceId}: its EIP back onto the instance, its ENI deleted`,
    );
    assert.match(
      (await described.staticDetails()) ?? '',
      /^- \*\*0\.\*\* Preflight[^]*^- \*\*5\.\*\* Delete the ENI$/m,
    );
    const { currentDetails } = await handle.query<{ currentDetails?: string }>(
      '__temporal_workflow_metadata',
    );
    assert.match(currentDetails ?? '', /^\*\*Ended: reverted\*\* after [\d.]+ s/);
    assert.match(currentDetails ?? '', /^Done: preflight \([\d.]+ s\), unassociateEipFromEni .*deleteEni/m);

    const again = await env.migrate({ instanceId: instance.instanceId });
    assert.equal(again.outcome, 'verified', again.cause);
    assert.equal(again.steps.find((s) => s.name === 'convertToEip')?.state, 'skipped');
    assert.equal(again.allocationId, first.allocationId, 'the same EIP moves again');
    assert.notEqual(again.networkInterfaceId, first.networkInterfaceId, 'a new ENI');
    await assertMigrated(instance, again.networkInterfaceId!);
    assert.equal((await env.view()).secondaryEnis().length, enisBefore + 1);
  });

  it('refuses an instance that was never migrated, with nothing changed', async () => {
    const instance = env.instances[1];
    const callsBefore = (await env.cloud.admin.calls()).length;
    const err = await revert({ instanceId: instance.instanceId }).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e as Error & { failureType?: string },
    );
    assert.equal(err.failureType, 'PreflightFailed');
    assert.match(err.message, /already has the public address .*nothing to revert/);
    const mutating = (await env.cloud.admin.calls())
      .slice(callsBefore)
      .filter((c) => !c.action.startsWith('Describe'));
    assert.deepEqual(mutating, []);
  });

  it('a revert that cannot bind the EIP to the instance puts it back on the ENI', async () => {
    const instance = env.instances[2];
    const migrated = await env.migrate({ instanceId: instance.instanceId });
    assert.equal(migrated.outcome, 'verified', migrated.cause);
    await env.cloud.admin.fault({ action: 'AssociateEipAddress', code: 'InvalidParameter', count: 1 });
    try {
      const report = await revert({ instanceId: instance.instanceId });
      assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
      assert.match(report.cause ?? '', /InvalidParameter/);
      await assertMigrated(instance, migrated.networkInterfaceId!);
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('a stuck way back can roll forward onto the instance: the ENI goes, the outcome says so', async () => {
    const instance = env.instances[3];
    const migrated = await env.migrate({ instanceId: instance.instanceId });
    assert.equal(migrated.outcome, 'verified', migrated.cause);
    const { workflowId } = await client.revert({
      regionId: env.regionId,
      instanceId: instance.instanceId,
      egressCheckScript: 'egress-elsewhere',
      verifyTimeoutSeconds: 1,
      rollbackRetryMaxIntervalSeconds: 3600,
    });
    const handle = env.temporal.client.workflow.getHandle(workflowId);
    // Verification fails; taking the EIP off the instance again is forbidden: the rollback is stuck.
    await eventually(
      async () => (await handle.query(progressQuery)).currentStep === 'verify',
      'the revert verifying',
      30_000,
    );
    await env.cloud.admin.fault({ action: 'UnassociateEipAddress', code: 'Forbidden.RAM', rate: 1 });
    try {
      const stuck = await eventually(
        async () => (await handle.query(progressQuery)).rollbackStuck,
        'the rollback stuck',
        30_000,
      );
      assert.equal(stuck.action, 'unbind the EIP from the instance');
      assert.equal(stuck.canRollForward, true);
      await client.rollForward(workflowId);
      const report = await client.result(workflowId);
      assert.equal(report.outcome, 'rolled-forward', JSON.stringify(report));
      assert.match(report.rolledForward ?? '', /operator chose/);
      assert.equal(report.steps.find((s) => s.name === 'deleteEni')?.state, 'done');
      const view = await env.view();
      assert.equal(view.eipByAddress(instance.publicIp)?.InstanceId, instance.instanceId);
      assert.equal(view.eniById(migrated.networkInterfaceId!), undefined, 'the ENI is gone');
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });
});
