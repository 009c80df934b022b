// The typed client that scripts import: start (one migration per instance), progress, approve, cancel, list,
// result. Real Temporal dev server, real worker, local cloud over HTTP with SSH-answering instances.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as $Ecs from '@alicloud/ecs20140526';
import { MigrationAlreadyRunningError, MigrationClient, MigrationClosedError } from '../src/client';
import { taskQueueFor } from '../src/config';
import { migrationWorkflowId, type MigrationProgress, type MigrationReport } from '../src/shared/migration';
import { eventually } from './helpers/eventually';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

describe('MigrationClient', () => {
  let env: MigrationEnv;
  let client: MigrationClient;
  let instances: string[];
  let regionId: string;

  before(async () => {
    env = await startMigrationEnv({ instances: 3 });
    regionId = env.regionId;
    instances = env.instances.map((i) => i.instanceId);
    const { server } = env.temporal;
    client = await MigrationClient.connect({
      temporal: { address: server.address, namespace: server.namespace, taskQueue: env.taskQueue },
    });
  });

  after(async () => {
    await client?.close();
    await env?.stop();
  });

  it('starts under the instance workflow id, reports progress, refuses a second start, attaches when asked', async () => {
    const instanceId = instances[0];
    const started = await client.start({ regionId, instanceId, requireApproval: true });
    assert.equal(started.workflowId, migrationWorkflowId(regionId, instanceId));
    assert.equal(started.attached, false);

    const waiting = await eventually(async () => {
      const p = await client.progress(started.workflowId);
      return p.awaitingApproval ? p : undefined;
    }, 'the approval gate');
    assert.equal(waiting.instanceId, instanceId);
    assert.equal(waiting.steps.find((s) => s.name === 'preflight')?.state, 'done');
    assert.equal(waiting.steps.find((s) => s.name === 'convertToEip')?.state, 'pending');

    await assert.rejects(client.start({ regionId, instanceId }), (err: unknown) => {
      assert.ok(err instanceof MigrationAlreadyRunningError);
      assert.equal(err.workflowId, started.workflowId);
      assert.match(err.message, /already running/);
      return true;
    });
    const attached = await client.start({ regionId, instanceId }, { attachIfRunning: true });
    assert.deepEqual(attached, { workflowId: started.workflowId, runId: started.runId, attached: true });

    // The InstanceId search attribute is set from the start: the migration is listed by instance.
    const listed = await eventually(async () => {
      const found = await client.list({ instanceId });
      return found.length ? found : undefined;
    }, 'the migration in visibility');
    assert.equal(listed[0].workflowId, started.workflowId);
    assert.equal(listed[0].instanceId, instanceId);
    assert.equal(listed[0].status, 'RUNNING');

    await client.approve(started.workflowId);
    const seen: MigrationProgress[] = [];
    const report: MigrationReport = await client.result(started.workflowId, {
      onProgress: (p) => seen.push(p),
      progressIntervalMs: 100,
    });
    assert.equal(report.outcome, 'verified', JSON.stringify(report));
    assert.ok(seen.length > 0, 'onProgress was called');
    assert.equal(seen.at(-1)?.awaitingApproval, false);
    const byOutcome = await eventually(async () => {
      const found = await client.list({ instanceId, outcome: 'verified' });
      return found.length ? found : undefined;
    }, 'MigrationOutcome=verified in visibility');
    assert.equal(byOutcome[0].workflowId, started.workflowId);
  });

  it('cancel before the irreversible step leaves the instance untouched', async () => {
    const instanceId = instances[1];
    const { workflowId } = await client.start({ regionId, instanceId, requireApproval: true });
    await eventually(async () => (await client.progress(workflowId)).awaitingApproval, 'the gate');
    await client.cancel(workflowId);
    // Either a report that says so, or the workflow ends Cancelled: both are honest answers.
    const ended = await client.result(workflowId).then(
      (report) => `${report.outcome}${report.cause === 'cancelled' ? '' : `: ${report.cause}`}`,
      (err: unknown) => {
        assert.ok(err instanceof MigrationClosedError, String(err));
        return err.status;
      },
    );
    assert.ok(['cancelled', 'rolled-back'].includes(ended), ended);
    // Cancelled before step 1: the NAT public IP was not converted, no ENI was created.
    const { body } = await env.cloud.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
    );
    const instance = body?.instances?.instance?.[0];
    assert.equal(instance?.publicIpAddress?.ipAddress?.length, 1);
    assert.ok(!instance?.eipAddress?.allocationId);
    const enis = await env.cloud.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, instanceId, type: 'Secondary' }),
    );
    assert.equal(enis.body?.networkInterfaceSets?.networkInterfaceSet?.length ?? 0, 0);
    const status = await client.status(workflowId);
    assert.notEqual(status.status, 'RUNNING');
  });

  it("starts on its region's task queue, so another region's worker never runs its activities", async () => {
    assert.equal(taskQueueFor('cn-hangzhou'), 'eni-migration-cn-hangzhou');
    assert.equal(taskQueueFor('cn-hangzhou', 'fleet'), 'fleet-cn-hangzhou');
    const instanceId = instances[2];
    const here = await client.start({ regionId, instanceId, requireApproval: true });
    // The same instance id in another region: a queue this region's worker does not poll, so nothing runs it.
    const elsewhere = await client.start({ regionId: 'cn-elsewhere', instanceId });
    try {
      const describe = (id: string) => client.client.workflow.getHandle(id).describe();
      assert.equal((await describe(here.workflowId)).taskQueue, `${env.taskQueue}-${regionId}`);
      assert.equal((await describe(elsewhere.workflowId)).taskQueue, `${env.taskQueue}-cn-elsewhere`);
      await eventually(async () => (await client.progress(here.workflowId)).awaitingApproval, 'the gate');
      const history = await client.client.workflow.getHandle(elsewhere.workflowId).fetchHistory();
      assert.ok(
        !history.events?.some((e) => e.workflowTaskStartedEventAttributes),
        'no worker picked up the other region',
      );
    } finally {
      await client.client.workflow.getHandle(elsewhere.workflowId).terminate('test done');
      await client.cancel(here.workflowId);
      await client.result(here.workflowId).catch(() => undefined);
    }
  });

  it('list filters are validated, not spliced into the query', async () => {
    await assert.rejects(client.list({ instanceId: "i-x' OR 1=1" }), /invalid filter value/);
  });
});
