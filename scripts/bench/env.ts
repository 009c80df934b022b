/**
 * What every section of the benchmark stands on, started the way the demo (src/demo.ts) starts it: a real Temporal dev
 * server (src/temporal), the local cloud (src/local-cloud) reached over HTTP by the unmodified SDKs, and the product's
 * worker (src/worker.ts) and client (src/client.ts). Also: generated topologies, the cloud's admin API, and figures
 * (medians, percentiles) shared by the sections.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import { Client, Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { MigrationClient } from '../../src/client';
import { createCloudApis } from '../../src/cloud/clients';
import type { AppConfig } from '../../src/config';
import { GENEROUS_RATE_LIMIT, startLocalCloud, type LocalCloud } from '../../src/local-cloud';
import type { Timings } from '../../src/local-cloud/contracts';
import { defaultTopology, type Topology } from '../../src/local-cloud/model';
import type { CallRecord } from '../../src/local-cloud/wire/call-log';
import { runtimeLogging } from '../../src/observability/logging';
import { CHANGE_ACTIONS, type RateLimits } from '../../src/shared/cloud-changes';
import { TASK_QUEUE_DEFAULT } from '../../src/shared/migration';
import { startDevServer, type DevServer } from '../../src/temporal';
import { createMigrationWorker, type MigrationWorker } from '../../src/worker';

export type Log = (line: string) => void;

/** The instance tags that say which section an instance belongs to (batches select on them). */
export const ROLE_TAG = 'bench-role';

/**
 * A region of `groups` instance groups, each tagged with its role: one VPC over two zones, a NAT gateway whose SNAT
 * entries cover both vSwitches (the demo region's shape), with /21 vSwitches so that a thousand instances and their
 * thousand ENIs find addresses. Public addresses come from 47.100.0.0/16.
 */
export function benchTopology(regionId: string, groups: Record<string, number>): Topology {
  const t = defaultTopology({ instances: 1, regionId });
  const template = t.instances[0];
  const vpc = t.vpcs[0];
  vpc.cidrBlock = '10.0.0.0/8';
  vpc.vSwitches.forEach((v, z) => (v.cidrBlock = `10.${z + 1}.0.0/21`));
  t.instances = [];
  let n = 0;
  for (const [role, count] of Object.entries(groups)) {
    for (let k = 0; k < count; k++, n++) {
      const vsw = vpc.vSwitches[n % vpc.vSwitches.length];
      t.instances.push({
        ...template,
        instanceId: `i-bench${role.slice(0, 3)}${String(k).padStart(5, '0')}`,
        instanceName: `${role}-${String(k + 1).padStart(4, '0')}`,
        vSwitchId: vsw.vSwitchId,
        publicIpAddress: `47.100.${Math.floor(n / 250)}.${(n % 250) + 1}`,
        tags: [{ key: ROLE_TAG, value: role }],
      });
    }
  }
  // An account whose EIP quota was raised for this fleet: one EIP per instance, plus the NAT gateway's.
  t.quotas = { ...t.quotas, maxEips: n + 20 };
  return t;
}

/** Writes a topology to a temp file for startLocalCloud; returns the file and a cleanup. */
export function topologyFile(t: Topology): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'eni-bench-topology-'));
  const path = join(dir, 'topology.json');
  writeFileSync(path, JSON.stringify(t));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The local cloud's admin API (docs/local-cloud.md), the way an operator reaches it: HTTP on its port. */
export class Admin {
  constructor(private readonly baseUrl: string) {}

  private async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_admin/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`${method} /_admin/${route}: ${res.status} ${json.error}`);
    return json;
  }

  timings(t: Partial<Timings>): Promise<Timings> {
    return this.request('POST', 'timings', t);
  }
  rateLimit(action: string, rps: number, burst: number): Promise<unknown> {
    return this.request('POST', 'rate-limits', { action, rps, burst });
  }
  calls(since = 0): Promise<CallRecord[]> {
    return this.request('GET', `calls?since=${since}`);
  }
  /** The seq of the last call so far (calls after it are `calls(mark)`). */
  async mark(): Promise<number> {
    return (await this.calls()).at(-1)?.seq ?? 0;
  }
  state(): Promise<Record<string, unknown>> {
    return this.request('GET', 'state');
  }
}

export function credentialOf(cloud: LocalCloud): Credential {
  return new Credential(
    new CredentialConfig({
      type: 'access_key',
      accessKeyId: cloud.accessKeyId,
      accessKeySecret: cloud.accessKeySecret,
    }),
  );
}

/** The product's cloud API (src/cloud/ecs.ts, vpc.ts) on the local cloud: what the naive baseline script calls. */
export function cloudApisOf(cloud: LocalCloud) {
  return createCloudApis({
    regionId: cloud.regionId,
    ecsEndpoint: cloud.url,
    vpcEndpoint: cloud.url,
    credential: credentialOf(cloud),
  });
}

/** Every change action at `perSecond`: the worker's ENI_MIGRATE_RATE_LIMITS. */
export function uniformRateLimits(perSecond: number): RateLimits {
  return Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, { count: perSecond, per: 's' }])) as RateLimits;
}

/** The same, as the environment variable a worker process reads. */
export function rateLimitsEnv(perSecond: number): string {
  return CHANGE_ACTIONS.map((a) => `${a}=${perSecond}/s`).join(',');
}

/** A dev server, the local cloud and a worker in this process, as the demo runs them; stop() undoes it all. */
export interface Stage {
  server: DevServer;
  cloud: LocalCloud;
  admin: Admin;
  worker: MigrationWorker;
  client: MigrationClient;
  connection: Connection;
  stop(): Promise<void>;
}

export async function startStage(opts: {
  topology: Topology;
  timings: Partial<Timings>;
  rateLimits: RateLimits;
  pollIntervalMs?: number;
  log: Log;
}): Promise<Stage> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const topo = topologyFile(opts.topology);
    cleanups.push(async () => topo.remove());
    const [server, cloud] = await Promise.all([
      startDevServer(),
      startLocalCloud({
        topologyFile: topo.path,
        timings: opts.timings,
        // The bench measures the product's own pacing (its per-action task queues), not the cloud's quotas.
        rateLimit: GENEROUS_RATE_LIMIT,
      }),
    ]);
    cleanups.push(
      () => server.stop(),
      () => cloud.stop(),
    );
    const config: AppConfig = {
      temporal: { address: server.address, namespace: server.namespace, taskQueue: TASK_QUEUE_DEFAULT },
      cloud: { regionId: cloud.regionId, ecsEndpoint: cloud.url, vpcEndpoint: cloud.url },
      ssh: { sshConfigPath: cloud.sshConfig, user: cloud.sshUser, privateKeyPath: cloud.sshPrivateKey },
      pollIntervalMs: opts.pollIntervalMs,
      rateLimits: opts.rateLimits,
      eipQuota: Number(cloud.info().eipQuota),
    };
    const worker = await createMigrationWorker({
      config,
      credential: credentialOf(cloud),
      log: () => undefined,
      // Waits follow this cloud's transition times, as they follow Alibaba Cloud's by default.
      transitionMs: cloud.model.timings,
    });
    cleanups.push(async () => {
      if (worker.worker.getState() === 'INITIALIZED')
        await worker.worker.runUntil(Promise.resolve()).catch(() => undefined);
      await worker.close();
    });
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = await MigrationClient.connect({
      client: new Client({ connection, namespace: server.namespace }),
      temporal: { taskQueue: TASK_QUEUE_DEFAULT },
    });
    return { server, cloud, admin: new Admin(cloud.url), worker, client, connection, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Errors only from the SDK and core: the progress lines stay readable (an overloaded machine makes the worker warn of
 * slow workflow tasks and retried activities, which the figures show anyway).
 */
export function quietTemporalLogs(): void {
  try {
    Runtime.install({ ...runtimeLogging({ format: 'pretty', level: 'error' }), shutdownSignals: [] });
  } catch {
    // Installed already: keep it.
  }
}

// --- figures ---

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
