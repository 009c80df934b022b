import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAST_TIMINGS } from '../src/local-cloud';
import { progressQuery } from '../src/workflows';
import { assertAsAfterStep1, startMigrationEnv, type MigrationEnv } from './helpers/migration';

let env: MigrationEnv;
before(async () => {
  env = await startMigrationEnv({ instances: 9 });
});
after(() => env?.stop());

async function callCount(action: string, since: number): Promise<number> {
  return (await env.cloud.admin.calls({ action, since })).filter((c) => c.status < 400).length;
}

describe('retryable trouble does not stop a migration', () => {
  it('throttling, server errors, conflicts, lagging Describe and a failed attach: verified, one ENI each', async () => {
    const { admin } = env.cloud;
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    const targets = env.instances.slice(0, 2);
    await admin.behaviours({ describeLagMs: 300, attachFallbacks: 1 });
    // Background noise at a rate a busy account sees, plus one of each failure where it hurts most.
    await admin.fault({ action: '*', code: 'Throttling.User', rate: 0.03, retryAfterMs: 100 });
    await admin.fault({
      action: 'ConvertNatPublicIpToEip',
      code: 'ServiceUnavailable',
      status: 503,
      count: 1,
    });
    await admin.fault({ action: 'CreateNetworkInterface', code: 'InternalError', status: 500, count: 1 });
    await admin.fault({ action: 'AttachNetworkInterface', code: 'OperationConflict', status: 409, count: 1 });
    await admin.fault({ action: 'UnassociateEipAddress', code: 'TaskConflict', count: 1 });
    await admin.fault({ action: 'AssociateEipAddress', code: 'IncorrectEipStatus', count: 1 });
    await admin.fault({
      action: 'DescribeNetworkInterfaces',
      code: 'Throttling.User',
      count: 2,
      retryAfterMs: 100,
    });
    try {
      const reports = await Promise.all(targets.map((t) => env.migrate({ instanceId: t.instanceId })));
      for (const r of reports) assert.equal(r.outcome, 'verified', r.cause);
      const failedCodes = new Set(
        (await admin.calls({ since })).filter((c) => c.status >= 400).map((c) => c.code),
      );
      for (const code of [
        'ServiceUnavailable',
        'InternalError',
        'OperationConflict',
        'TaskConflict',
        'IncorrectEipStatus',
      ]) {
        assert.ok(failedCodes.has(code), `${code} was injected and survived`);
      }
    } finally {
      await admin.clearFaults();
      await admin.behaviours({ describeLagMs: 0, attachFallbacks: 0 });
    }
    const view = await env.view();
    for (const t of targets) assert.equal(view.secondaryEnisOf(t.instanceId).length, 1, t.instanceId);
    assert.equal(await callCount('CreateNetworkInterface', since), 2, 'one ENI created per instance');
  });

  it(
    'throttled in window after window: the calls wait as the cloud asks, no activity attempt fails',
    { timeout: 60_000 },
    async () => {
      const { admin } = env.cloud;
      const { instanceId } = env.instances[7];
      const since = (await admin.calls()).at(-1)?.seq ?? 0;
      // Alibaba's fixed windows, shortened to 500 ms, with a quota of one call per API; step 4's unbind takes 1.1 s,
      // longer than the worker expects, so its polls of DescribeEipAddresses exceed the quota in window after window.
      const windowMs = 500;
      await admin.rateLimits({ action: '*', perMinute: 1, windowMs, code: 'Throttling' });
      await admin.timings({ unassociateMs: 1100 });
      let report;
      const handle = await env.start({ instanceId });
      try {
        report = await handle.result();
      } finally {
        await admin.resetRateLimits();
        await admin.timings({ unassociateMs: FAST_TIMINGS.unassociateMs });
      }
      assert.equal(report.outcome, 'verified', report.cause);
      const throttled = (await admin.calls({ since })).filter((c) => c.code === 'Throttling');
      const windows = new Set(throttled.map((c) => Math.floor(Date.parse(c.time) / windowMs)));
      assert.ok(windows.size >= 2, `throttled in ${windows.size} window(s): ${throttled.length} calls`);
      const attempts = (await handle.fetchHistory()).events!.flatMap((e) =>
        e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
      );
      assert.ok(attempts.length > 0);
      assert.deepEqual(new Set(attempts), new Set([1]), 'every activity succeeded at its first attempt');
    },
  );

  it(
    'a create and a bind the cloud fails once: the retries draw new ClientTokens (a strict cloud replays a failure for the old one)',
    { timeout: 60_000 },
    async () => {
      const { admin } = env.cloud;
      const { instanceId } = env.instances[8];
      const since = (await admin.calls()).at(-1)?.seq ?? 0;
      const enisBefore = (await env.view()).secondaryEnis().length;
      await admin.fault({ action: 'CreateNetworkInterface', code: 'OperationConflict', count: 1 });
      // Step 5's bind (to the ENI): the only AssociateEipAddress of a migration that goes well.
      await admin.fault({ action: 'AssociateEipAddress', code: 'Operation.Conflict', count: 1 });
      try {
        const report = await env.migrate({ instanceId });
        assert.equal(report.outcome, 'verified', report.cause);
      } finally {
        await admin.clearFaults();
      }
      const calls = await admin.calls({ since });
      for (const action of ['CreateNetworkInterface', 'AssociateEipAddress']) {
        const mine = calls.filter((c) => c.action === action && c.params.ClientToken);
        const failed = mine.filter((c) => c.status >= 400).map((c) => c.params.ClientToken);
        const ok = mine.filter((c) => c.status < 400).map((c) => c.params.ClientToken);
        assert.ok(failed.length >= 1 && ok.length >= 1, `${action}: failed once, then succeeded`);
        for (const token of failed)
          assert.ok(!ok.includes(token), `${action}: the success came with a new token`);
        assert.equal(new Set(failed).size, failed.length, `${action}: no token sent again after its failure`);
      }
      assert.equal((await env.view()).secondaryEnis().length, enisBefore + 1, 'one ENI');
    },
  );

  it('a lost response: the retried create gets the same ENI back (ClientToken), the retried bind finds it done', async () => {
    const { admin } = env.cloud;
    const { instanceId } = env.instances[2];
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    const enisBefore = (await env.view()).secondaryEnis().length;
    await admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InternalError',
      status: 500,
      count: 1,
      when: 'after',
    });
    await admin.fault({
      action: 'AssociateEipAddress',
      code: 'ServiceUnavailable',
      status: 503,
      count: 1,
      when: 'after',
    });
    try {
      const report = await env.migrate({ instanceId });
      assert.equal(report.outcome, 'verified', report.cause);
    } finally {
      await admin.clearFaults();
    }
    const creates = await admin.calls({ action: 'CreateNetworkInterface', since });
    assert.equal(creates.length, 2);
    assert.equal(creates[0].params.ClientToken, creates[1].params.ClientToken);
    assert.equal((await env.view()).secondaryEnis().length, enisBefore + 1);
  });

  it('a lost create answer and a lagging Describe during the rollback: the ENI is still found and deleted', async () => {
    const { admin } = env.cloud;
    const instance = env.instances[5];
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    const enisBefore = new Set((await env.view()).secondaryEnis().map((e) => e.NetworkInterfaceId));
    // The cloud creates the ENI but answers with a non-retryable error: step 2 fails without learning the id, and
    // Describe will not show the new ENI for the whole rollback.
    await admin.behaviours({ describeLagMs: 30_000 });
    await admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InvalidVSwitchId.IpNotEnough',
      count: 1,
      when: 'after',
    });
    let report;
    try {
      report = await env.migrate({ instanceId: instance.instanceId });
    } finally {
      await admin.clearFaults();
      await admin.behaviours({ describeLagMs: 0 });
    }
    assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
    assert.match(report.cause ?? '', /InvalidVSwitchId\.IpNotEnough/);
    assert.equal(report.leftovers, undefined);
    // No ENI of this migration is left, visible in Describe or not.
    const view = await env.view();
    assert.deepEqual(
      view.secondaryEnis().filter((e) => !enisBefore.has(e.NetworkInterfaceId)),
      [],
      'no ENI left behind',
    );
    const deleted = (await admin.calls({ action: 'DeleteNetworkInterface', since }))
      .filter((c) => c.status < 400)
      .map((c) => c.params.NetworkInterfaceId);
    assert.ok(
      deleted.some((id) => !enisBefore.has(id)),
      `the new ENI was deleted (deletes: ${deleted.join(', ')})`,
    );
    // The compensation learned the id by asking again, with step 2's ClientToken.
    const creates = await admin.calls({ action: 'CreateNetworkInterface', since });
    assert.equal(creates.length, 2, JSON.stringify(creates.map((c) => c.code)));
    assert.equal(creates[1].params.ClientToken, creates[0].params.ClientToken);
    await assertAsAfterStep1(env, instance, report, enisBefore.size);
  });

  it('a detach stuck in Detaching for good during a rollback: re-issued 3 times, then left with its fix; the instance keeps its address', async () => {
    const { admin } = env.cloud;
    const instance = env.instances[3];
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    // Re-issues do not clear it (DetachNetworkInterface doc: "if it persists, restart the instance"; TF #6436).
    await admin.behaviours({ stuckDetaches: 1, stuckDetachReissues: 100 });
    await admin.fault({ action: 'UnassociateEipAddress', code: 'InvalidParameter', count: 1 });
    try {
      const report = await env.migrate({ instanceId: instance.instanceId });
      assert.equal(report.outcome, 'failed', JSON.stringify(report));
      const leftovers = report.leftovers?.join('\n') ?? '';
      assert.match(leftovers, /still attached to .*restart the instance/);
      assert.match(leftovers, /stuck in Detaching .* after 3 re-issued detaches; restart the instance/);
      assert.match(leftovers, /created by this migration: delete it/);
      // The saga put nothing at risk: the EIP never left the instance.
      const eip = (await env.view()).eipByAddress(instance.publicIp);
      assert.equal(eip?.InstanceId, instance.instanceId);
      assert.equal(eip?.Status, 'InUse');
    } finally {
      await admin.clearFaults();
      await admin.behaviours({ stuckDetaches: 0, stuckDetachReissues: 0 });
    }
    assert.equal((await admin.calls({ action: 'DetachNetworkInterface', since })).length, 4);
  });
});

describe('a worker that goes away in the middle of a wait', () => {
  it('the migration resumes on a new worker and completes without duplicates', async () => {
    const { admin } = env.cloud;
    const { instanceId } = env.instances[4];
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    await admin.timings({ attachMs: 2500 });
    try {
      const handle = await env.start({ instanceId });
      for (let i = 0; ; i++) {
        const p = await handle.query(progressQuery);
        if (p.currentStep === 'attachEni') break;
        assert.ok(i < 400, 'never reached the attach');
        await sleep(25);
      }
      await sleep(300); // inside the Attaching wait
      await env.stopWorker();
      await sleep(500);
      await env.startWorker();
      const report = await handle.result();
      assert.equal(report.outcome, 'verified', report.cause);
    } finally {
      await admin.timings(FAST_TIMINGS);
    }
    assert.equal(await callCount('CreateNetworkInterface', since), 1);
    assert.equal(
      await callCount('AttachNetworkInterface', since),
      1,
      'the resumed wait did not attach again',
    );
    assert.equal((await env.view()).secondaryEnisOf(instanceId).length, 1);
  });
});
