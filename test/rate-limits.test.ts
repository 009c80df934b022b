/**
 * Rate limits shared by every worker: each API action that changes the cloud has its own task queue, rate-limited for
 * the whole queue by the Temporal server (src/shared/cloud-changes.ts, src/worker.ts). The local cloud enforces a
 * per-action limit as Alibaba does, and its call log is the judge.
 *
 * What the server promises, and so what is asserted: on a queue of one partition, activity starts conform to a token
 * bucket of `RATE` a second whose burst is one second's worth plus one (RATE + 1: the matching service's limiter is a
 * GCRA with a 1 s burst, service/matching/ratelimit_manager.go). A call reaches the cloud after its activity's first
 * reads, some tens to hundreds of milliseconds later, which can bunch calls up; the bucket below allows up to a second
 * of that (another RATE). So in every window of W seconds an action gets at most RATE × W + BURST calls, and the
 * cloud's own bucket of the same size throttles none of them. Without the shared limit, 20 conversions would reach the
 * cloud within a second or two and the window check (and the cloud) would refuse most of them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { CallRecord } from '../src/local-cloud/wire/call-log';
import { ConfigError, loadConfig, taskQueueFor } from '../src/config';
import {
  actionTaskQueue,
  CHANGE_ACTIONS,
  changeActionOf,
  DEFAULT_RATE_LIMITS,
  type ChangeAction,
  type RateLimits,
} from '../src/shared/cloud-changes';
import { BatchClient, MigrationClient } from '../src/client';
import type { FleetReport } from '../src/shared/fleet';
import { migrationWorkflowId, type MigrationReport } from '../src/shared/migration';
import type { migrateInstance } from '../src/workflows';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { CLI_ARGV } from './helpers/cli';

/** Calls a second per action: the worker's configured rate and the cloud's refill rate alike. */
const RATE = 2;
/** The server's burst (RATE + 1) plus a second's worth for the time between an activity's start and its call. */
const BURST = 2 * RATE + 1;
/** A batch of this many, with a window wide enough that the rate, not the window, sets the pace. */
const INSTANCES = 100;
const CONCURRENCY = 20;
/** The actions a plain migration issues, once per instance each. */
const MIGRATION_ACTIONS: ChangeAction[] = [
  'ConvertNatPublicIpToEip',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'UnassociateEipAddress',
  'AssociateEipAddress',
];

/**
 * The smallest bucket (at `rate` a second) that admits these arrival times: the most calls in any window beyond what
 * the rate refills in it. The calls conform to (rate, burst) exactly when this is at most `burst`.
 */
function burstNeeded(times: number[], rate: number): number {
  let need = 0;
  for (let i = 0; i < times.length; i++) {
    for (let j = i; j < times.length; j++) {
      need = Math.max(need, j - i + 1 - (rate * (times[j] - times[i])) / 1000);
    }
  }
  return need;
}

/** The most calls in any window of `ms` milliseconds. */
function mostInWindow(times: number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[j] < times[i] - ms + 1) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('rate limits shared by every worker', () => {
  let env: MigrationEnv;
  let handles: Array<WorkflowHandle<typeof migrateInstance>>;
  let reports: MigrationReport[];
  let calls: CallRecord[];
  let batch: FleetReport;
  let second: ChildProcess | undefined;

  before(async () => {
    const rateLimits = Object.fromEntries(
      CHANGE_ACTIONS.map((a) => [a, { count: RATE, per: 's' }]),
    ) as RateLimits;
    // One more instance than the batch takes, for the throttling case.
    env = await startMigrationEnv({ instances: INSTANCES + 1, rateLimits });
    for (const action of CHANGE_ACTIONS) await env.cloud.admin.rateLimit(action, RATE, BURST);
    // A second worker process (`eni-migrate worker`), as an operator would run one more: the same queues and rates.
    // A limit kept per worker would let the two together go twice as fast; the server's limit of the queue must not.
    const info = env.cloud.cloud.info() as Record<string, string>;
    const env2: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env2))
      if (/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(key)) delete env2[key];
    second = spawn(process.execPath, [...CLI_ARGV, 'worker'], {
      cwd: join(__dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...env2,
        TEMPORAL_ADDRESS: env.temporal.server.address,
        TEMPORAL_NAMESPACE: env.temporal.server.namespace,
        TEMPORAL_TASK_QUEUE: env.taskQueue,
        ALIBABA_CLOUD_REGION_ID: env.regionId,
        ALIBABA_CLOUD_ECS_ENDPOINT: info.url,
        ALIBABA_CLOUD_VPC_ENDPOINT: info.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: info.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: info.accessKeySecret,
        ENI_MIGRATE_SSH_CONFIG: info.sshConfig,
        ENI_MIGRATE_POLL_INTERVAL_MS: '50',
        ENI_MIGRATE_EIP_QUOTA: String(info.eipQuota),
        ENI_MIGRATE_TRANSITION_MS: String(info.transitionMs),
        ENI_MIGRATE_RATE_LIMITS: CHANGE_ACTIONS.map((a) => `${a}=${RATE}/s`).join(','),
      },
    });
    let stderr = '';
    second.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const deadline = Date.now() + 60_000;
    while (!/polling task queue/.test(stderr)) {
      assert.ok(
        second.exitCode === null && Date.now() < deadline,
        `the second worker did not start:\n${stderr}`,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (second && second.exitCode === null) {
      const exited = new Promise((r) => second!.once('close', r));
      second.kill('SIGTERM');
      await exited;
    }
    await env?.stop();
  });

  it('the window check is real: it refuses a burst the cloud would throttle', () => {
    const paced = [0, 0, 0, 500, 1000, 1500, 2000];
    assert.equal(burstNeeded(paced, RATE), 3);
    assert.equal(mostInWindow(paced, 1000), 4);
    assert.equal(burstNeeded(Array<number>(INSTANCES).fill(0), RATE), INSTANCES);
  });

  it(`a batch of ${INSTANCES} (concurrency ${CONCURRENCY}): all verified, no change throttled, every action within ${RATE}/s`, async (t) => {
    const since = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const started = Date.now();
    const vpcId = ((await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>)[0].VpcId;
    const batches = new BatchClient(
      await MigrationClient.connect({ client: env.temporal.client, temporal: { taskQueue: env.taskQueue } }),
    );
    const ids = env.instances.slice(0, INSTANCES).map((i) => i.instanceId);
    const { batchId } = await batches.start({
      regionId: env.regionId,
      vpcId,
      select: { instanceIds: ids },
      concurrency: CONCURRENCY,
      migration: { verifyTimeoutSeconds: 30 },
    });
    batch = await batches.result(batchId);
    const wallMs = Date.now() - started;
    assert.equal(batch.outcome, 'completed', JSON.stringify(batch.counts));
    assert.equal(batch.counts.verified, INSTANCES);
    handles = ids.map((id) => env.temporal.client.workflow.getHandle(migrationWorkflowId(env.regionId, id)));
    reports = await Promise.all(handles.map((h) => h.result()));
    for (const r of reports) assert.equal(r.outcome, 'verified', `${r.instanceId}: ${r.cause}`);

    calls = await env.cloud.admin.calls({ since });
    const throttled = calls.filter((c) => c.code?.includes('Throttling'));
    const figures: Record<string, unknown> = { wallMs, throttledReads: throttled.length };
    for (const action of CHANGE_ACTIONS) {
      const mine = calls.filter((c) => c.action === action);
      assert.deepEqual(
        mine.filter((c) => c.code?.includes('Throttling')).map((c) => c.seq),
        [],
        `${action} was throttled`,
      );
      if (!MIGRATION_ACTIONS.includes(action)) {
        assert.equal(mine.length, 0, `a plain migration issues no ${action}`);
        continue;
      }
      assert.ok(mine.length >= INSTANCES, `${action}: ${mine.length} calls`);
      const times = mine.map((c) => Date.parse(c.time));
      const need = burstNeeded(times, RATE);
      assert.ok(
        need <= BURST,
        `${action}: ${mine.length} calls need a bucket of ${need.toFixed(2)} at ${RATE}/s, more than ${BURST}`,
      );
      // Alibaba counts its quotas per minute: no minute holds more than the rate allows.
      assert.ok(
        mostInWindow(times, 60_000) <= RATE * 60,
        `${action}: more than ${RATE * 60} calls in a minute`,
      );
      figures[action] = {
        calls: mine.length,
        spanS: (times.at(-1)! - times[0]) / 1000,
        mostIn1s: mostInWindow(times, 1000),
        mostIn5s: mostInWindow(times, 5000),
        burstNeeded: Number(need.toFixed(2)),
      };
    }
    assert.equal(calls.filter((c) => c.action === 'CreateNetworkInterface').length, INSTANCES);
    t.diagnostic(JSON.stringify(figures));
  });

  it('each change ran on its action queue, one partition each; every activity says its runbook step', async () => {
    assert.ok(handles, 'runs after the batch above');
    const queue = taskQueueFor(env.regionId, env.taskQueue);
    for (const action of MIGRATION_ACTIONS) {
      const { activityTaskQueuePartitions } =
        await env.temporal.client.workflowService.listTaskQueuePartitions({
          namespace: env.temporal.server.namespace,
          taskQueue: { name: actionTaskQueue(queue, action) },
        });
      assert.equal(activityTaskQueuePartitions?.length, 1, `${action}: a partitioned queue splits its limit`);
    }
    const identities = new Set<string>();
    for (const [n, handle] of handles.entries()) {
      const { instanceId, publicIp } = env.instances[n];
      const history = await handle.fetchHistory();
      const scheduled = (history.events ?? []).flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        if (!a) return [];
        const summary = e.userMetadata?.summary;
        return [
          {
            type: a.activityType?.name ?? '',
            queue: a.taskQueue?.name ?? '',
            summary: summary ? defaultPayloadConverter.fromPayload<string>(summary) : undefined,
          },
        ];
      });
      // Who ran the changes (an ActivityTaskStarted names its worker; its scheduled event names the activity).
      const changeEvents = new Set(
        (history.events ?? [])
          .filter((e) => changeActionOf(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''))
          .map((e) => String(e.eventId)),
      );
      for (const e of history.events ?? []) {
        const started = e.activityTaskStartedEventAttributes;
        if (started?.identity && changeEvents.has(String(started.scheduledEventId)))
          identities.add(started.identity);
      }
      for (const s of scheduled) {
        const action = changeActionOf(s.type);
        assert.equal(s.queue, action ? actionTaskQueue(queue, action) : queue, `${instanceId} ${s.type}`);
      }
      const { networkInterfaceId: eni, snatIp } = reports[n];
      const vSwitchId = calls.find(
        (c) => c.action === 'CreateNetworkInterface' && c.params.NetworkInterfaceName?.endsWith(instanceId),
      )?.params.VSwitchId;
      assert.deepEqual(
        scheduled.map((s) => s.summary),
        [
          `0. Preflight ${instanceId}: read-only checks, nothing changes`,
          `1. Convert the NAT public IP ${publicIp} of ${instanceId} to an EIP (irreversible)`,
          `2. Create a secondary ENI for ${instanceId} in ${vSwitchId}`,
          `3. Attach ENI ${eni} to ${instanceId}`,
          `4. Unbind EIP ${publicIp} from ${instanceId} (no public address until step 5)`,
          `5. Bind EIP ${publicIp} to ENI ${eni} (NAT mode)`,
          `6. Verify: SSH on ${publicIp} reaches ${instanceId} (same host key), egress leaves through SNAT IP ${snatIp}`,
        ],
      );
    }
    // Both worker processes ran changes, and together they kept to the rate (the batch's check above).
    const secondIdentity = [...identities].find((id) => id.startsWith(`${second?.pid}@`));
    assert.ok(secondIdentity, `the second worker process ran changes: ${[...identities].join(', ')}`);
    assert.ok(identities.size >= 2, [...identities].join(', '));
  });
});

describe('a throttled call waits, and does not fail the migration', () => {
  let env: MigrationEnv;
  before(async () => {
    env = await startMigrationEnv({ instances: 1 });
  });
  after(() => env?.stop());

  it('waits as long as the cloud asks, within its attempt: no attempt of the retry policy is spent', async () => {
    const { admin } = env.cloud;
    const since = (await admin.calls()).at(-1)?.seq ?? 0;
    await admin.fault({
      action: 'CreateNetworkInterface',
      code: 'Throttling.User',
      count: 3,
      retryAfterMs: 200,
    });
    const handle = await env.start({ instanceId: env.instances[0].instanceId });
    const report = await handle.result();
    assert.equal(report.outcome, 'verified', report.cause);
    const creates = await admin.calls({ action: 'CreateNetworkInterface', since });
    assert.deepEqual(
      creates.map((c) => c.code ?? 'ok'),
      ['Throttling.User', 'Throttling.User', 'Throttling.User', 'ok'],
    );
    // The cloud's retry-after (200 ms, plus up to 10% jitter), not step 2's retry backoff (1 s, doubling).
    const gaps = creates.slice(1).map((c, i) => Date.parse(c.time) - Date.parse(creates[i].time));
    for (const gap of gaps)
      assert.ok(gap >= 195 && gap < 1000, `the next call came ${gap} ms after a throttled one`);
    const started = (await handle.fetchHistory()).events!.filter(
      (e) => e.activityTaskStartedEventAttributes && e.activityTaskScheduledEventAttributes === undefined,
    );
    for (const e of started) assert.equal(e.activityTaskStartedEventAttributes!.attempt, 1);
  });
});

describe('ENI_MIGRATE_RATE_LIMITS', () => {
  it('sets the named actions and keeps the defaults of the others', () => {
    const { rateLimits } = loadConfig({
      ENI_MIGRATE_RATE_LIMITS:
        'CreateNetworkInterface=300/min, AssociateEipAddress=2.5/s,DetachNetworkInterface=90/h',
    });
    assert.deepEqual(rateLimits?.CreateNetworkInterface, { count: 300, per: 'min' });
    assert.deepEqual(rateLimits?.AssociateEipAddress, { count: 2.5, per: 's' });
    assert.deepEqual(rateLimits?.DetachNetworkInterface, { count: 90, per: 'h' });
    assert.deepEqual(rateLimits?.AttachNetworkInterface, { count: 500, per: 'min' });
    const { count, per } = DEFAULT_RATE_LIMITS.DetachNetworkInterface;
    assert.deepEqual(loadConfig({}).rateLimits?.DetachNetworkInterface, { count, per });
  });

  it('refuses what it cannot use, naming the entry and the fix', () => {
    const refused = (value: string, why: RegExp) =>
      assert.throws(
        () => loadConfig({ ENI_MIGRATE_RATE_LIMITS: value }),
        (err: unknown) =>
          err instanceof ConfigError && /ENI_MIGRATE_RATE_LIMITS=/.test(err.message) && why.test(err.message),
      );
    refused('CreateEni=1/s', /names CreateEni, which is not an action .*: use one of AssociateEipAddress, /);
    refused(
      'CreateNetworkInterface=300/minute',
      /is not Action=<calls>\/<s\|min\|h>, e\.g\. CreateNetworkInterface=300\/min/,
    );
    refused('CreateNetworkInterface=300', /is not Action=<calls>/);
    refused('CreateNetworkInterface=0/s', /must be more than 0/);
    refused('AssociateEipAddress=1/s,AssociateEipAddress=2/s', /AssociateEipAddress is given twice/);
  });
});
