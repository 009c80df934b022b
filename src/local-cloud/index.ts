/**
 * The local cloud, composed: the model (state and rules), the action table, the wire server that the official
 * ECS/VPC SDK clients talk to, and the instances' SSH servers. `eni-migrate cloud`, the demo and the tests
 * start it through startLocalCloud; the product itself only ever reaches it over HTTP and SSH.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAction } from './api';
import { RequestParams } from './api/params';
import type { CloudModel, Timings } from './contracts';
import { createCloudModel, defaultTopology, loadTopology } from './model';
import { generateCredentials } from './wire/authenticate';
import type { RateLimit } from './wire/rate-limits';
import { WireServer } from './wire/server';

export type { RateLimit } from './wire/rate-limits';
export { GENEROUS_RATE_LIMIT } from './wire/rate-limits';

/** Transition durations for tests and `--fast` rehearsals: every asynchronous step still takes a visible moment. */
export const FAST_TIMINGS: Timings = {
  attachMs: 100,
  detachMs: 100,
  deleteMs: 50,
  associateMs: 100,
  unassociateMs: 100,
  convertMs: 150,
  commandMs: 100,
  associateSpreadMs: 0,
};

export interface LocalCloudOptions {
  /** Address to bind the API (and the SSH ports). Default 127.0.0.1; the admin API has no authentication. */
  host?: string;
  /** API port; 0 (default) picks a free one. */
  port?: number;
  /** Instances of the default topology. Default 3. Ignored with topologyFile. */
  instances?: number;
  /** Region of the default topology. Ignored with topologyFile. */
  regionId?: string;
  /** A topology file (JSON) instead of the default demo region. */
  topologyFile?: string;
  /** Transition durations (ms), merged over the model's realistic defaults. */
  timings?: Partial<Timings>;
  /** The AccessKey pair clients must sign with. Default: a random local pair. */
  accessKeyId?: string;
  accessKeySecret?: string;
  /** STS tokens accepted with that key. Default: any token. */
  stsTokens?: string[];
  /** Refuse calls that carry no STS token (the key is an STS key). Default false. */
  requireSecurityToken?: boolean;
  /** Where SSH keys and the ssh_config go. Default: a new temp dir, removed on stop. */
  workDir?: string;
  /** Instances answer SSH. Default true. */
  ssh?: boolean;
  /** SSH login user. Default root. */
  sshUser?: string;
  /** A private key (OpenSSH format) whose public half the instances accept. Default: a generated pair. */
  sshPrivateKeyPath?: string;
  /**
   * A token bucket for every action instead of Alibaba's per-API quotas in one-minute windows (the default, and what
   * `eni-migrate cloud` serves). Tests, the bench and chaos pass GENEROUS_RATE_LIMIT (50 rps, burst 100), so that
   * hundreds of fast-polling migrations are never throttled unless a test asks for it. The admin API changes either.
   */
  rateLimit?: RateLimit;
  /** One line per API call (action, status, code, duration, request id). Default: no request log. */
  requestLog?: (line: string) => void;
}

export interface LocalCloudInstanceInfo {
  instanceId: string;
  publicIp?: string;
  zoneId: string;
}

export interface LocalCloud {
  /** host:port, as the SDK's Config.endpoint wants it (no scheme). */
  endpoint: string;
  url: string;
  adminUrl: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  sshConfig?: string;
  sshPrivateKey?: string;
  sshUser?: string;
  model: CloudModel;
  wire: WireServer;
  /** The start-up JSON line of `eni-migrate cloud`. */
  info(): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Its transition times as a worker takes them (ENI_MIGRATE_TRANSITION_MS, `convert=1000,attach=3000,…`; an
 * association's is the median of its spread). Written here, not shared: the product's code is not the cloud's.
 */
function transitionMsOf(t: Timings): string {
  const { convertMs, attachMs, detachMs, deleteMs, associateMs, unassociateMs, commandMs } = t;
  const times = { convert: convertMs, attach: attachMs, detach: detachMs, delete: deleteMs };
  return Object.entries({ ...times, associate: associateMs, unassociate: unassociateMs, command: commandMs })
    .map(([name, ms]) => `${name}=${ms}`)
    .join(',');
}

/** Host part of an endpoint: a wildcard bind is reached on loopback, an IPv6 literal needs brackets. */
function endpointHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** The instances as DescribeInstances answers them, so the start-up line shows exactly what a client will see. */
function describeInstances(model: CloudModel): LocalCloudInstanceInfo[] {
  const route = findAction('2014-05-26', 'DescribeInstances');
  if (!route) return [];
  const out: LocalCloudInstanceInfo[] = [];
  for (let page = 1; ; page++) {
    const body = route.handler(
      model,
      new RequestParams({ RegionId: model.regionId, PageSize: '100', PageNumber: String(page) }),
    ) as { Instances?: { Instance?: InstanceWire[] }; TotalCount?: number };
    const instances = body.Instances?.Instance ?? [];
    for (const i of instances) {
      out.push({
        instanceId: i.InstanceId,
        publicIp: i.PublicIpAddress?.IpAddress?.[0] || i.EipAddress?.IpAddress || undefined,
        zoneId: i.ZoneId,
      });
    }
    if (instances.length === 0 || out.length >= (body.TotalCount ?? 0)) return out;
  }
}

interface InstanceWire {
  InstanceId: string;
  ZoneId: string;
  PublicIpAddress?: { IpAddress?: string[] };
  EipAddress?: { IpAddress?: string };
}

export async function startLocalCloud(opts: LocalCloudOptions = {}): Promise<LocalCloud> {
  const host = opts.host ?? '127.0.0.1';
  const topology = opts.topologyFile
    ? loadTopology(opts.topologyFile)
    : defaultTopology({ instances: opts.instances ?? 3, regionId: opts.regionId });
  const model = createCloudModel({ topology, timings: opts.timings });

  const generated = generateCredentials();
  const credentials = {
    accessKeyId: opts.accessKeyId ?? generated.accessKeyId,
    accessKeySecret: opts.accessKeySecret ?? generated.accessKeySecret,
    stsTokens: opts.stsTokens,
    requireSecurityToken: opts.requireSecurityToken,
  };
  const wire = new WireServer({
    model,
    credentials,
    findAction,
    makeParams: (raw) => new RequestParams(raw),
    rateLimit: opts.rateLimit,
    requestLog: opts.requestLog,
  });

  const ownWorkDir = opts.ssh !== false && opts.workDir === undefined;
  const workDir = opts.workDir ?? (ownWorkDir ? await mkdtemp(join(tmpdir(), 'local-cloud-')) : undefined);
  let ssh: { sshConfigPath: string; privateKeyPath: string; user: string; stop(): Promise<void> } | undefined;
  const stop = async (): Promise<void> => {
    await Promise.allSettled([ssh?.stop(), wire.close()]);
    if (ownWorkDir && workDir) await rm(workDir, { recursive: true, force: true });
  };

  try {
    const address = await wire.listen(opts.port ?? 0, host);
    if (opts.ssh !== false && workDir) {
      // Loaded only when wanted: an API-only cloud (most tests) does not pay for ssh2's start-up.
      const { startInstanceSsh } = await import('./ssh');
      ssh = await startInstanceSsh({
        model,
        workDir,
        user: opts.sshUser,
        privateKeyPath: opts.sshPrivateKeyPath,
        host,
      });
    }
    const endpoint = `${endpointHost(host)}:${address.port}`;
    const cloud: LocalCloud = {
      endpoint,
      url: `http://${endpoint}`,
      adminUrl: `http://${endpoint}/_admin`,
      regionId: model.regionId,
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      sshConfig: ssh?.sshConfigPath,
      sshPrivateKey: ssh?.privateKeyPath,
      sshUser: ssh?.user,
      model,
      wire,
      info: () => ({
        endpoint,
        url: cloud.url,
        adminUrl: cloud.adminUrl,
        regionId: cloud.regionId,
        accessKeyId: cloud.accessKeyId,
        accessKeySecret: cloud.accessKeySecret,
        sshConfig: cloud.sshConfig,
        sshPrivateKey: cloud.sshPrivateKey,
        sshUser: cloud.sshUser,
        // What `eni-migrate batch start --vpc` needs: the region's VPCs.
        vpcIds: (model.snapshot().Vpcs as Array<{ VpcId: string }>).map((v) => v.VpcId),
        // The account's EIP quota in the region: a worker is told it (ENI_MIGRATE_EIP_QUOTA), as for a real account.
        eipQuota: model.snapshot().EipQuota as number,
        // Its transition times, as a worker is told them (ENI_MIGRATE_TRANSITION_MS) so that its waits look in time.
        transitionMs: transitionMsOf(model.timings),
        instances: describeInstances(model),
      }),
      stop,
    };
    return cloud;
  } catch (error) {
    await stop();
    throw error;
  }
}
