/**
 * Runs the real migration workflow on a real Temporal dev server, with a real Worker whose real activities reach the
 * local cloud over HTTP (the official SDK clients) and its instances over SSH (the product's SSH client).
 *
 *   let env: MigrationEnv;
 *   before(async () => { env = await startMigrationEnv({ instances: 4 }); });
 *   after(() => env?.stop());
 *   const report = await env.migrate({ instanceId: env.instances[0].instanceId });
 *
 * Tests of the client, the CLI and the Web UI use it too: they reach the same worker through `temporal` (its server's
 * address and namespace) and `taskQueue`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { quietBundlerLogger, workflowBundleOptions } from '../../src/workflow-bundle';
import { MigrationClient } from '../../src/client';
import { taskQueueFor } from '../../src/config';
import type { GuestScriptRegistry } from '../../src/guest-scripts';
import { createSshRunner, type SshRunner } from '../../src/ssh';
import { CHANGE_ACTIONS, type RateLimits } from '../../src/shared/cloud-changes';
import { createActionWorkers, WorkerGroup } from '../../src/worker';
import { activityLogContext } from '../../src/observability/logging';
import { migrationWorkflowId, type MigrationInput, type MigrationReport } from '../../src/shared/migration';
import type { LocalCloudOptions } from '../../src/local-cloud';
import type { DevServerOptions } from '../../src/temporal/dev-server';
import { defaultTopology, type Topology } from '../../src/local-cloud/model';
import type { migrateInstance } from '../../src/workflows';
import { productCloudApis } from './cloud-apis';
import { startTestCloud, type TestCloud } from './local-cloud';
import { quietRuntime, startTestTemporal, type TestTemporal } from './temporal';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test file (process). */
export function workflowBundle(): Promise<WorkflowBundle> {
  // As the worker's (src/workflow-bundle.ts): the modules preloaded, shared by every workflow.
  bundle ??= bundleWorkflowCode(workflowBundleOptions(require.resolve('../../src/workflows')));
  return bundle;
}

/** A workflow bundle of another entry point (an earlier release's workflows, say), built quietly. */
export function workflowBundleOf(workflowsPath: string): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

export interface MigrationEnvOptions extends LocalCloudOptions {
  /** First poll interval of the activities' waits (default 50 ms). */
  pollIntervalMs?: number;
  /** Edits the default topology (region, VPC, NAT gateway, `instances` instances) before the cloud starts. */
  topology?: (t: Topology) => void;
  /** Options of the Temporal dev server (`{ ui: true }`: one of its own, serving the Web UI). */
  temporal?: DevServerOptions;
  /** The worker's guest scripts (default: the built-in ones). */
  guestScripts?: GuestScriptRegistry;
  /** The worker's data converter (e.g. the payload encryption codec); default: the SDK's. */
  dataConverter?: DataConverter;
  /**
   * The rate of each API action's queue (the worker's ENI_MIGRATE_RATE_LIMITS). Unnamed actions: 100/s, so that
   * tests not about rate limits never wait on them.
   */
  rateLimits?: Partial<RateLimits>;
}

/** What the action queues get when a test names no rate: more than any test issues. */
const GENEROUS: RateLimits = Object.fromEntries(
  CHANGE_ACTIONS.map((a) => [a, { count: 100, per: 's' }]),
) as RateLimits;

/** What `startWorker` may change about the worker it starts. */
export interface WorkerOptions {
  /** Workflow code to run instead of the current bundle (e.g. release 0.1's, built with `workflowBundleOf`). */
  workflowBundle?: WorkflowBundle;
  /** The worker's identity, as the history's WorkflowTaskCompleted and ActivityTaskStarted events show it. */
  identity?: string;
  /** A data converter instead of the environment's (e.g. a codec with rotated keys). */
  dataConverter?: DataConverter;
}

export interface MigrationEnv {
  cloud: TestCloud;
  temporal: TestTemporal;
  regionId: string;
  /** The base of the task queue names (TEMPORAL_TASK_QUEUE); the worker polls `taskQueueFor(regionId, taskQueue)`. */
  taskQueue: string;
  /** The instances of the cloud's default topology, in order, with their NAT public IPs. */
  instances: Array<{ instanceId: string; publicIp: string }>;
  /** The product's SSH client, configured with the cloud's ssh_config. */
  ssh: SshRunner;
  /** Starts a migration; `instanceId` is required, the rest defaults to a fast, verified run. */
  start(
    input: Partial<MigrationInput> & { instanceId: string },
    taskQueue?: string,
  ): Promise<WorkflowHandle<typeof migrateInstance>>;
  /** Starts a migration and waits for its report. */
  migrate(input: Partial<MigrationInput> & { instanceId: string }): Promise<MigrationReport>;
  /** Shuts the workers down (activities in flight are cancelled, as when a worker process goes away). */
  stopWorker(): Promise<void>;
  /** Starts new workers on the same task queues (by default with the current workflow bundle). */
  startWorker(opts?: WorkerOptions): Promise<void>;
  /** Runs `fn` with extra workers on their own task queues, with these activities (wrong credentials, say). */
  withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T>;
  view(): Promise<CloudView>;
  stop(): Promise<void>;
}

export async function startMigrationEnv(opts: MigrationEnvOptions = {}): Promise<MigrationEnv> {
  // Failing activities are what many of these tests are about: keep their warnings out of the test output.
  quietRuntime('ERROR');
  // A region of its own: instance ids (and so workflow ids) never collide with another file's on a shared server.
  const regionId = opts.regionId ?? `cn-test${randomBytes(3).toString('hex')}`;
  let topologyFile = opts.topologyFile;
  if (opts.topology) {
    const t = defaultTopology({ instances: opts.instances ?? 4, regionId });
    opts.topology(t);
    topologyFile = join(mkdtempSync(join(tmpdir(), 'migration-topology-')), 'topology.json');
    writeFileSync(topologyFile, JSON.stringify(t, null, 2));
  }
  const [cloud, temporal, workflowCode] = await Promise.all([
    startTestCloud({ instances: 4, ssh: true, ...opts, regionId, topologyFile }),
    startTestTemporal(opts.temporal),
    workflowBundle(),
  ]);
  const taskQueue = `migration-test-${randomBytes(4).toString('hex')}`;
  // The queue the product's client starts this region's migrations on.
  const regionQueue = taskQueueFor(regionId, taskQueue);
  const { ecs, vpc } = productCloudApis(cloud, regionId);
  const ssh = createSshRunner({
    sshConfigPath: cloud.cloud.sshConfig,
    connectTimeoutMs: 3000,
    commandTimeoutMs: 10_000,
  });
  const activities = createActivities({
    ecs,
    vpc,
    ssh,
    guestScripts: opts.guestScripts,
    pollIntervalMs: opts.pollIntervalMs ?? 50,
    // The worker knows the account's EIP quota, as an operator's does (ENI_MIGRATE_EIP_QUOTA).
    eipQuota: Number(cloud.cloud.info().eipQuota),
    // Waits expect the cloud's own transition times (the product's defaults are Alibaba Cloud's).
    transitionMs: cloud.cloud.model.timings,
  });

  const rateLimits: RateLimits = { ...GENEROUS, ...opts.rateLimits };
  /** The workflows' queue and its action queues, as the product's worker polls them. */
  const createWorkers = async (queue: string, acts: object, wopts: WorkerOptions = {}) => {
    const common = {
      connection: temporal.nativeConnection,
      namespace: temporal.server.namespace,
      ...(wopts.identity ? { identity: wopts.identity } : {}),
      ...((wopts.dataConverter ?? opts.dataConverter)
        ? { dataConverter: wopts.dataConverter ?? opts.dataConverter }
        : {}),
      // A worker going away in a test should hand its activities back at once, not after the default 10 s grace.
      shutdownGraceTime: '200ms' as const,
      // Cancellation reaches an activity with a heartbeat's answer: flush heartbeats often so tests do not wait.
      maxHeartbeatThrottleInterval: '200ms' as const,
      defaultHeartbeatThrottleInterval: '200ms' as const,
      // As the product's worker: activities' log lines name their instance and step.
      interceptors: { activity: [activityLogContext] },
    };
    const actionWorkers = await createActionWorkers({
      ...common,
      workflowTaskQueue: queue,
      activities: acts,
      rateLimits,
    });
    const main = await Worker.create({
      ...common,
      taskQueue: queue,
      workflowBundle: wopts.workflowBundle ?? workflowCode,
      activities: acts,
    });
    return new WorkerGroup([main, ...actionWorkers]);
  };

  let workers: WorkerGroup | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async (wopts: WorkerOptions = {}) => {
    workers = await createWorkers(regionQueue, activities, wopts);
    running = workers.run();
  };
  const stopWorker = async () => {
    workers?.shutdown();
    await running;
    workers = undefined;
    running = undefined;
  };
  await startWorker();

  const instances = (cloud.cloud.info().instances as Array<{ instanceId: string; publicIp?: string }>).map(
    (i) => ({
      instanceId: i.instanceId,
      publicIp: i.publicIp ?? '',
    }),
  );

  const withWorker = async <T>(extra: object, fn: (queue: string) => Promise<T>): Promise<T> => {
    const queue = `${taskQueue}-extra-${randomBytes(2).toString('hex')}`;
    return (await createWorkers(queue, extra)).runUntil(fn(queue));
  };

  const start = (input: Partial<MigrationInput> & { instanceId: string }, queue = regionQueue) =>
    temporal.client.workflow.start<typeof migrateInstance>('migrateInstance', {
      taskQueue: queue,
      workflowId: migrationWorkflowId(regionId, input.instanceId),
      args: [{ regionId, verifyTimeoutSeconds: 5, ...input }],
    });

  return {
    cloud,
    temporal,
    regionId,
    taskQueue,
    instances,
    ssh,
    start,
    // As the product's client reads it: a failed migration's report is in its failure, a cancelled one's in a query.
    migrate: async (input) => {
      const handle = await start(input);
      const client = await MigrationClient.connect({ client: temporal.client });
      return client.result(handle.workflowId);
    },
    stopWorker,
    startWorker,
    withWorker,
    view: async () => new CloudView(await cloud.admin.state()),
    stop: async () => {
      await stopWorker().catch(() => undefined);
      await Promise.allSettled([cloud.cloud.stop(), temporal.stop()]);
    },
  };
}

/** The product's cloud clients for the local cloud, signing with its key pair (or with `secret` instead). */

// --- The cloud's state, as GET /_admin/state shows it ---

export interface InstanceState {
  InstanceId: string;
  Status: string;
  PublicIpAddress: string[];
  EipAddress: string;
  EgressAddress: string | null;
}

export interface EniState {
  NetworkInterfaceId: string;
  Type: string;
  Status: string;
  InstanceId: string;
  PrimaryIpAddress: string;
}

export interface EipState {
  AllocationId: string;
  IpAddress: string;
  Status: string;
  InstanceId: string;
  InstanceType: string;
  PrivateIpAddress: string;
  Mode: string;
}

export class CloudView {
  constructor(readonly raw: Record<string, unknown>) {}

  instance(instanceId: string): InstanceState {
    const found = (this.raw.Instances as InstanceState[]).find((i) => i.InstanceId === instanceId);
    if (!found) throw new Error(`no instance ${instanceId} in the cloud state`);
    return found;
  }

  eniById(id: string): EniState | undefined {
    return (this.raw.NetworkInterfaces as EniState[]).find((e) => e.NetworkInterfaceId === id);
  }

  /** Secondary ENIs anywhere in the region. */
  secondaryEnis(): EniState[] {
    return (this.raw.NetworkInterfaces as EniState[]).filter((e) => e.Type === 'Secondary');
  }

  secondaryEnisOf(instanceId: string): EniState[] {
    return this.secondaryEnis().filter((e) => e.InstanceId === instanceId);
  }

  eipByAddress(ip: string): EipState | undefined {
    return (this.raw.EipAddresses as EipState[]).find((e) => e.IpAddress === ip);
  }
}

// --- Assertions shared by the migration tests ---

/**
 * The cloud as step 1 left it: the address is an EIP bound to the instance, no secondary ENI is attached to it, no
 * ENI the migration created remains, and SSH on the address reaches the instance with egress through that EIP.
 */
export async function assertAsAfterStep1(
  env: MigrationEnv,
  instance: { instanceId: string; publicIp: string },
  report: MigrationReport,
  secondaryEnisBefore: number,
): Promise<void> {
  const view = await env.view();
  const eip = view.eipByAddress(instance.publicIp);
  assert.equal(eip?.Status, 'InUse', `EIP ${instance.publicIp} should be InUse`);
  assert.equal(eip?.InstanceType, 'EcsInstance');
  assert.equal(eip?.InstanceId, instance.instanceId);
  const i = view.instance(instance.instanceId);
  assert.equal(i.EipAddress, instance.publicIp);
  assert.deepEqual(i.PublicIpAddress, []);
  assert.deepEqual(view.secondaryEnisOf(instance.instanceId), []);
  if (report.networkInterfaceId)
    assert.equal(view.eniById(report.networkInterfaceId), undefined, 'the ENI is deleted');
  assert.equal(view.secondaryEnis().length, secondaryEnisBefore, 'no ENI left behind');
  const r = await env.ssh.run(instance.publicIp, 'curl -s -m 5 https://myip.ipip.net');
  assert.match(r.stdout, new RegExp(`\\b${instance.publicIp.replace(/\./g, '\\.')}\\b`));
}

export { productCloudApis } from './cloud-apis';
