/**
 * Test access to the local cloud: the REAL ECS and VPC SDK clients pointed at it over HTTP, and a typed client
 * for its admin API (faults, latency, behaviours, timings, rate limits, state, call log).
 */
import Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import Vpc from '@alicloud/vpc20160428';
import type { LocalCloud, LocalCloudOptions } from '../../src/local-cloud';
import type { ModelBehaviours, Timings } from '../../src/local-cloud/contracts';
import type { CallRecord } from '../../src/local-cloud/wire/call-log';
import type { FaultRule, FaultRuleInput } from '../../src/local-cloud/wire/faults';
import type { RateLimitSettings, ThrottlingCode } from '../../src/local-cloud/wire/rate-limits';

/** What an SDK client needs to reach a cloud. */
export interface CloudTarget {
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
}

type ConfigFields = ConstructorParameters<typeof $OpenApiUtil.Config>[0];

/** SDK clients configured the way the product configures them; `overrides` for STS, legacy signing, wrong keys... */
export function sdkClients(target: CloudTarget, overrides: ConfigFields = {}): { ecs: Ecs; vpc: Vpc } {
  const config = (): $OpenApiUtil.Config =>
    new $OpenApiUtil.Config({
      accessKeyId: target.accessKeyId,
      accessKeySecret: target.accessKeySecret,
      endpoint: target.endpoint,
      protocol: 'http',
      regionId: 'cn-hangzhou',
      readTimeout: 10000,
      connectTimeout: 5000,
      ...overrides,
    });
  return { ecs: new Ecs(config()), vpc: new Vpc(config()) };
}

export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The admin API (src/local-cloud/wire/admin.ts), typed. */
export class AdminClient {
  constructor(readonly baseUrl: string) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_admin/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new AdminError(res.status, `${method} /_admin/${route}: ${res.status} ${json.error}`);
    return json;
  }

  fault(rule: FaultRuleInput): Promise<FaultRule> {
    return this.request('POST', 'faults', rule);
  }
  faults(): Promise<FaultRule[]> {
    return this.request('GET', 'faults');
  }
  clearFaults(): Promise<{ cleared: number }> {
    return this.request('DELETE', 'faults');
  }
  latency(action: string, ms: number): Promise<Record<string, number>> {
    return this.request('POST', 'latency', { action, ms });
  }
  clearLatency(): Promise<Record<string, number>> {
    return this.request('DELETE', 'latency');
  }
  behaviours(b: ModelBehaviours): Promise<{ configured: ModelBehaviours }> {
    return this.request('POST', 'behaviours', b);
  }
  timings(t: Partial<Timings>): Promise<Timings> {
    return this.request('POST', 'timings', t);
  }
  state(): Promise<Record<string, unknown>> {
    return this.request('GET', 'state');
  }
  calls(filter: { action?: string; since?: number } = {}): Promise<CallRecord[]> {
    const q = new URLSearchParams();
    if (filter.action) q.set('action', filter.action);
    if (filter.since !== undefined) q.set('since', String(filter.since));
    return this.request('GET', `calls${q.size ? `?${q}` : ''}`);
  }
  clearCalls(): Promise<{ cleared: number }> {
    return this.request('DELETE', 'calls');
  }
  rateLimit(action: string, rps: number, burst: number): Promise<RateLimitSettings> {
    return this.request('POST', 'rate-limits', { action, rps, burst });
  }
  /** Window quotas, the window length and the throttling code (any of them). */
  rateLimits(body: {
    action?: string;
    perMinute?: number;
    windowMs?: number;
    code?: ThrottlingCode;
  }): Promise<RateLimitSettings> {
    return this.request('POST', 'rate-limits', body);
  }
  resetRateLimits(): Promise<RateLimitSettings> {
    return this.request('DELETE', 'rate-limits');
  }
}

export interface TestCloud {
  cloud: LocalCloud;
  ecs: Ecs;
  vpc: Vpc;
  admin: AdminClient;
}

/**
 * A local cloud for one test file: fast transitions (FAST_TIMINGS) and no SSH unless asked (`ssh: true`).
 * Stop it with `cloud.stop()` in `after`.
 */
export async function startTestCloud(
  opts: LocalCloudOptions & { realisticRateLimits?: boolean } = {},
): Promise<TestCloud> {
  // Loaded on demand so that wire-only tests can use sdkClients/AdminClient without starting the model.
  const { startLocalCloud, FAST_TIMINGS, GENEROUS_RATE_LIMIT } = await import('../../src/local-cloud');
  // Tests poll fast: a generous bucket, unless a test asks for Alibaba's per-minute quotas (`realisticRateLimits`).
  const { realisticRateLimits, ...rest } = opts;
  const cloud = await startLocalCloud({
    ssh: false,
    ...(realisticRateLimits ? {} : { rateLimit: GENEROUS_RATE_LIMIT }),
    ...rest,
    timings: { ...FAST_TIMINGS, ...opts.timings },
  });
  return { cloud, ...sdkClients(cloud), admin: new AdminClient(cloud.url) };
}
