/**
 * ENI_MIGRATE_METRICS: the worker's Prometheus endpoint serves the Temporal runtime's metrics and the product's, with
 * the values the migrations earned: three migrations (one rolled back by a quota error, one throttled once), scraped
 * from /metrics; a replay of their histories adds nothing. Real dev server, local cloud over HTTP, real SSH.
 *
 * The Runtime is one per process, fixed before the first connection: installed here first, with the exporter, so
 * startMigrationEnv's quietRuntime keeps it (each test file runs in a process of its own).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { BatchClient, MigrationClient } from '../src/client';
import { ConfigError, loadConfig } from '../src/config';
import { CALL_OK, METRIC } from '../src/observability/metrics';
import { freePort } from '../src/temporal/free-port';
import { installRuntime } from '../src/worker';
import { startMigrationEnv, workflowBundle, type MigrationEnv } from './helpers/migration';

/** One sample of the exposition: a name, its labels, its value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

class Scrape {
  constructor(readonly samples: Sample[]) {}

  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }

  /** The sum of the samples of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((total, s) => total + s.value, 0);
  }

  /** Label values of `label` among the samples of `name`. */
  values(name: string, label: string): Set<string> {
    return new Set(this.samples.filter((s) => s.name === name).map((s) => s.labels[label]));
  }
}

const total = (counter: string) => `${counter}_total`;

describe('Prometheus metrics (ENI_MIGRATE_METRICS)', () => {
  let env: MigrationEnv;
  let address: string;
  const scrape = async (): Promise<Scrape> => {
    const res = await fetch(`http://${address}/metrics`);
    assert.equal(res.status, 200);
    return new Scrape(parse(await res.text()));
  };

  before(async () => {
    address = `127.0.0.1:${await freePort()}`;
    // As the worker does with ENI_MIGRATE_METRICS set: the address goes through the configuration's validation.
    const config = loadConfig({ ENI_MIGRATE_METRICS: address });
    installRuntime({ metricsAddress: config.metricsAddress, logger: new DefaultLogger('ERROR') });
    env = await startMigrationEnv({ instances: 3 });
  });
  after(() => env?.stop());

  it('rejects an address the exporter cannot bind, naming the variable', () => {
    for (const bad of ['9464', 'localhost', 'example.com:9464', '127.0.0.1:99999', '::1:9464']) {
      assert.throws(
        () => loadConfig({ ENI_MIGRATE_METRICS: bad }),
        (err: Error) =>
          err instanceof ConfigError && /ENI_MIGRATE_METRICS=.* must be ip:port/.test(err.message),
        bad,
      );
    }
    assert.equal(loadConfig({ ENI_MIGRATE_METRICS: 'localhost:9464' }).metricsAddress, '127.0.0.1:9464');
    assert.equal(loadConfig({ ENI_MIGRATE_METRICS: '[::]:9464' }).metricsAddress, '[::]:9464');
    assert.equal(loadConfig({}).metricsAddress, undefined);
    // The runtime of this process serves another address: a worker asked for this one says so.
    assert.throws(() => installRuntime({ metricsAddress: '127.0.0.1:1' }), ConfigError);
  });

  it("serves the runtime's metrics and the migrations': started, ended by outcome, steps, offline, API calls, compensations", async () => {
    const [ok1, ok2, refused] = env.instances;
    const { admin } = env.cloud;
    // The third instance's type has no free ENI slot: step 3 fails for good, the migration rolls back.
    await admin.fault({
      action: 'AttachNetworkInterface',
      code: 'EniPerInstanceLimitExceeded',
      rate: 1,
      params: { InstanceId: refused.instanceId },
    });
    // One throttled call, which the retry gets through.
    await admin.fault({
      action: 'CreateNetworkInterface',
      code: 'Throttling.User',
      count: 1,
      retryAfterMs: 1,
    });
    const reports = await Promise.all(
      [ok1, ok2, refused].map((i) => env.migrate({ instanceId: i.instanceId })),
    );
    await admin.clearFaults();
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ['verified', 'verified', 'rolled-back'],
    );

    const m = await scrape();
    const names = m.names();

    // The runtime's own: task latencies, slots, sticky cache, polls.
    for (const name of [
      'temporal_workflow_task_execution_latency_seconds_bucket',
      'temporal_workflow_task_schedule_to_start_latency_seconds_count',
      'temporal_activity_execution_latency_seconds_count',
      'temporal_activity_schedule_to_start_latency_seconds_count',
      'temporal_worker_task_slots_available',
      'temporal_sticky_cache_size',
      'temporal_workflow_completed_total',
      'temporal_num_pollers',
    ]) {
      assert.ok(
        names.has(name),
        `${name} is served; the runtime's are: ${[...names].filter((n) => n.startsWith('temporal_')).join(' ')}`,
      );
    }
    assert.ok(m.sum('temporal_workflow_completed_total', { workflow_type: 'migrateInstance' }) >= 3);

    // Migrations started, and ended by outcome (the workflow's meter labels them with workflowType).
    const wf = { workflowType: 'migrateInstance' };
    assert.equal(m.sum(total(METRIC.migrationsStarted), wf), 3);
    assert.equal(m.sum(total(METRIC.migrationsEnded), { ...wf, outcome: 'verified' }), 2);
    assert.equal(m.sum(total(METRIC.migrationsEnded), { ...wf, outcome: 'rolled-back' }), 1);
    assert.equal(m.sum(total(METRIC.migrationsEnded), wf), 3);

    // Step durations: each step once a migration, the failed attach among them; the sum is the reports' durations.
    const steps = `${METRIC.stepDuration}_count`;
    assert.equal(m.sum(steps, { step: 'preflight', result: 'done' }), 3);
    assert.equal(m.sum(steps, { step: 'createEni', result: 'done' }), 3);
    assert.equal(m.sum(steps, { step: 'attachEni', result: 'done' }), 2);
    assert.equal(m.sum(steps, { step: 'attachEni', result: 'failed' }), 1);
    assert.equal(m.sum(steps, { step: 'verify', result: 'done' }), 2);
    assert.equal(m.sum(steps, { step: 'verify' }), 2);
    const stepMs = reports.flatMap((r) => r.steps).reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
    assert.ok(Math.abs(m.sum(`${METRIC.stepDuration}_sum`) - stepMs / 1000) < 0.01);

    // The offline window: the two that went through steps 4–5; the rolled-back one never lost its address.
    const offlineCount = `${METRIC.offlineWindow}_count`;
    assert.equal(m.sum(offlineCount, { outcome: 'verified' }), 2);
    assert.equal(m.sum(offlineCount), 2);
    const offlineMs = reports.reduce((sum, r) => sum + (r.offlineMs ?? 0), 0);
    assert.ok(offlineMs > 0);
    assert.ok(Math.abs(m.sum(`${METRIC.offlineWindow}_sum`) - offlineMs / 1000) < 0.01);
    assert.ok(m.sum(`${METRIC.offlineWindow}_bucket`, { le: '+Inf' }) === 2);

    // The compensations of the rolled-back one: detach (nothing attached) and delete the ENI.
    const compensations = total(METRIC.compensations);
    assert.equal(m.sum(compensations, { step: 'createEni', result: 'compensated' }), 1);
    assert.equal(m.sum(compensations, { step: 'attachEni', result: 'compensated' }), 1);
    assert.equal(m.sum(compensations, { result: 'failed' }), 0);

    // Cloud API calls by action and code: every call the cloud saw, and only those.
    const calls = total(METRIC.cloudApiCalls);
    const seen = await admin.calls();
    assert.equal(m.sum(calls), seen.length);
    for (const action of new Set(seen.map((c) => c.action))) {
      assert.equal(
        m.sum(calls, { action }),
        seen.filter((c) => c.action === action).length,
        `calls of ${action}`,
      );
    }
    assert.equal(m.sum(calls, { action: 'AttachNetworkInterface', code: CALL_OK }), 2);
    assert.equal(m.sum(calls, { action: 'AttachNetworkInterface', code: 'EniPerInstanceLimitExceeded' }), 1);
    assert.equal(m.sum(calls, { action: 'CreateNetworkInterface', code: 'Throttling.User' }), 1);
    assert.equal(m.sum(calls, { action: 'CreateNetworkInterface', code: CALL_OK }), 3);
    assert.equal(m.sum(total(METRIC.cloudApiThrottled)), 1);
    assert.equal(m.sum(total(METRIC.cloudApiThrottled), { action: 'CreateNetworkInterface' }), 1);
    assert.equal(m.sum(`${METRIC.cloudApiDuration}_count`), seen.length);
    // The activity's meter adds its labels: the activity that made the call.
    assert.ok(m.values(calls, 'activityType').has('attachNetworkInterface'));
    // Nothing stuck.
    assert.equal(m.sum(total(METRIC.rollbackStuckRounds)), 0);

    // A replay of the three histories (what a new worker does with a cached-out workflow) records nothing again.
    const histories = await Promise.all(
      reports.map((r) => env.temporal.client.workflow.getHandle(r.workflowId).fetchHistory()),
    );
    for (const [i, history] of histories.entries()) {
      await Worker.runReplayHistory(
        { workflowBundle: await workflowBundle(), replayName: `metrics-${i}` },
        history,
        reports[i].workflowId,
      );
    }
    const after = await scrape();
    for (const name of [
      total(METRIC.migrationsStarted),
      total(METRIC.migrationsEnded),
      `${METRIC.stepDuration}_count`,
      `${METRIC.offlineWindow}_count`,
      total(METRIC.compensations),
    ]) {
      assert.equal(after.sum(name), m.sum(name), `${name} after the replay`);
    }
  });

  it('counts batches by state and outcome', async () => {
    const before = await scrape();
    const migrations = await MigrationClient.connect({
      client: env.temporal.client,
      temporal: { taskQueue: env.taskQueue },
    });
    const batches = new BatchClient(migrations);
    const [vpc] = (await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>;
    const { batchId } = await batches.start({ regionId: env.regionId, vpcId: vpc.VpcId, dryRun: true });
    const report = await batches.result(batchId);
    assert.equal(report.outcome, 'planned');

    const m = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      m.sum(name, labels) - before.sum(name, labels);
    assert.equal(delta(total(METRIC.batchesStarted), { workflowType: 'migrateFleet' }), 1);
    assert.equal(delta(total(METRIC.batchesEnded), { outcome: 'planned' }), 1);
    assert.equal(delta(total(METRIC.batchStates), { state: 'discovering' }), 1);
    assert.equal(delta(total(METRIC.batchStates), { state: 'planning' }), 1);
    assert.equal(delta(total(METRIC.batchPauses)), 0);
    // Entered minus left: the batches in each state now. An ended batch is in none.
    for (const state of m.values(total(METRIC.batchStates), 'state')) {
      assert.equal(
        delta(total(METRIC.batchStates), { state }) - delta(total(METRIC.batchStatesLeft), { state }),
        0,
        `batches in ${state} after the batch ended`,
      );
    }
    assert.equal(delta(total(METRIC.batchStatesLeft), { state: 'planning' }), 1);
  });
});
