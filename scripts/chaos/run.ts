/**
 * A chaos run (`npm run chaos`): many migrations over several VPCs, one batch per VPC, served by several worker
 * processes on one task queue that are SIGKILLed at random moments and restarted, against a local cloud that fails
 * calls, loses responses, lags, falls back, sticks and denies (./faults.ts). Then the cloud is judged by its own state
 * and by SSH (./judge.ts), and every history, log line and report is scanned for the run's secrets (./scan.ts).
 *
 * The local cloud runs in this process and is reached by the workers over HTTP (and SSH), as Alibaba Cloud would be;
 * Temporal is a dev server of its own. Nothing stays running afterwards.
 */
import Ecs, * as $Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchClient } from '../../src/client/batches';
import { MigrationClient } from '../../src/client';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud';
import { seededRandom } from '../../src/local-cloud/model/region';
import { CHANGE_ACTIONS } from '../../src/shared/cloud-changes';
import type { FleetReport } from '../../src/shared/fleet';
import { migrationWorkflowId, type MigrationReport } from '../../src/shared/migration';
import { createSshRunner } from '../../src/ssh';
import { startDevServer, type DevServer } from '../../src/temporal';
import { buildWorkflowBundle, chooseWorkflowBundle, WORKFLOW_BUNDLE_PATH } from '../../src/workflow-bundle';
import {
  Admin,
  applyFaults,
  clearFaults,
  faultPlan,
  tallyFaults,
  type FaultPlan,
  type FaultTally,
} from './faults';
import { judge, type Judgement } from './judge';
import { fetchHistories, privateKeyNeedles, scan, type FetchedHistory, type ScanResult } from './scan';
import { chaosTopology } from './topology';
import { WorkerPool } from './workers';

export interface ChaosOptions {
  /** The CI size: 20 migrations, 2 workers, 3 kills. */
  quick?: boolean;
  vpcs?: number;
  instancesPerVpc?: number;
  workers?: number;
  kills?: number;
  /** Each batch's sliding window. */
  concurrency?: number;
  /** Seeds what the run chooses (kill moments, victims, restart delays); the cloud's fault draws stay random. */
  seed?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Stop waiting for the batches after this long (default: 3 min quick, 15 min full). */
  deadlineMs?: number;
  /** Aborted: stop the run (everything started is stopped) and throw. */
  signal?: AbortSignal;
}

export interface ChaosResult {
  quick: boolean;
  seed: number;
  durationMs: number;
  /** Worker logs and the run's JSON report are kept here. */
  workDir: string;
  migrations: { total: number; vpcs: number; outcomes: Record<string, number> };
  workers: { processes: number; started: number; kills: number; restarts: number; crashes: number };
  faults: FaultTally & {
    plan: FaultPlan;
    /** Instances whose guest cannot answer on a secondary NIC: their verification must fail. */
    verificationFailuresPlanned: number;
  };
  rollbacks: {
    total: number;
    causes: { verification: number; permission: number; other: number };
    /** Rolled-back migrations whose rollback met errors (a compensation attempt failed, or a round got stuck). */
    metErrors: number;
    /** Of those, the ones that showed `rollback-stuck:<step>` (waited rounds for the fault to go away). */
    stuck: number;
  };
  cloud: Omit<Judgement, 'instances' | 'violations'>;
  workflows: { executions: number; running: number };
  security: {
    /** How the local cloud treated the STS token: it must require it and refuse another. */
    sts: { withToken: string; withoutToken: string; otherToken: string };
    scan: ScanResult;
  };
  convergence: string;
  violations: string[];
}

const REGION = 'cn-hangzhou';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the cloud answers an SDK client signing with the run's key and this token (undefined: none). */
async function stsProbe(cloud: LocalCloud, securityToken: string | undefined): Promise<string> {
  const ecs = new Ecs(
    new $OpenApiUtil.Config({
      accessKeyId: cloud.accessKeyId,
      accessKeySecret: cloud.accessKeySecret,
      ...(securityToken !== undefined ? { securityToken } : {}),
      endpoint: cloud.endpoint,
      protocol: 'http',
      regionId: REGION,
    }),
  );
  try {
    await ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION, pageSize: 1 }));
    return 'accepted';
  } catch (err) {
    return String((err as { code?: string }).code ?? err);
  }
}

/** Did this migration's rollback meet errors? A compensation ("Undo …") retried or failed, or a round got stuck. */
function rollbackTrouble(h: FetchedHistory): { metErrors: boolean; stuck: boolean } {
  const events =
    (h.history as { events?: Array<Record<string, unknown>> }).events ??
    ([] as Array<Record<string, unknown>>);
  const undo = new Set<string>();
  let metErrors = false;
  for (const e of events) {
    const id = String(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const summary = (e.userMetadata as { summary?: { data?: Uint8Array } } | undefined)?.summary?.data;
      if (summary && /Undo/.test(Buffer.from(summary).toString('utf8'))) undo.add(id);
      continue;
    }
    const attrs = (e.activityTaskStartedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes) as { scheduledEventId?: unknown; attempt?: number } | undefined;
    if (!attrs || !undo.has(String(attrs.scheduledEventId))) continue;
    if (!e.activityTaskStartedEventAttributes || (attrs.attempt ?? 1) > 1) metErrors = true;
  }
  const stuck = /rollback-stuck:/.test(h.text);
  return { metErrors: metErrors || stuck, stuck };
}

export async function runChaos(opts: ChaosOptions = {}): Promise<ChaosResult> {
  const started = Date.now();
  const quick = opts.quick ?? false;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed); // mulberry32: a run's choices can be repeated
  const say = opts.log ?? (() => undefined);
  const log = (line: string) => say(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const vpcs = opts.vpcs ?? (quick ? 2 : 5);
  const instancesPerVpc = opts.instancesPerVpc ?? (quick ? 10 : 42);
  const workerCount = opts.workers ?? (quick ? 2 : 3);
  const killTarget = opts.kills ?? (quick ? 3 : 24);
  const concurrency = opts.concurrency ?? (quick ? 10 : 10);
  const deadlineMs = opts.deadlineMs ?? (quick ? 180_000 : 900_000);
  const total = vpcs * instancesPerVpc;
  const plan = faultPlan(total);

  const workDir = mkdtempSync(path.join(tmpdir(), 'eni-chaos-'));
  // One instance in 12 runs an image whose guest does not bring up a secondary NIC by itself.
  const { topology, instances } = chaosTopology({
    regionId: REGION,
    vpcs,
    instancesPerVpc,
    failsVerification: (i) => i % 12 === 7,
  });
  const topologyFile = path.join(workDir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(topology, null, 2));

  // The secrets of the run: none of them may show up in a history, a log line or a report.
  const accessKeySecret = randomBytes(24).toString('base64url');
  const securityToken = `CAIS${randomBytes(48).toString('base64url')}`;

  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    // Workers load the prebuilt workflow bundle; build it now if the sources changed, not once per worker start.
    const bundle = chooseWorkflowBundle();
    if ('rebundle' in bundle) {
      log(`building the workflow bundle (${bundle.rebundle})`);
      await buildWorkflowBundle(WORKFLOW_BUNDLE_PATH);
    }
    log(`starting Temporal and the local cloud (${total} instances in ${vpcs} VPCs)`);
    const [server, cloud] = await Promise.all([
      startDevServer().then((s: DevServer) => {
        cleanups.push(() => s.stop());
        return s;
      }),
      startLocalCloud({
        topologyFile,
        timings: {
          attachMs: 400,
          detachMs: 400,
          deleteMs: 200,
          associateMs: 300,
          unassociateMs: 300,
          convertMs: 300,
        },
        accessKeyId: `STS.LOCALCHAOS${randomBytes(6).toString('hex').toUpperCase()}`,
        accessKeySecret,
        stsTokens: [securityToken],
        requireSecurityToken: true,
        // Only the injected faults throttle: the buckets themselves stay out of the way.
        rateLimit: { rps: 5000, burst: 10000 },
      }).then((c) => {
        cleanups.push(() => c.stop());
        return c;
      }),
    ]);
    const admin = new Admin(cloud.adminUrl);
    const sts = {
      withToken: await stsProbe(cloud, securityToken),
      withoutToken: await stsProbe(cloud, undefined),
      otherToken: await stsProbe(cloud, `CAIS${randomBytes(48).toString('base64url')}`),
    };
    const privateKey = readFileSync(cloud.sshPrivateKey as string, 'utf8');

    const taskQueue = `chaos-${randomBytes(3).toString('hex')}`;
    const pool = new WorkerPool({
      logDir: workDir,
      restartDelayMs: [500, 3000],
      random,
      note: log,
      env: {
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: server.namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        ALIBABA_CLOUD_REGION_ID: REGION,
        ALIBABA_CLOUD_ECS_ENDPOINT: cloud.url,
        ALIBABA_CLOUD_VPC_ENDPOINT: cloud.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: cloud.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: accessKeySecret,
        ALIBABA_CLOUD_SECURITY_TOKEN: securityToken,
        ENI_MIGRATE_SSH_CONFIG: cloud.sshConfig as string,
        ENI_MIGRATE_LOG_FORMAT: 'json',
        ENI_MIGRATE_LOG_LEVEL: 'debug',
        ENI_MIGRATE_POLL_INTERVAL_MS: '200',
        ENI_MIGRATE_EIP_QUOTA: String(cloud.info().eipQuota),
        ENI_MIGRATE_TRANSITION_MS: String(cloud.info().transitionMs),
        ENI_MIGRATE_RATE_LIMITS: CHANGE_ACTIONS.map((a) => `${a}=50/s`).join(','),
      },
    });
    cleanups.push(() => pool.stop());
    log(`starting ${workerCount} worker processes on task queue ${taskQueue}`);
    await pool.start(workerCount);

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    const migrations = await MigrationClient.connect({ client, temporal: { taskQueue } });
    const batches = new BatchClient(migrations);

    const kinds = await applyFaults(admin, plan);
    const vpcIds = [...new Set(instances.map((i) => i.vpcId))];
    log(`starting ${vpcIds.length} batches (concurrency ${concurrency} each), faults on`);
    const started_ = await Promise.all(
      vpcIds.map((vpcId) =>
        batches.start({
          regionId: REGION,
          vpcId,
          concurrency,
          canary: 0,
          maxErrors: '100%',
          migration: { verifyTimeoutSeconds: quick ? 6 : 10, rollbackRetryMaxIntervalSeconds: 5 },
        }),
      ),
    );
    const reportsP = Promise.allSettled(started_.map((b) => batches.result(b.batchId)));
    // Interrupted or timed out: end what still runs, so that no call waits on it when the connection closes.
    cleanups.push(async () => {
      for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
        await client.workflow
          .getHandle(w.workflowId, w.runId)
          .terminate('chaos run over')
          .catch(() => undefined);
      }
      await Promise.race([reportsP, sleep(10_000)]);
    });
    let batchesDone = false;
    void reportsP.then(() => (batchesDone = true));

    // Kills at random moments spread over the run: the i-th is due at a random moment of its slice of a window (30 s
    // quick, 4 min full) or once a random share of the migrations in its slice of the first 85% has finished, whichever
    // comes first (so that every kill lands while migrations run), then after a random pause.
    const windowMs = quick ? 30_000 : 240_000;
    const slice = (i: number) => (i + random()) / killTarget;
    const thresholds = Array.from({ length: killTarget }, (_, i) => ({
      at: Date.now() + slice(i) * windowMs,
      done: slice(i) * 0.85 * total,
    }));
    const finished = async () =>
      (await client.workflow.count(`WorkflowType = 'migrateInstance' AND ExecutionStatus != 'Running'`))
        .count;
    let lastNote = 0;
    const deadline = started + deadlineMs;
    while (!batchesDone && Date.now() < deadline) {
      if (opts.signal?.aborted) throw new Error('chaos run interrupted');
      const done = await finished().catch(() => 0);
      // A kill never leaves the queue without a polling worker: a supervisor's restarts, not an outage.
      const due = thresholds[pool.kills];
      if (due && (done >= due.done || Date.now() >= due.at) && pool.ready().length >= 2) {
        await sleep(random() * 1500);
        if (pool.ready().length >= 2) pool.killOne();
      }
      if (Date.now() - lastNote > 10_000) {
        lastNote = Date.now();
        log(
          `${done}/${total} migrations finished, ${pool.kills} kills, ${pool.ready().length}/${workerCount} workers polling`,
        );
      }
      await Promise.race([reportsP, sleep(500)]);
    }
    const timedOut = !batchesDone;
    const settled = timedOut ? [] : await reportsP;
    const reports: FleetReport[] = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const violations: string[] = [];
    if (timedOut) violations.push(`the batches did not finish within ${Math.round(deadlineMs / 1000)} s`);
    settled.forEach((s, i) => {
      if (s.status === 'rejected') violations.push(`batch ${started_[i].batchId}: ${String(s.reason)}`);
    });
    log('batches done; faults off, judging the cloud');

    const tally = await tallyFaults(admin, kinds);
    await clearFaults(admin);

    // The workflows' word: every migration's own report (its outcome), and every execution's status.
    const migrationReports: MigrationReport[] = [];
    const outcomes = new Map<string, string>();
    await Promise.all(
      instances.map(async (inst) => {
        const id = migrationWorkflowId(REGION, inst.instanceId);
        try {
          const d = await client.workflow.getHandle(id).describe();
          if (d.status.name === 'RUNNING') {
            // Where it waits: its pending activities (attempt, last failure), for the violation's text.
            const raw = d.raw.pendingActivities ?? [];
            const pending = raw.map(
              (a) =>
                `${a.activityType?.name} attempt ${a.attempt} ${a.state}${a.lastFailure?.message ? ` (${a.lastFailure.message.slice(0, 120)})` : ''}`,
            );
            outcomes.set(inst.instanceId, `still running${pending.length ? `: ${pending.join('; ')}` : ''}`);
            return;
          }
          const report = await migrations.result(id);
          migrationReports.push(report);
          outcomes.set(inst.instanceId, report.outcome);
        } catch (err) {
          outcomes.set(inst.instanceId, `no report (${(err as Error).message.split('\n')[0]})`);
        }
      }),
    );
    const outcomeCounts: Record<string, number> = {};
    for (const o of outcomes.values()) outcomeCounts[o] = (outcomeCounts[o] ?? 0) + 1;
    for (const [instanceId, o] of outcomes) {
      if (o !== 'verified' && o !== 'rolled-back') violations.push(`${instanceId}: the migration ended ${o}`);
    }

    log('fetching the histories');
    const histories = await fetchHistories(client);
    const running = histories.filter((h) => h.status === 'RUNNING');
    for (const h of running) violations.push(`workflow ${h.workflowId} (${h.type}) is still running`);

    const ssh = createSshRunner({
      sshConfigPath: cloud.sshConfig,
      connectTimeoutMs: 5000,
      commandTimeoutMs: 10_000,
    });
    log('judging the cloud by its state and by SSH');
    const verdict = await judge(await admin.state(), instances, outcomes, ssh);
    violations.push(...verdict.violations);

    const rolledBack = migrationReports.filter((r) => r.outcome === 'rolled-back');
    const causes = { verification: 0, permission: 0, other: 0 };
    for (const r of rolledBack) {
      const cause = r.cause ?? '';
      if (/Forbidden|not authorized|RAM/i.test(cause)) causes.permission++;
      else if (/verif/i.test(cause)) causes.verification++;
      else causes.other++;
    }
    const rolledBackIds = new Set(rolledBack.map((r) => r.workflowId));
    let metErrors = 0;
    let stuck = 0;
    for (const h of histories) {
      if (!rolledBackIds.has(h.workflowId)) continue;
      const t = rollbackTrouble(h);
      if (t.metErrors) metErrors++;
      if (t.stuck) stuck++;
    }

    // What did not end is ended now (after the verdict), so that nothing waits on it.
    for (const h of running) {
      await client.workflow
        .getHandle(h.workflowId, h.runId)
        .terminate('chaos run over')
        .catch(() => undefined);
    }
    await reportsP;
    // Every process stops before its logs are read.
    log('stopping the workers, scanning for secrets');
    await pool.stop();
    violations.push(...pool.crashes);
    const result: ChaosResult = {
      quick,
      seed,
      durationMs: Date.now() - started,
      workDir,
      migrations: { total, vpcs, outcomes: outcomeCounts },
      workers: {
        processes: workerCount,
        started: pool.logFiles.length,
        kills: pool.kills,
        restarts: pool.restarts,
        crashes: pool.crashes.length,
      },
      faults: {
        ...tally,
        plan,
        verificationFailuresPlanned: instances.filter((i) => i.failsVerification).length,
      },
      rollbacks: { total: rolledBack.length, causes, metErrors, stuck },
      cloud: {
        cloud: verdict.cloud,
        orphanedEnis: verdict.orphanedEnis,
        unboundEips: verdict.unboundEips,
        duplicates: verdict.duplicates,
        sshFailures: verdict.sshFailures,
      },
      workflows: { executions: histories.length, running: running.length },
      security: {
        sts,
        scan: { chars: {}, sources: {}, findings: [] },
      },
      convergence:
        `permission faults are limited to ${plan.permissionLimit} denied EIP binds (then the rule is spent, as an ` +
        `operator fixes the RAM policy${tally.permissionRuleSpent ? '; it was spent in this run' : '; not all were used in this run'}); ` +
        `a rollback that meets one keeps retrying in rounds (rollback-stuck, every 5 s at most) until it succeeds. ` +
        `Every other fault is retryable and stays on for the whole run.`,
      violations,
    };
    if (sts.withToken !== 'accepted' || sts.withoutToken === 'accepted' || sts.otherToken === 'accepted') {
      violations.push(`the local cloud does not enforce the STS token: ${JSON.stringify(sts)}`);
    }
    if (pool.kills < killTarget) violations.push(`only ${pool.kills} of ${killTarget} kills happened`);

    // The secret scan: histories, worker logs, reports (each migration's and batch's, and this run's own).
    const secrets = [
      { name: 'AccessKey secret', needles: [accessKeySecret] },
      { name: 'STS token', needles: [securityToken] },
      { name: 'SSH private key', needles: privateKeyNeedles(privateKey) },
    ];
    const sources = [
      ...histories.map((h) => ({ kind: 'history', name: `${h.workflowId} ${h.runId}`, text: h.text })),
      ...pool.logFiles.map((f) => ({ kind: 'log', name: path.basename(f), text: readFileSync(f, 'utf8') })),
      ...migrationReports.map((r) => ({ kind: 'report', name: r.workflowId, text: JSON.stringify(r) })),
      ...reports.map((r) => ({ kind: 'report', name: r.batchId, text: JSON.stringify(r) })),
      { kind: 'report', name: 'chaos', text: JSON.stringify(result) },
    ];
    result.security.scan = scan(sources, secrets);
    violations.push(...result.security.scan.findings.map((f) => `secret found: ${f}`));
    result.durationMs = Date.now() - started;
    writeFileSync(path.join(workDir, 'chaos.json'), JSON.stringify(result, null, 2));
    return result;
  } finally {
    await cleanup();
  }
}
