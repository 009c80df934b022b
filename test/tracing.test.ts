/**
 * OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT): the product's worker (createMigrationWorker, which bundles the
 * workflow code with Temporal's tracing interceptors) and client, with an in-memory span exporter. Each migration is one
 * trace: the client's StartWorkflow, RunWorkflow, a StartActivity and a RunActivity per step, each cloud API call and
 * SSH session as a child of its activity's span; a failed call is an error span with its code; no span carries a
 * secret or a call's parameters. Real dev server, local cloud over HTTP, real SSH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import * as otel from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MigrationClient } from '../src/client';
import { loadConfig, type AppConfig } from '../src/config';
import { installTracing, TRACER_NAME, type Tracing } from '../src/observability/tracing';
import { createMigrationWorker, type MigrationWorker } from '../src/worker';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './helpers/migration';
import { eventually } from './helpers/eventually';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { quietRuntime, startTestTemporal, type TestTemporal } from './helpers/temporal';
import { CLI_ARGV } from './helpers/cli';

const STEP_ACTIVITIES = [
  'convertNatPublicIpToEip',
  'createNetworkInterface',
  'attachNetworkInterface',
  'unassociateEipFromInstance',
  'associateEipToEni',
];

describe('tracing (OpenTelemetry)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let cloud: TestCloud;
  let temporal: TestTemporal;
  let worker: MigrationWorker;
  let running: Promise<void>;
  let client: MigrationClient;
  let taskQueue: string;
  /** A finished migration, for the CLI to read. */
  let finishedId: string;

  before(async () => {
    // The injected failure's retry warning is expected: keep it out of the test output.
    quietRuntime('ERROR');
    tracing = installTracing({ spanProcessor: new SimpleSpanProcessor(exporter) });
    [cloud, temporal] = await Promise.all([startTestCloud({ instances: 3, ssh: true }), startTestTemporal()]);
    const local = cloud.cloud;
    taskQueue = `tracing-${process.pid}`;
    const config: AppConfig = {
      temporal: { address: temporal.server.address, namespace: temporal.server.namespace, taskQueue },
      cloud: { regionId: local.regionId, ecsEndpoint: local.url, vpcEndpoint: local.url },
      ssh: { sshConfigPath: local.sshConfig, user: local.sshUser, privateKeyPath: local.sshPrivateKey },
      pollIntervalMs: 50,
    };
    const credential = new Credential(
      new CredentialConfig({
        type: 'access_key',
        accessKeyId: local.accessKeyId,
        accessKeySecret: local.accessKeySecret,
      }),
    );
    worker = await createMigrationWorker({
      config,
      credential,
      tracing,
      log: () => undefined,
      registerSearchAttributes: false,
    });
    running = worker.worker.run();
    client = await MigrationClient.connect({
      temporal: config.temporal,
      tracing,
    });
  });

  after(async () => {
    await client?.close();
    worker?.worker.shutdown();
    await running;
    await worker?.close();
    await temporal?.stop();
    await cloud?.cloud.stop();
    await tracing?.shutdown();
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT, on with it, and off again with OTEL_SDK_DISABLED', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing, {
      endpoint: 'http://collector:4318',
    });
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
      undefined,
    );
    assert.throws(
      () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
      /OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.throws(
      () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      /OTEL_EXPORTER_OTLP_PROTOCOL="grpc" must be http\/json or http\/protobuf.*gRPC is not supported/,
    );
  });

  it('costs nothing when off: the worker, the client and the CLI load no OpenTelemetry SDK', () => {
    const probe = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `for (const m of ['./src/worker', './src/client', './src/cli/program']) require(m);
         const loaded = Object.keys(require.cache).filter((f) => /sdk-trace|exporter-trace|interceptors-opentelemetry/.test(f));
         console.log(JSON.stringify(loaded));`,
      ],
      {
        cwd: join(__dirname, '..'),
        encoding: 'utf8',
        env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      },
    );
    assert.equal(probe.status, 0, probe.stderr);
    assert.deepEqual(JSON.parse(probe.stdout), []);
  });

  it('makes one trace per migration: its steps, and its cloud calls and SSH sessions under their activity', async () => {
    const [first, second] = cloud.cloud.info().instances as Array<{ instanceId: string }>;
    // One attach fails once with a retryable code: its span is an error, the retry's is not.
    await cloud.admin.fault({
      action: 'AttachNetworkInterface',
      code: 'ServiceUnavailable',
      count: 1,
      params: { InstanceId: first.instanceId },
    });
    const regionId = cloud.cloud.regionId;
    const started = await Promise.all(
      [first, second].map((i) => client.start({ regionId, instanceId: i.instanceId })),
    );
    const reports = await Promise.all(started.map((s) => client.result(s.workflowId)));
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ['verified', 'verified'],
    );

    // Workflow spans reach the exporter through a sink, after the activation that ended them.
    const spans = await eventually(async () => {
      const all = exporter.getFinishedSpans();
      const runs = all.filter((s) => s.name === 'RunWorkflow:migrateInstance');
      return runs.length === 2 ? all : undefined;
    }, 'both migrations traced');

    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const traceIds = new Set<string>();
    for (const { workflowId } of started) {
      const start = spans.find(
        (s) => s.name === 'StartWorkflow:migrateInstance' && s.attributes.temporalWorkflowId === workflowId,
      );
      assert.ok(start, `the client's StartWorkflow span of ${workflowId}`);
      const traceId = start.spanContext().traceId;
      traceIds.add(traceId);
      const trace = spans.filter((s) => s.spanContext().traceId === traceId);
      const names = trace.map((s) => s.name);
      assert.ok(names.includes('RunWorkflow:migrateInstance'), `RunWorkflow in ${names.join(', ')}`);
      for (const activity of STEP_ACTIVITIES) {
        assert.ok(names.includes(`StartActivity:${activity}`), `StartActivity:${activity} of ${workflowId}`);
        assert.ok(names.includes(`RunActivity:${activity}`), `RunActivity:${activity} of ${workflowId}`);
      }
      // Each mutation of the runbook is a cloud span under its step's activity.
      for (const [action, activity] of [
        ['ConvertNatPublicIpToEip', 'convertNatPublicIpToEip'],
        ['CreateNetworkInterface', 'createNetworkInterface'],
        ['AttachNetworkInterface', 'attachNetworkInterface'],
        ['UnassociateEipAddress', 'unassociateEipFromInstance'],
        ['AssociateEipAddress', 'associateEipToEni'],
      ]) {
        const call = trace.find((s) => s.name === action && s.instrumentationLibrary.name === TRACER_NAME);
        assert.ok(call, `${action} span in the trace of ${workflowId}`);
        assert.equal(call.kind, otel.SpanKind.CLIENT);
        assert.equal(call.attributes['rpc.method'], action);
        assert.equal(parentOf(call, byId)?.name, `RunActivity:${activity}`, `${action}'s parent`);
      }
      const ssh = trace.filter((s) => s.name === 'ssh exec');
      assert.ok(ssh.length >= 1, 'the verification runs over SSH');
      for (const span of ssh) assert.match(String(parentOf(span, byId)?.name), /^RunActivity:/);
    }
    assert.equal(traceIds.size, 2, 'one trace per migration');

    const attaches = spans.filter((s) => s.name === 'AttachNetworkInterface');
    const failed = attaches.filter((s) => s.status.code === otel.SpanStatusCode.ERROR);
    assert.equal(failed.length, 1, 'the injected failure');
    assert.equal(failed[0].attributes['error.type'], 'ServiceUnavailable');

    // Spans say what ran, never with what: no secret, no parameter of a call.
    const text = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    assert.ok(!text.includes(cloud.cloud.accessKeySecret), 'no AccessKey secret in any span');
    assert.ok(!text.includes('PRIVATE KEY'), 'no private key in any span');
    assert.ok(!/"(Signature|AccessKeyId|ClientToken)"/.test(text), 'no request parameter in any span');
    // The workflows' spans name their workflow and nothing more (the SDK's exporter would add its results, memo…).
    for (const span of spans.filter((s) => s.instrumentationLibrary.name === 'eni-migration-workflow')) {
      const extra = Object.keys(span.attributes).filter(
        (k) => !['workflowId', 'runId', 'workflowType', 'taskQueue', 'namespace', 'attempt'].includes(k),
      );
      assert.deepEqual(
        extra.filter((k) => !k.startsWith('temporal')),
        [],
        `${span.name}'s attributes`,
      );
    }
    // A failure is its type: an activity's error message may quote a guest's output.
    for (const span of spans) {
      for (const event of span.events.filter((e) => e.name === 'exception')) {
        assert.deepEqual(Object.keys(event.attributes ?? {}), ['exception.type'], `${span.name}'s exception`);
      }
    }
    // Progress queries (`--wait` asks every second) make no trace of their own.
    assert.equal(spans.filter((s) => s.name.startsWith('QueryWorkflow')).length, 0);
  });

  it('leaves the commands as they are: a traced history with an update replays on the untraced code', async () => {
    const [, , third] = cloud.cloud.info().instances as Array<{ instanceId: string }>;
    const { workflowId } = await client.start({
      regionId: cloud.cloud.regionId,
      instanceId: third.instanceId,
      requireApproval: true,
      dryRun: false,
    });
    await eventually(async () => {
      try {
        await client.approve(workflowId);
        return true;
      } catch {
        return undefined;
      }
    }, 'the approval gate');
    assert.equal((await client.result(workflowId)).outcome, 'verified');
    finishedId = workflowId;
    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    const plain = await workflowBundle();
    await Worker.runReplayHistory({ workflowBundle: plain, replayName: 'untraced' }, history, workflowId);
  });

  it('a collector that is down costs a warning, not the command', async () => {
    const run = spawnSync(process.execPath, [...CLI_ARGV, 'status', finishedId, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /WARNING: traces not sent/);
    assert.doesNotMatch(run.stderr, /undefined/, 'the warning says why');
  });
});

function parentOf(span: ReadableSpan, byId: Map<string, ReadableSpan>): ReadableSpan | undefined {
  return span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
}
