/**
 * Batches (migrateFleet) on a real Temporal dev server, with real children on a real worker, against the local cloud
 * over HTTP and its instances over SSH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatchClient, MigrationClient } from '../src/client';
import type { FleetInput, FleetReport } from '../src/shared/fleet';
import type { Topology } from '../src/local-cloud/model';
import { REGION_ID, VPC_ID } from '../src/shared/search-attributes';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { eventually } from './helpers/eventually';
import { saveHistories } from './helpers/history';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

const MUTATING = new Set([
  'ConvertNatPublicIpToEip',
  'ModifyInstanceChargeType',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  'AssociateEipAddress',
  'UnassociateEipAddress',
]);

/** Adds a second VPC (its own vSwitch, security group, NAT gateway and SNAT entry) with `count` instances. */
function withSecondVpc(t: Topology, count: number): void {
  const first = t.vpcs[0];
  const vSwitchId = 'vsw-second0001';
  const zoneId = first.vSwitches[0].zoneId;
  t.vpcs.push({
    vpcId: 'vpc-second0001',
    vpcName: 'second',
    cidrBlock: '10.20.0.0/16',
    vSwitches: [{ vSwitchId, zoneId, cidrBlock: '10.20.1.0/24' }],
    securityGroups: [{ securityGroupId: 'sg-second0001' }],
    natGateways: [
      {
        natGatewayId: 'ngw-second0001',
        vSwitchId,
        snatTableId: 'stb-second0001',
        eips: [{ allocationId: 'eip-secondnat01', ipAddress: '47.99.200.1' }],
        snatEntries: [{ snatEntryId: 'snat-second0001', snatIp: '47.99.200.1', sourceVSwitchId: vSwitchId }],
      },
    ],
  });
  t.quotas = { ...t.quotas, maxEips: (t.quotas?.maxEips ?? 20) + count }; // the account's quota covers the second VPC's instances too
  for (let n = 0; n < count; n++) {
    t.instances.push({
      instanceId: `i-second${String(n).padStart(4, '0')}`,
      instanceName: `api-${String(n + 1).padStart(2, '0')}`,
      vSwitchId,
      securityGroupIds: ['sg-second0001'],
      instanceType: 'ecs.g7.large',
      imageId: t.instances[0].imageId,
      internetMaxBandwidthOut: 5,
      publicIpAddress: `47.99.100.${n + 10}`,
      tags: [{ key: 'app', value: 'api' }],
    });
  }
}

async function batches(env: MigrationEnv): Promise<BatchClient> {
  const migrations = await MigrationClient.connect({
    client: env.temporal.client,
    temporal: { taskQueue: env.taskQueue },
  });
  return new BatchClient(migrations);
}

/** The VPC ids of the topology, as the cloud's state shows them. */
async function vpcIds(env: MigrationEnv): Promise<string[]> {
  return ((await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>).map((v) => v.VpcId);
}

function outcomes(report: Pick<FleetReport, 'instances'>): Record<string, string> {
  return Object.fromEntries(report.instances.map((i) => [i.instanceId, i.outcome ?? i.state]));
}

/** Batch histories for this release's replay corpus (written with RECORD_HISTORIES=1). */
const histories = new Map<string, string>();
after(() => saveHistories(histories));

async function keep(
  env: MigrationEnv,
  name: string,
  batch: { batchId: string; runId?: string },
): Promise<void> {
  const handle = env.temporal.client.workflow.getHandle(batch.batchId, batch.runId);
  histories.set(name, historyToJSON(await handle.fetchHistory()));
}

async function mutatingCalls(env: MigrationEnv, since = 0) {
  return (await env.cloud.admin.calls({ since })).filter((c) => MUTATING.has(c.action));
}

describe('a batch over two VPCs', () => {
  let env: MigrationEnv;
  let client: BatchClient;
  before(async () => {
    env = await startMigrationEnv({ instances: 16, topology: (t) => withSecondVpc(t, 14) });
    client = await batches(env);
  });
  after(() => env?.stop());

  it('migrates 30 instances (concurrency 5, and 14 with admission control), one ENI each; a second run finds every one already migrated', async () => {
    const vpcs = await vpcIds(env);
    assert.equal(vpcs.length, 2);
    const input = (vpcId: string, concurrency: number): FleetInput => ({
      regionId: env.regionId,
      vpcId,
      concurrency,
      canary: concurrency > 5 ? 0 : 1,
      migration: { verifyTimeoutSeconds: 10 },
    });
    const started = await Promise.all(vpcs.map((vpcId, i) => client.start(input(vpcId, i === 0 ? 5 : 14))));
    const reports = await Promise.all(started.map((s) => client.result(s.batchId)));
    await keep(env, 'batch-completed', started[0]);
    await keep(env, 'batch-admission-control', started[1]);
    // Admission control: 14 may run at once, but at most 10 are being started (initiated, not yet started) at a time.
    const events =
      (await env.temporal.client.workflow.getHandle(started[1].batchId).fetchHistory()).events ?? [];
    let pending = 0;
    let mostPending = 0;
    for (const e of events) {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes)
        mostPending = Math.max(mostPending, ++pending);
      if (
        e.childWorkflowExecutionStartedEventAttributes ||
        e.startChildWorkflowExecutionFailedEventAttributes
      )
        pending--;
    }
    assert.ok(reports[1].instances.length >= 14);
    assert.equal(mostPending, 10, 'at most 10 children starting at once');
    assert.ok(
      events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
      'the admission control patch is recorded',
    );
    const all = reports.flatMap((r) => r.instances);
    assert.equal(all.length, 30);
    for (const r of reports) {
      assert.equal(
        r.outcome,
        'completed',
        JSON.stringify(r.instances.filter((i) => i.outcome !== 'verified')),
      );
      assert.equal(r.counts.verified, r.total);
    }
    const view = await env.view();
    for (const i of all) {
      assert.equal(
        view.secondaryEnisOf(i.instanceId).length,
        1,
        `${i.instanceId} has exactly one secondary ENI`,
      );
    }
    assert.equal(view.secondaryEnis().length, 30);
    // The VPC's shared data is read once per batch (discovery), not once per instance.
    for (const action of ['DescribeNatGateways', 'DescribeVSwitches']) {
      assert.equal((await env.cloud.admin.calls({ action })).length, 2, `${action}: once per VPC`);
    }

    const seq = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const again = await Promise.all(
      vpcs.map(async (vpcId, n) => {
        const rerun = await client.start(input(vpcId, 5));
        const report = await client.result(rerun.batchId);
        if (n === 0) await keep(env, 'batch-already-migrated', rerun);
        return report;
      }),
    );
    for (const r of again) {
      assert.equal(r.outcome, 'completed');
      assert.deepEqual(new Set(Object.values(outcomes(r))), new Set(['already-migrated']));
    }
    assert.deepEqual(await mutatingCalls(env, seq), [], 'the second run changes nothing');
    assert.equal((await env.view()).secondaryEnis().length, 30);
  });
});

describe('batch controls', () => {
  let env: MigrationEnv;
  let client: BatchClient;
  before(async () => {
    env = await startMigrationEnv({ instances: 8 });
    client = await batches(env);
  });
  after(() => env?.stop());

  let vpcId: () => string;
  before(async () => {
    const [first] = await vpcIds(env);
    vpcId = () => first;
  });

  it('a dry run plans every instance and makes no mutating call', async () => {
    const seq = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const started = await client.start({ regionId: env.regionId, vpcId: vpcId(), dryRun: true });
    const report = await client.result(started.batchId);
    await keep(env, 'batch-dry-run', started);
    assert.equal(report.outcome, 'planned');
    assert.equal(report.counts.planned, 8);
    for (const i of report.instances) assert.match(i.plan ?? '', /convert NAT public IP .* to an EIP/);
    assert.deepEqual(await mutatingCalls(env, seq), []);
  });

  it('refuses a selection that finds no instance (a wrong VPC id, a filter that matches nothing)', async () => {
    for (const input of [
      { regionId: env.regionId, vpcId: 'vpc-doesnotexist0' },
      { regionId: env.regionId, vpcId: vpcId(), select: { tags: { app: 'nomatch' } } },
    ]) {
      const report = await client.result((await client.start(input)).batchId);
      assert.equal(report.outcome, 'refused');
      assert.match(report.cause ?? '', /no instance of vpc-\w+ in region .* matches the batch's filters/);
      assert.equal(report.total, 0);
    }
  });

  it('a canary that fails pauses the batch before any other instance is touched', async () => {
    const [canary, ...others] = env.instances;
    await env.cloud.admin.fault({
      action: 'AttachNetworkInterface',
      code: 'EniPerInstanceLimitExceeded',
      rate: 1,
      params: { InstanceId: canary.instanceId },
    });
    try {
      const started = await client.start({ regionId: env.regionId, vpcId: vpcId(), concurrency: 4 });
      const { batchId } = started;
      const paused = await eventually(async () => {
        const p = await client.progress(batchId);
        return p.state === 'paused' && p;
      }, 'the batch paused');
      assert.equal(paused.pausedBecause, 'canary-failed');
      assert.equal(paused.instances.find((i) => i.instanceId === canary.instanceId)?.outcome, 'rolled-back');
      assert.equal(paused.remaining, others.length);
      const view = await env.view();
      for (const other of others) {
        assert.deepEqual(
          view.instance(other.instanceId).PublicIpAddress,
          [other.publicIp],
          `${other.instanceId} untouched`,
        );
      }
      const touched = (await mutatingCalls(env)).filter((c) =>
        others.some((o) => Object.values(c.params).includes(o.instanceId)),
      );
      assert.deepEqual(touched, []);
      await client.cancel(batchId);
      const report = await client.result(batchId);
      assert.equal(report.outcome, 'cancelled');
      await keep(env, 'batch-cancelled-in-flight', { batchId });
      assert.equal(report.counts['not-started'], others.length);
      await keep(env, 'batch-canary-failed-cancelled', started);
    } finally {
      await env.cloud.admin.clearFaults();
    }
  });

  it('errors past --max-errors pause the batch; resume finishes it', async () => {
    const failing = env.instances.slice(1, 3);
    for (const f of failing) {
      await env.cloud.admin.fault({
        action: 'AttachNetworkInterface',
        code: 'EniPerInstanceLimitExceeded',
        rate: 1,
        params: { InstanceId: f.instanceId },
      });
    }
    const { batchId } = await client.start({
      regionId: env.regionId,
      vpcId: vpcId(),
      canary: 0,
      concurrency: 2,
      maxErrors: '1',
    });
    const paused = await eventually(
      async () => {
        const p = await client.progress(batchId);
        return p.state === 'paused' && p.inFlight === 0 && p;
      },
      'the breaker paused the batch',
      60_000,
    );
    assert.equal(paused.pausedBecause, 'max-errors');
    assert.equal(paused.errors, 2);
    assert.ok(paused.remaining > 0, 'instances wait for the operator');
    await env.cloud.admin.clearFaults();
    await client.resume(batchId);
    const report = await client.result(batchId);
    assert.equal(report.outcome, 'completed-with-errors');
    assert.equal(report.counts['rolled-back'], 2);
    await keep(env, 'batch-breaker-resumed', { batchId });
    assert.equal(report.remaining, 0);
    for (const f of failing) assert.equal(outcomes(report)[f.instanceId], 'rolled-back');
    const success = (report.counts.verified ?? 0) + (report.counts['already-migrated'] ?? 0);
    assert.equal(success, env.instances.length - 2);
  });
  it('an operator pause during the canary keeps the verdict: the failed canary pauses it, resume goes on', async () => {
    // web-02 and web-03 (rolled back by the breaker test, or fresh): by name, web-02 is the canary.
    const [canary, other] = env.instances.slice(1, 3);
    await env.cloud.admin.fault({
      action: 'AttachNetworkInterface',
      code: 'EniPerInstanceLimitExceeded',
      rate: 1,
      params: { InstanceId: canary.instanceId },
    });
    await env.cloud.admin.latency('AttachNetworkInterface', 1500);
    try {
      const { batchId } = await client.start({
        regionId: env.regionId,
        vpcId: vpcId(),
        select: { instanceIds: [canary.instanceId, other.instanceId] },
        concurrency: 2,
      });
      await eventually(async () => (await client.progress(batchId)).inFlight === 1, 'the canary in flight');
      await client.pause(batchId);
      const paused = await eventually(async () => {
        const p = await client.progress(batchId);
        return p.inFlight === 0 && p;
      }, 'the canary ended');
      assert.equal(paused.state, 'paused');
      assert.equal(paused.pausedBecause, 'canary-failed', 'the canary verdict is kept');
      assert.equal(
        outcomes(await client.progress(batchId))[other.instanceId],
        'queued',
        'nothing else started',
      );
      await env.cloud.admin.clearFaults();
      await client.resume(batchId);
      const report = await client.result(batchId);
      assert.equal(outcomes(report)[canary.instanceId], 'rolled-back');
      assert.equal(outcomes(report)[other.instanceId], 'verified');
      assert.equal(report.outcome, 'completed-with-errors');
    } finally {
      await env.cloud.admin.clearFaults();
      await env.cloud.admin.clearLatency();
    }
  });
});

describe('batch lifecycle', () => {
  let env: MigrationEnv;
  let client: BatchClient;
  let vpcId: string;
  before(async () => {
    env = await startMigrationEnv({ instances: 12 });
    client = await batches(env);
    [vpcId] = await vpcIds(env);
  });
  after(() => env?.stop());

  it('refuses a second batch for the VPC while one runs, whatever its workflow id', async () => {
    await env.cloud.admin.timings({ attachMs: 1500 });
    const select = { instanceIds: [env.instances[0].instanceId] };
    const { batchId } = await client.start({ regionId: env.regionId, vpcId, select, requireApproval: true });
    try {
      await assert.rejects(client.start({ regionId: env.regionId, vpcId }), /already running: eni-fleet\//);
      // A scheduled run has a timestamped id: the batch itself looks for others of its VPC.
      const handle = await env.temporal.client.workflow.start('migrateFleet', {
        taskQueue: `${env.taskQueue}-${env.regionId}`,
        workflowId: `${batchId}-2026-12-01T00:00:00Z`,
        args: [{ regionId: env.regionId, vpcId } satisfies FleetInput],
        typedSearchAttributes: [
          { key: VPC_ID, value: vpcId },
          { key: REGION_ID, value: env.regionId },
        ],
      });
      const refused = (await handle.result()) as FleetReport;
      await keep(env, 'batch-refused-another-running', { batchId: handle.workflowId });
      assert.equal(refused.outcome, 'refused');
      assert.match(refused.cause ?? '', new RegExp(`another batch is running for VPC ${vpcId}: ${batchId}`));
    } finally {
      await client.cancel(batchId);
      await client.result(batchId);
      await env.cloud.admin.timings({ attachMs: 100 });
    }
  });

  it('waits for approval of its plan before anything changes', async () => {
    const seq = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const target = env.instances[1];
    const { batchId } = await client.start({
      regionId: env.regionId,
      vpcId,
      select: { instanceIds: [target.instanceId] },
      requireApproval: true,
    });
    const waiting = await eventually(async () => {
      const p = await client.progress(batchId);
      return p.awaitingApproval && p;
    }, 'the batch awaiting approval');
    assert.match(waiting.instances[0].plan ?? '', /convert NAT public IP/);
    assert.deepEqual(await mutatingCalls(env, seq), []);
    await client.approve(batchId);
    const report = await client.result(batchId);
    await keep(env, 'batch-approved', { batchId });
    assert.equal(report.outcome, 'completed');
    assert.equal(outcomes(report)[target.instanceId], 'verified');
  });

  it('cancel rolls back only the migrations in flight; finished ones stay migrated', async () => {
    await env.cloud.admin.timings({ attachMs: 1500 });
    try {
      const { batchId } = await client.start({
        regionId: env.regionId,
        vpcId,
        select: { instanceIds: env.instances.slice(2, 8).map((i) => i.instanceId) },
        canary: 0,
        concurrency: 2,
      });
      await eventually(
        async () => {
          const p = await client.progress(batchId);
          return (p.counts.verified ?? 0) >= 1 && p.inFlight === 2 && p;
        },
        'one verified and two in flight',
        60_000,
      );
      await client.cancel(batchId);
      const report = await client.result(batchId);
      assert.equal(report.outcome, 'cancelled');
      const byOutcome = (o: string) => report.instances.filter((i) => i.outcome === o);
      assert.ok(byOutcome('verified').length >= 1);
      // Those in flight when the cancel arrived roll back (one may have verified in between).
      const rolledBack = byOutcome('rolled-back').length;
      assert.ok(rolledBack >= 1 && rolledBack <= 2, JSON.stringify(outcomes(report)));
      assert.equal(byOutcome('verified').length + rolledBack + byOutcome('not-started').length, 6);
      assert.ok(byOutcome('not-started').length >= 1);
      const view = await env.view();
      for (const i of byOutcome('verified')) assert.equal(view.secondaryEnisOf(i.instanceId).length, 1);
      for (const i of byOutcome('rolled-back')) {
        assert.equal(view.secondaryEnisOf(i.instanceId).length, 0);
        // Back as an EIP, or (cancelled before step 1) still its NAT public IP.
        const back = view.instance(i.instanceId);
        assert.ok(
          back.EipAddress === i.publicIp || back.PublicIpAddress.includes(i.publicIp ?? ''),
          `the address of ${i.instanceId} is on the instance: ${JSON.stringify(back)}`,
        );
      }
    } finally {
      await env.cloud.admin.timings({ attachMs: 100 });
    }
  });

  it('a maintenance window defers what it could not start', async () => {
    // Each migration takes over 3 s (the attach alone): the first starts, the window (6 s) closes before the rest can.
    await env.cloud.admin.timings({ attachMs: 3000 });
    try {
      const ids = env.instances.slice(8, 12).map((i) => i.instanceId);
      const { batchId } = await client.start({
        regionId: env.regionId,
        vpcId,
        select: { instanceIds: ids },
        canary: 0,
        concurrency: 1,
        windowSeconds: 6,
      });
      const report = await client.result(batchId);
      assert.equal(report.outcome, 'window-closed');
      await keep(env, 'batch-window-closed', { batchId });
      assert.ok((report.counts.verified ?? 0) >= 1);
      assert.ok(report.deferred >= 1);
      assert.equal((report.counts.verified ?? 0) + report.deferred, ids.length);
      for (const i of report.instances.filter((x) => x.outcome === 'deferred')) {
        assert.match(i.cause ?? '', /maintenance window ended/);
      }
    } finally {
      await env.cloud.admin.timings({ attachMs: 100 });
    }
  });

  it('continues as new with a small threshold, with the same result', async () => {
    const started = await client.start({
      regionId: env.regionId,
      vpcId,
      concurrency: 3,
      continueAsNewAfterEvents: 50,
    });
    const { batchId } = started;
    const report = await client.result(batchId);
    assert.ok(report.continuedAsNew >= 1, `continued as new ${report.continuedAsNew} times`);
    await keep(env, 'batch-continued-as-new-first-run', started);
    await keep(env, 'batch-continued-as-new-last-run', { batchId });
    assert.equal(report.total, 12);
    assert.equal(report.remaining, 0);
    assert.equal(report.outcome, 'completed');
    // Everything the earlier tests left is migrated now, once: one ENI per instance.
    const view = await env.view();
    for (const i of env.instances) assert.equal(view.secondaryEnisOf(i.instanceId).length, 1, i.instanceId);
  });
});
