import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { MigrationClient } from '../src/client';
import { FAST_TIMINGS } from '../src/local-cloud';
import type { StepName } from '../src/shared/migration';
import { MIGRATION_OUTCOME, MIGRATION_STEP } from '../src/shared/search-attributes';
import { progressQuery, type migrateInstance } from '../src/workflows';
import { assertAsAfterStep1, startMigrationEnv, type MigrationEnv } from './helpers/migration';

/** Polls the progress query until the migration is inside `step`. */
async function waitForStep(handle: WorkflowHandle<typeof migrateInstance>, step: StepName): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = await handle.query(progressQuery);
    if (p.currentStep === step && p.steps.find((s) => s.name === step)?.state === 'running') return;
    assert.ok(Date.now() < deadline, `never reached ${step}: ${JSON.stringify(p.steps)}`);
    await sleep(25);
  }
}

describe('cancelling a migration rolls it back', () => {
  let env: MigrationEnv;
  let client: MigrationClient;
  before(async () => {
    env = await startMigrationEnv({
      instances: 6,
      // The last instance's guest needs set-up for a secondary NIC, so verification keeps retrying until cancelled.
      topology: (t) => void (t.instances[4].imageId = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd'),
    });
  });
  before(async () => {
    client = await MigrationClient.connect({ client: env.temporal.client });
  });
  after(() => env?.stop());

  // Each step is slowed down so that the cancellation lands inside it.
  const cases: Array<{ step: StepName; slow: () => Promise<unknown> }> = [
    { step: 'createEni', slow: () => env.cloud.admin.latency('CreateNetworkInterface', 1200) },
    { step: 'attachEni', slow: () => env.cloud.admin.timings({ attachMs: 1200 }) },
    { step: 'unassociateEip', slow: () => env.cloud.admin.timings({ unassociateMs: 1200 }) },
    { step: 'associateEipToEni', slow: () => env.cloud.admin.timings({ associateMs: 1200 }) },
    { step: 'verify', slow: async () => undefined },
  ];
  cases.forEach(({ step, slow }, n) => {
    it(`in ${step}`, async () => {
      const instance = env.instances[n];
      const enisBefore = (await env.view()).secondaryEnis().length;
      await slow();
      try {
        const handle = await env.start({ instanceId: instance.instanceId, verifyTimeoutSeconds: 60 });
        await waitForStep(handle, step);
        await handle.cancel();
        // Canceled in Temporal, after the rollback; the report by query (the client reads it so).
        await assert.rejects(handle.result(), (e: unknown) => e instanceof WorkflowFailedError);
        assert.equal((await handle.describe()).status.name, 'CANCELLED');
        const report = await client.result(handle.workflowId);
        assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
        assert.equal(report.cause, 'cancelled');
        await env.cloud.admin.clearLatency();
        await env.cloud.admin.timings(FAST_TIMINGS);
        await assertAsAfterStep1(env, instance, report, enisBefore);
      } finally {
        await env.cloud.admin.clearLatency();
        await env.cloud.admin.timings(FAST_TIMINGS);
      }
    });
  });

  it('in preflight: nothing to undo, and the Web UI does not list it as running', async () => {
    const instance = env.instances[5];
    await env.cloud.admin.latency('DescribeInstances', 1500);
    try {
      const handle = await env.start({ instanceId: instance.instanceId });
      await waitForStep(handle, 'preflight');
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('a migration cancelled in preflight has no report'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
      const sa = (await handle.describe()).typedSearchAttributes;
      assert.equal(sa.get(MIGRATION_OUTCOME), 'cancelled');
      assert.equal(sa.get(MIGRATION_STEP), 'done');
      assert.equal((await handle.query(progressQuery)).currentStep, 'done');
      assert.deepEqual((await env.view()).instance(instance.instanceId).PublicIpAddress, [instance.publicIp]);
    } finally {
      await env.cloud.admin.clearLatency();
    }
  });
});
