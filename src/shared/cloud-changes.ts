/**
 * The calls that change the cloud, and how fast all workers together may make them.
 *
 * Alibaba Cloud limits each API per account and region. From release 0.3 every activity that changes the cloud runs
 * on a task queue of its own API action, polled by an activity worker whose `maxTaskQueueActivitiesPerSecond` is that
 * action's rate: the Temporal server enforces it for the whole queue, so it holds across every worker process of the
 * region (docs/configuration.md, "Rate limits"). Reads stay on the workflow's own queue.
 *
 * Imported by workflow code (which queue an activity goes to) and by the worker (which queues it polls, how fast).
 */
import type { Activities } from '../activities';

/** The one table: each activity that changes the cloud, and the Alibaba Cloud API action it issues. */
export const CLOUD_CHANGES = {
  switchToPostPaid: 'ModifyInstanceChargeType',
  switchToPayByTraffic: 'ModifyInstanceNetworkSpec',
  convertNatPublicIpToEip: 'ConvertNatPublicIpToEip',
  createNetworkInterface: 'CreateNetworkInterface',
  attachNetworkInterface: 'AttachNetworkInterface',
  detachNetworkInterface: 'DetachNetworkInterface',
  deleteNetworkInterface: 'DeleteNetworkInterface',
  unassociateEipFromInstance: 'UnassociateEipAddress',
  unassociateEipFromEni: 'UnassociateEipAddress',
  associateEipToInstance: 'AssociateEipAddress',
  associateEipToEni: 'AssociateEipAddress',
} as const satisfies { [K in keyof Activities]?: string };

export type ChangeActivity = keyof typeof CLOUD_CHANGES;
export type ChangeAction = (typeof CLOUD_CHANGES)[ChangeActivity];

/** Every action that gets a rate-limited queue, in a stable order. */
export const CHANGE_ACTIONS: readonly ChangeAction[] = [...new Set(Object.values(CLOUD_CHANGES))].sort();

/** The action an activity issues, or undefined for an activity that changes nothing in the cloud. */
export function changeActionOf(activity: string): ChangeAction | undefined {
  return Object.hasOwn(CLOUD_CHANGES, activity) ? CLOUD_CHANGES[activity as ChangeActivity] : undefined;
}

/**
 * The queue of one action's calls, derived from the workflow's own queue (`<base>-<region>`), so the limit is per
 * region as Alibaba's is, and the workflow needs no configuration to find it.
 */
export function actionTaskQueue(workflowTaskQueue: string, action: ChangeAction): string {
  return `${workflowTaskQueue}/${action}`;
}

/** A rate as configured: `count` calls per `per`. */
export interface Rate {
  count: number;
  per: RateUnit;
}

export type RateUnit = 's' | 'min' | 'h';

const UNIT_SECONDS: Record<RateUnit, number> = { s: 1, min: 60, h: 3600 };

export function perSecond(rate: Rate): number {
  return rate.count / UNIT_SECONDS[rate.per];
}

export function formatRate(rate: Rate): string {
  return `${rate.count}/${rate.per}`;
}

/**
 * Default per-API rates. Alibaba publishes no per-API figure for these actions; these are the budgets terway
 * (Alibaba's own ENI manager for Kubernetes) gives its client, per minute (pkg/aliyun/client ratelimit.go;
 * ../shared/reference/peers-and-error-codes.md, "Client-side per-API rate limits"): 500 for Attach, Create and
 * Delete ENI, 400 for Detach, and 500 for any other action — the last is an assumption for the four actions terway
 * lists under its default.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<ChangeAction, Rate & { source: string }>> = {
  AttachNetworkInterface: { count: 500, per: 'min', source: 'terway' },
  CreateNetworkInterface: { count: 500, per: 'min', source: 'terway' },
  DeleteNetworkInterface: { count: 500, per: 'min', source: 'terway' },
  DetachNetworkInterface: { count: 400, per: 'min', source: 'terway' },
  AssociateEipAddress: { count: 500, per: 'min', source: "assumed: terway's default" },
  UnassociateEipAddress: { count: 500, per: 'min', source: "assumed: terway's default" },
  ConvertNatPublicIpToEip: { count: 500, per: 'min', source: "assumed: terway's default" },
  ModifyInstanceChargeType: { count: 500, per: 'min', source: "assumed: terway's default" },
  ModifyInstanceNetworkSpec: { count: 500, per: 'min', source: "assumed: terway's default" },
};

/** The rate of every action: the defaults with the configured ones over them. */
export type RateLimits = Record<ChangeAction, Rate>;

export function rateLimitsWith(overrides: Partial<RateLimits> = {}): RateLimits {
  const limits = {} as RateLimits;
  for (const action of CHANGE_ACTIONS) {
    const { count, per } = overrides[action] ?? DEFAULT_RATE_LIMITS[action];
    limits[action] = { count, per };
  }
  return limits;
}
