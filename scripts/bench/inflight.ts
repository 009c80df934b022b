/**
 * Section 4: one worker process, N migrations in flight at once (long cloud transitions, so that they overlap), started
 * as a user starts many: one batch per VPC, which admits them at the pace the server keeps up with. The worker runs as
 * users run it (`node bin/eni-migrate.js worker`, configured by the environment) in a child process, so that its memory
 * and CPU are its own: peak RSS sampled from /proc while the migrations run, CPU seconds from /proc/<pid>/stat.
 * Workflow task schedule-to-start comes from every migration's history (WorkflowTaskScheduled → WorkflowTaskStarted).
 * The caller runs it on the in-memory server and on a SQLite file (as a server keeps its state): the server's share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MigrationClient } from '../../src/client';
import { BatchClient } from '../../src/client/batches';
import { EncryptionCodec } from '../../src/codec/payload-codec';
import { startLocalCloud } from '../../src/local-cloud';
import type { Timings } from '../../src/local-cloud/contracts';
import { MANY_MIGRATIONS_MALLOC_ENV, MANY_MIGRATIONS_NODE_FLAGS } from '../../src/config';
import { migrationWorkflowId, TASK_QUEUE_DEFAULT } from '../../src/shared/migration';
import { formatTransitionMs } from '../../src/shared/transitions';
import { startDevServer } from '../../src/temporal';
import { freePort } from '../../src/temporal/free-port';
import {
  BATCH_CONCURRENCY_MAX,
  benchTopology,
  ROLE_TAG,
  mapLimit,
  percentile,
  rateLimitsEnv,
  round,
  sleep,
  topologyFile,
  type Log,
} from './env';

const ROOT = resolve(__dirname, '..', '..');
const CLK_TCK = 100;

export interface InflightRun {
  db: 'file' | 'memory';
  /** The worker served Prometheus metrics (ENI_MIGRATE_METRICS) and encrypted every payload (ENI_MIGRATE_PAYLOAD_KEY). */
  metricsAndEncryption: boolean;
  migrations: number;
  verified: number;
  peakInFlight: number;
  startBurstMs: number;
  makespanMs: number;
  throughput: number;
  /** What of the worker process's environment changes its memory (MEMORY_ENV), as it had it. */
  workerMemoryEnv: Record<string, string>;
  /** node's own flags on the worker process's command line (those before the script), as it had them. */
  workerNodeFlags: string[];
  workerPeakRssMb: number;
  /** The kernel's high-water mark (VmHWM): every moment, start-up included, where the peak is sampled. */
  workerRssHwmMb: number;
  workerCpuSeconds: number;
  workerCpuMsPerMigration: number;
  serverCpuMsPerMigration: number;
  benchCpuMsPerMigration: number;
  wftScheduleToStartP50Ms: number;
  wftScheduleToStartP99Ms: number;
  wftScheduleToStartMaxMs: number;
  workflowTasks: number;
  /** WorkflowTaskTimedOut events of the migrations, and of the batches that started them. */
  workflowTaskTimeouts: number;
  batchWorkflowTaskTimeouts: number;
}

export interface InflightResult {
  n: number;
  timings: Partial<Timings>;
  rateLimit: string;
  note?: string;
  runs: InflightRun[];
}

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return NaN;
  }
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * What of the worker's environment changes its memory beyond its own configuration: glibc's malloc variables (set
 * here as docs/configuration.md asks of a worker for many migrations), a preloaded allocator, Node's options. The
 * bench's own are not passed on, and each run records what the worker process had (from /proc/<pid>/environ).
 */
const MEMORY_ENV = /^(MALLOC_|GLIBC_TUNABLES$|LD_PRELOAD$|NODE_OPTIONS$|UV_THREADPOOL_SIZE$)/;

function memoryEnvOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0 && MEMORY_ENV.test(entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const WORKER_SCRIPT = join(ROOT, 'bin', 'eni-migrate.js');

/** node's flags on the worker process's command line: what comes between the executable and the worker's script. */
function nodeFlagsOf(pid: number): string[] {
  const [, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = args.indexOf(WORKER_SCRIPT);
  if (script < 0)
    throw new Error(`the worker process ${pid} does not run ${WORKER_SCRIPT}: ${args.join(' ')}`);
  return args.slice(0, script);
}

/** The worker process, configured as docs/configuration.md says; resolves once it polls. */
async function startWorkerProcess(env: NodeJS.ProcessEnv, log: Log): Promise<ChildProcess> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(k) && !MEMORY_ENV.test(k)) clean[k] = v;
  const child = spawn(process.execPath, [...MANY_MIGRATIONS_NODE_FLAGS, WORKER_SCRIPT, 'worker'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...clean, ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  const deadline = Date.now() + 120_000;
  while (!/polling task queue/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker process did not start:\n${stderr}`);
    }
    await sleep(100);
  }
  log(`  worker process ${child.pid} polling`);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function runInflightOnce(opts: {
  n: number;
  db: 'file' | 'memory';
  timings: Partial<Timings>;
  rate: number;
  /** The worker's ENI_MIGRATE_POLL_INTERVAL_MS (undefined: the product's default). */
  pollIntervalMs?: number;
  /** Issue 10's overhead: metrics served (and scraped every 15 s, as Prometheus would) and payloads encrypted. */
  metricsAndEncryption?: boolean;
  log: Log;
}): Promise<InflightRun> {
  const { n, log } = opts;
  const regionId = 'cn-hangzhou';
  // As a fleet of several VPCs is migrated: a batch per VPC, each with its most migrations at once.
  const vpcs = Math.ceil(n / BATCH_CONCURRENCY_MAX);
  const topology = benchTopology(regionId, { inflight: n }, { inflight: vpcs });
  const topo = topologyFile(topology);
  const dbDir = opts.db === 'file' ? mkdtempSync(join(tmpdir(), 'eni-bench-db-')) : undefined;
  const operability = opts.metricsAndEncryption
    ? { metricsAddress: `127.0.0.1:${await freePort()}`, key: randomBytes(32) }
    : undefined;
  const codec = operability ? new EncryptionCodec({ current: operability.key, previous: [] }) : undefined;
  const cleanups: Array<() => Promise<unknown>> = [async () => topo.remove()];
  if (dbDir) cleanups.push(async () => rmSync(dbDir, { recursive: true, force: true }));
  try {
    const [server, cloud] = await Promise.all([
      startDevServer(dbDir ? { dbFilename: join(dbDir, 'temporal.db') } : {}),
      startLocalCloud({
        topologyFile: topo.path,
        timings: opts.timings,
        // The thousand migrations' polls are not what this section measures: no cloud-side limit.
        rateLimit: { rps: 1_000_000, burst: 1_000_000 },
      }),
    ]);
    cleanups.unshift(
      () => server.stop(),
      () => cloud.stop(),
    );
    const worker = await startWorkerProcess(
      {
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: server.namespace,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE_DEFAULT,
        ALIBABA_CLOUD_REGION_ID: regionId,
        ALIBABA_CLOUD_ECS_ENDPOINT: cloud.url,
        ALIBABA_CLOUD_VPC_ENDPOINT: cloud.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: cloud.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: cloud.accessKeySecret,
        ENI_MIGRATE_SSH_CONFIG: cloud.sshConfig,
        ENI_MIGRATE_EIP_QUOTA: String(cloud.info().eipQuota),
        ENI_MIGRATE_RATE_LIMITS: rateLimitsEnv(opts.rate),
        // The cloud's transition times, as a user whose cloud is slower than Alibaba Cloud's typical durations sets
        // them: the waits look when a transition can be done, rather than poll up to the estimate's 4x cap.
        ENI_MIGRATE_TRANSITION_MS: formatTransitionMs(opts.timings),
        ENI_MIGRATE_LOG_LEVEL: 'warn',
        ...MANY_MIGRATIONS_MALLOC_ENV,
        ...(opts.pollIntervalMs ? { ENI_MIGRATE_POLL_INTERVAL_MS: String(opts.pollIntervalMs) } : {}),
        ...(operability
          ? {
              ENI_MIGRATE_METRICS: operability.metricsAddress,
              ENI_MIGRATE_PAYLOAD_KEY: operability.key.toString('base64'),
            }
          : {}),
      },
      log,
    );
    // Prometheus's default scrape interval: the exporter's work is part of the overhead.
    const scraper = operability
      ? setInterval(
          () =>
            void fetch(`http://${operability.metricsAddress}/metrics`).then(
              (r) => r.text(),
              () => '',
            ),
          15_000,
        )
      : undefined;
    cleanups.unshift(async () => clearInterval(scraper));
    const killOnExit = () => worker.kill('SIGKILL');
    process.once('exit', killOnExit);
    cleanups.unshift(async () => {
      await stopProcess(worker);
      process.off('exit', killOnExit);
    });
    const pid = worker.pid as number;
    const workerMemoryEnv = memoryEnvOf(pid);
    const workerNodeFlags = nodeFlagsOf(pid);
    const connection = await Connection.connect({ address: server.address });
    cleanups.unshift(() => connection.close());
    const temporalClient = new Client({ connection, namespace: server.namespace });
    const client = await MigrationClient.connect({
      client: temporalClient,
      temporal: { taskQueue: TASK_QUEUE_DEFAULT },
    });

    // Sampling: the worker's RSS every 250 ms from now (start-up, the bundle's loading, is over).
    let peakRssKb = 0;
    const sampler = setInterval(() => (peakRssKb = Math.max(peakRssKb, statusKb(pid, 'VmRSS') || 0)), 250);
    const cpu0 = { worker: cpuTicks(pid), server: cpuTicks(server.pid ?? -1), bench: process.cpuUsage() };

    const vpcOf = new Map(topology.vpcs.flatMap((v) => v.vSwitches.map((s) => [s.vSwitchId, v.vpcId])));
    const instances = topology.instances.map((i) => ({
      instanceId: i.instanceId,
      vpcId: vpcOf.get(i.vSwitchId) as string,
    }));
    const instanceIds = instances.map((i) => i.instanceId);
    const batches = new BatchClient(client);
    const t0 = Date.now();
    // The batches start the migrations, at the pace the server and the worker keep up with (their admission control):
    // a script starting a thousand workflows at once would queue their first workflow tasks behind each other.
    const batchIds = await mapLimit([...new Set(instances.map((i) => i.vpcId))], 4, async (vpcId) => {
      const perVpc = instances.filter((i) => i.vpcId === vpcId).length;
      const { batchId } = await batches.start({
        regionId,
        vpcId,
        select: { tags: { [ROLE_TAG]: 'inflight' } },
        concurrency: Math.min(BATCH_CONCURRENCY_MAX, perVpc),
        canary: 0,
        maxErrors: '100%',
      });
      return batchId;
    });
    log(
      `  ${batchIds.length} batch${batchIds.length === 1 ? '' : 'es'} of ${n} migrations started (db: ${opts.db})`,
    );

    // Until every batch has its report (its migrations have ended), counting the migrations in flight meanwhile: the
    // count is visibility's, which lags the starts, so it only measures the peak.
    let peakInFlight = 0;
    const query = `WorkflowType = 'migrateInstance' AND ExecutionStatus = 'Running'`;
    let ended = false;
    const reports = Promise.all(batchIds.map((id) => batches.result(id))).finally(() => (ended = true));
    reports.catch(() => undefined);
    let lastLog = Date.now();
    const deadline = Date.now() + 3_600_000;
    while (!ended) {
      if (Date.now() > deadline) throw new Error(`section 4: the batches did not end within an hour`);
      const running = Number((await temporalClient.workflow.count(query)).count);
      peakInFlight = Math.max(peakInFlight, running);
      if (Date.now() - lastLog > 15_000) {
        log(`  ${running} in flight, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        lastLog = Date.now();
      }
      await Promise.race([reports, sleep(1000)]).catch(() => undefined);
    }
    await reports;
    clearInterval(sampler);
    const cpu1 = {
      worker: cpuTicks(pid),
      server: cpuTicks(server.pid ?? -1),
      bench: process.cpuUsage(cpu0.bench),
    };
    const hwmKb = statusKb(pid, 'VmHWM');

    // Every history: outcome, end time, workflow task latencies.
    const waits: number[] = [];
    let timeouts = 0;
    let batchTimeouts = 0;
    let verified = 0;
    let lastClose = t0;
    let lastStart = t0;
    const workflowIds = [...instanceIds.map((id) => migrationWorkflowId(regionId, id)), ...batchIds];
    await mapLimit(workflowIds, 16, async (workflowId) => {
      const handle = temporalClient.workflow.getHandle(workflowId);
      const history = await handle.fetchHistory();
      const isBatch = batchIds.includes(workflowId);
      const scheduled = new Map<string, number>();
      for (const e of history.events ?? []) {
        const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
        if (e.workflowExecutionStartedEventAttributes && !isBatch) lastStart = Math.max(lastStart, at);
        else if (e.workflowTaskScheduledEventAttributes) scheduled.set(String(e.eventId), at);
        else if (e.workflowTaskStartedEventAttributes) {
          const from = scheduled.get(String(e.workflowTaskStartedEventAttributes?.scheduledEventId));
          // The migrations' workflow tasks: a batch's own wait behind its children's is not a migration's.
          if (from !== undefined && !isBatch) waits.push(at - from);
        } else if (e.workflowTaskTimedOutEventAttributes) {
          if (isBatch) batchTimeouts++;
          else timeouts++;
        } else if (
          !isBatch &&
          (e.workflowExecutionFailedEventAttributes ||
            e.workflowExecutionTerminatedEventAttributes ||
            e.workflowExecutionCanceledEventAttributes ||
            e.workflowExecutionTimedOutEventAttributes)
        )
          lastClose = Math.max(lastClose, at);
        else if (e.workflowExecutionCompletedEventAttributes && !isBatch) {
          lastClose = Math.max(lastClose, at);
          const stored = e.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
          try {
            const [payload] = stored && codec ? await codec.decode([stored]) : [stored];
            const report = JSON.parse(Buffer.from(payload?.data ?? []).toString('utf8')) as {
              outcome?: string;
            };
            if (report.outcome === 'verified') verified++;
          } catch {
            // Not a report: counted as not verified.
          }
        }
      }
    });
    const makespanMs = lastClose - t0;
    const startBurstMs = lastStart - t0;
    const workerCpu = (cpu1.worker - cpu0.worker) / CLK_TCK;
    const serverCpu = (cpu1.server - cpu0.server) / CLK_TCK;
    const benchCpu = (cpu1.bench.user + cpu1.bench.system) / 1e6;
    const run: InflightRun = {
      db: opts.db,
      metricsAndEncryption: Boolean(operability),
      migrations: n,
      verified,
      peakInFlight,
      startBurstMs,
      makespanMs,
      throughput: round(n / (makespanMs / 1000), 2),
      workerMemoryEnv,
      workerNodeFlags,
      workerPeakRssMb: Math.round(peakRssKb / 1024),
      workerRssHwmMb: Math.round(hwmKb / 1024),
      workerCpuSeconds: round(workerCpu, 1),
      workerCpuMsPerMigration: Math.round((workerCpu * 1000) / n),
      serverCpuMsPerMigration: Math.round((serverCpu * 1000) / n),
      benchCpuMsPerMigration: Math.round((benchCpu * 1000) / n),
      wftScheduleToStartP50Ms: percentile(waits, 50),
      wftScheduleToStartP99Ms: percentile(waits, 99),
      wftScheduleToStartMaxMs: percentile(waits, 100),
      workflowTasks: waits.length,
      workflowTaskTimeouts: timeouts,
      batchWorkflowTaskTimeouts: batchTimeouts,
    };
    log(
      `  db ${opts.db}${operability ? ', metrics + encryption' : ''}: ${verified}/${n} verified in ${(makespanMs / 1000).toFixed(1)} s, peak ${peakInFlight} in flight, worker RSS ${run.workerPeakRssMb} MB, WFT p99 ${run.wftScheduleToStartP99Ms} ms`,
    );
    return run;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
