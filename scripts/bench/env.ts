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
import { CONCURRENCY_MAX } from '../../src/shared/fleet';
import { runtimeLogging } from '../../src/observability/logging';
import { CHANGE_ACTIONS, type RateLimits } from '../../src/shared/cloud-changes';
import { TASK_QUEUE_DEFAULT } from '../../src/shared/migration';
import { startDevServer, type DevServer } from '../../src/temporal';
import { createMigrationWorker, type MigrationWorker } from '../../src/worker';

export type Log = (line: string) => void;

/** The instance tags that say which section an instance belongs to (batches select on them). */
export const ROLE_TAG = 'bench-role';

/** The most instances one batch migrates at once (migrateFleet's concurrency limit): a VPC's share of section 4. */
export { CONCURRENCY_MAX as BATCH_CONCURRENCY_MAX };

/**
 * A region of `groups` instance groups, each tagged with its role: VPCs of the demo region's shape (two zones, a NAT
 * gateway whose SNAT entries cover both vSwitches), with /21 vSwitches so that a thousand instances and their thousand
 * ENIs find addresses. A group is in the first VPC, or spread over `vpcs[role]` VPCs of its own (in equal runs), as a
 * fleet of several VPCs is: one batch each. Public addresses come from 47.100.0.0/16.
 */
export function benchTopology(
  regionId: string,
  groups: Record<string, number>,
  vpcs: Record<string, number> = {},
): Topology {
  const t = defaultTopology({ instances: 1, regionId });
  const template = t.instances[0];
  const first = t.vpcs[0];
  t.vpcs = [ownVpc(first, 0)];
  t.instances = [];
  let n = 0;
  for (const [role, count] of Object.entries(groups)) {
    const spread = vpcs[role] ?? 1;
    const base = t.vpcs.length;
    const own = spread > 1 ? Array.from({ length: spread }, (_, v) => ownVpc(first, base + v)) : [];
    if (spread > 1) t.vpcs.push(...own);
    for (let k = 0; k < count; k++, n++) {
      const vpc = spread > 1 ? own[Math.floor((k * spread) / count)] : t.vpcs[0];
      const vsw = vpc.vSwitches[k % vpc.vSwitches.length];
      t.instances.push({
        ...template,
        instanceId: `i-bench${role.slice(0, 3)}${String(k).padStart(5, '0')}`,
        instanceName: `${role}-${String(k + 1).padStart(4, '0')}`,
        vSwitchId: vsw.vSwitchId,
        securityGroupIds: [vpc.securityGroups![0].securityGroupId],
        publicIpAddress: `47.100.${Math.floor(n / 250)}.${(n % 250) + 1}`,
        tags: [{ key: ROLE_TAG, value: role }],
      });
    }
  }
  // An account whose EIP quota was raised for this fleet: one EIP per instance, plus the NAT gateways'.
  t.quotas = { ...t.quotas, maxEips: n + t.vpcs.length + 20 };
  return t;
}

/**
 * The template VPC as the `k`th of the region: ids end in k (their length kept), its vSwitches on their own /21s of
 * 10.0.0.0/8, its NAT gateway's address 47.96.<180 + k>.23.
 */
function ownVpc(vpc: Topology['vpcs'][number], k: number): Topology['vpcs'][number] {
  const id = (s: string) => (k === 0 ? s : `${s.slice(0, -3)}${String(k).padStart(3, '0')}`);
  const name = (s: string) => (k === 0 ? s : `${s}-${k}`);
  const snatIp = `47.96.${180 + k}.23`;
  const vSwitches = vpc.vSwitches.map((v, z) => ({
    ...v,
    vSwitchId: id(v.vSwitchId),
    vSwitchName: v.vSwitchName && name(v.vSwitchName),
    cidrBlock: `10.${k * vpc.vSwitches.length + z + 1}.0.0/21`,
  }));
  return {
    ...vpc,
    vpcId: id(vpc.vpcId),
    vpcName: vpc.vpcName && name(vpc.vpcName),
    cidrBlock: '10.0.0.0/8',
    vSwitches,
    securityGroups: vpc.securityGroups?.map((g) => ({
      ...g,
      securityGroupId: id(g.securityGroupId),
      securityGroupName: g.securityGroupName && name(g.securityGroupName),
    })),
    natGateways: vpc.natGateways?.map((g) => ({
      ...g,
      natGatewayId: id(g.natGatewayId),
      name: g.name && name(g.name),
      vSwitchId: id(g.vSwitchId),
      snatTableId: id(g.snatTableId),
      eips: g.eips.map((e) => ({ ...e, allocationId: id(e.allocationId), ipAddress: snatIp })),
      snatEntries: g.snatEntries.map((e) => ({
        ...e,
        snatEntryId: id(e.snatEntryId),
        snatIp,
        sourceVSwitchId: e.sourceVSwitchId && id(e.sourceVSwitchId),
      })),
    })),
  };
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
