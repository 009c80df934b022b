/**
 * Deploying a new release while migrations run: migrations started by release 0.1.0's worker finish on the current
 * worker. The 0.1 worker is a bundle of test/fixtures/workflows-v0.1.ts (release 0.1's frozen workflow under the same
 * type name, so the same commands and history as a 0.1.0 worker); the current worker runs today's bundle and today's
 * activities, which must accept the activity inputs that 0.1's code scheduled.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { FAST_TIMINGS } from '../src/local-cloud';
import { progressQuery, type migrateInstance } from '../src/workflows';
import {
  assertAsAfterStep1,
  startMigrationEnv,
  workflowBundle,
  workflowBundleOf,
  type MigrationEnv,
} from './helpers/migration';

const OLD = 'worker-release-0.1';
const NEW = 'worker-current';
const SNAT_IP = '47.96.180.23'; // the default topology's NAT gateway address

type Handle = WorkflowHandle<typeof migrateInstance>;

interface HistoryEvent {
  eventId: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId: string; identity: string; attempt: number };
  activityTaskCompletedEventAttributes?: { scheduledEventId: string };
  activityTaskFailedEventAttributes?: { scheduledEventId: string };
  workflowTaskCompletedEventAttributes?: { identity: string };
}

/** What the history says about each activity: its type, how it ended, the worker and attempt of its last run. */
interface ActivityRun {
  name: string;
  outcome?: 'completed' | 'failed';
  identity?: string;
  attempt?: number;
}

async function history(handle: Handle): Promise<{ json: unknown; events: HistoryEvent[] }> {
  const json = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: HistoryEvent[] };
  return { json, events: json.events };
}

function activityRuns(events: HistoryEvent[]): ActivityRun[] {
  const runs = new Map<string, ActivityRun>();
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) runs.set(e.eventId, { name: scheduled.activityType.name });
    const started = e.activityTaskStartedEventAttributes;
    if (started)
      Object.assign(runs.get(started.scheduledEventId)!, {
        identity: started.identity,
        attempt: started.attempt,
      });
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) runs.get(completed.scheduledEventId)!.outcome = 'completed';
    const failed = e.activityTaskFailedEventAttributes;
    if (failed) runs.get(failed.scheduledEventId)!.outcome = 'failed';
  }
  return [...runs.values()];
}

/** The history was written by both workers, ran release 0.1's code to the end, and replays on today's bundle. */
async function assertUpgradedHistory(handle: Handle): Promise<ActivityRun[]> {
  const { json, events } = await history(handle);
  const deciders = new Set(
    events.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter(Boolean),
  );
  assert.deepEqual([...deciders].sort(), [NEW, OLD].sort(), 'workflow tasks completed by both workers');
  // Today's code marks its migrations with the patch eni-migration-0.2: this one stayed on 0.1's commands.
  assert.ok(!events.some((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED'), 'no patch marker');
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'upgraded' }, json);
  return activityRuns(events);
}

/** Polls until one of the migration's pending activities is `name` and `ok` holds for it. */
async function waitForPending(
  handle: Handle,
  name: string,
  ok: (a: { attempt: number }) => boolean,
): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const a = pending.find((p) => p.activityType?.name === name);
    if (a && ok({ attempt: a.attempt ?? 0 })) return a.attempt ?? 0;
    assert.ok(Date.now() < deadline, `${name} never pending as expected: ${JSON.stringify(pending)}`);
    await sleep(50);
  }
}

describe("migrations started by release 0.1.0's worker finish on the current worker", () => {
  let env: MigrationEnv;
  let v01: WorkflowBundle;
  before(async () => {
    [env, v01] = await Promise.all([
      startMigrationEnv({ instances: 2 }),
      workflowBundleOf(require.resolve('./fixtures/workflows-v0.1')),
    ]);
    // Each scenario starts its migration on a 0.1 worker, then deploys the current one on the same task queue.
    await env.stopWorker();
  });
  after(() => env?.stop());

  it("the 0.1 worker's bundle replays release 0.1.0's recorded histories (it is that release's workflow)", async () => {
    const dir = join(__dirname, 'fixtures', 'histories', '0.1.0');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 6);
    for (const file of files) {
      const recorded = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle: v01, replayName: file }, recorded, `v0.1-${file}`);
    }
  });

  it('a rollback stopped while a compensation is being retried ends rolled back', async () => {
    const instance = env.instances[0];
    const enisBefore = (await env.view()).secondaryEnis().length;
    await env.startWorker({ workflowBundle: v01, identity: OLD });
    // Step 5 fails (not retryable); binding the EIP back to the instance (step 4's compensation) then keeps failing
    // with a server error, which Temporal retries.
    await env.cloud.admin.fault({
      action: 'AssociateEipAddress',
      code: 'InvalidAssociation.Duplicated',
      count: 1,
    });
    await env.cloud.admin.fault({ action: 'AssociateEipAddress', code: 'ServiceUnavailable', rate: 1 });
    let handle: Handle;
    let attemptsOnOld: number;
    try {
      handle = await env.start({ instanceId: instance.instanceId });
      // Two attempts failed on the 0.1 worker; the next one is due.
      attemptsOnOld = await waitForPending(handle, 'associateEipToInstance', (a) => a.attempt >= 3);
      const steps = (await handle.query(progressQuery)).steps;
      assert.equal(steps.find((s) => s.name === 'unassociateEip')?.state, 'compensating');
      await env.stopWorker();
    } finally {
      await env.cloud.admin.clearFaults();
    }
    await env.startWorker({ identity: NEW });
    try {
      const report = await handle.result();
      assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
      assert.match(report.cause ?? '', /InvalidAssociation\.Duplicated/);
      assert.equal(report.leftovers, undefined);
      assert.deepEqual(
        report.steps.filter((s) => s.state === 'compensated').map((s) => s.name),
        ['createEni', 'attachEni', 'unassociateEip', 'associateEipToEni'],
      );
      await assertAsAfterStep1(env, instance, report, enisBefore);

      const runs = await assertUpgradedHistory(handle);
      const run = (name: string) => runs.find((r) => r.name === name);
      assert.deepEqual(run('associateEipToEni'), {
        name: 'associateEipToEni',
        outcome: 'failed',
        identity: OLD,
        attempt: 1,
      });
      // The compensation 0.1's code scheduled finished on the current worker, after the 0.1 worker's attempts...
      const bindBack = run('associateEipToInstance')!;
      assert.equal(bindBack.outcome, 'completed');
      assert.equal(bindBack.identity, NEW);
      assert.ok(bindBack.attempt! >= attemptsOnOld, `attempt ${bindBack.attempt}`);
      // ...and so did the ones after it, with the inputs 0.1's code gave them.
      for (const name of ['detachNetworkInterface', 'deleteNetworkInterface']) {
        assert.deepEqual(run(name), { name, outcome: 'completed', identity: NEW, attempt: 1 });
      }
    } finally {
      await env.stopWorker();
    }
  });

  it('a migration stopped while attachEni waits ends verified', async () => {
    const { instanceId, publicIp } = env.instances[1];
    const hostKeyBefore = await env.ssh.hostKeyFingerprint(publicIp);
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    await env.startWorker({ workflowBundle: v01, identity: OLD });
    await env.cloud.admin.timings({ attachMs: 3000 });
    let handle: Handle;
    try {
      handle = await env.start({ instanceId });
      await waitForPending(handle, 'attachNetworkInterface', () => true);
      const deadline = Date.now() + 20_000;
      while ((await env.cloud.admin.calls({ action: 'AttachNetworkInterface', since })).length === 0) {
        assert.ok(Date.now() < deadline, 'never attached');
        await sleep(25);
      }
      await sleep(300); // inside the Attaching wait
      await env.stopWorker();
    } finally {
      await env.cloud.admin.timings(FAST_TIMINGS);
    }
    await env.startWorker({ identity: NEW });
    try {
      const report = await handle.result();
      assert.equal(report.outcome, 'verified', report.cause);
      assert.equal(report.snatIp, SNAT_IP);
      const view = await env.view();
      const eip = view.eipByAddress(publicIp);
      assert.equal(eip?.InstanceType, 'NetworkInterface');
      assert.equal(eip?.InstanceId, report.networkInterfaceId);
      assert.equal(eip?.Mode, 'NAT');
      assert.equal(view.eniById(report.networkInterfaceId!)?.InstanceId, instanceId);
      assert.equal(view.secondaryEnisOf(instanceId).length, 1);
      const attaches = await env.cloud.admin.calls({ action: 'AttachNetworkInterface', since });
      assert.equal(attaches.length, 1, 'the resumed wait did not attach again');
      const r = await env.ssh.run(publicIp, 'curl -s -m 5 https://myip.ipip.net');
      assert.equal(r.hostKeyFingerprint, hostKeyBefore);
      assert.match(r.stdout, /47\.96\.180\.23/);

      const runs = await assertUpgradedHistory(handle);
      const byWorker = (identity: string) => runs.filter((x) => x.identity === identity).map((x) => x.name);
      assert.deepEqual(byWorker(OLD), ['preflight', 'convertNatPublicIpToEip', 'createNetworkInterface']);
      // The attach that 0.1's worker started was retried on the current one, then 0.1's remaining steps ran there.
      assert.deepEqual(byWorker(NEW), [
        'attachNetworkInterface',
        'unassociateEipFromInstance',
        'associateEipToEni',
        'verifyMigration',
      ]);
      assert.ok(runs.every((x) => x.outcome === 'completed'));
      assert.ok(runs.find((x) => x.name === 'attachNetworkInterface')!.attempt! >= 2);
    } finally {
      await env.stopWorker();
    }
  });
});
