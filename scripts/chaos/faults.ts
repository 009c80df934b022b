/**
 * What a chaos run does to the cloud, through the local cloud's admin API (docs/local-cloud.md), and how much of it
 * happened. Every fault is one a real Alibaba Cloud region shows:
 *
 * - about 10% of all API calls fail before taking effect with a retryable code (ServiceUnavailable, InternalError,
 *   Throttling.User with a retry-after);
 * - lost responses: a share of the calls that change the cloud take effect and then the client gets no answer (the
 *   connection is reset) or a 503;
 * - Describe lag: a new ENI is missing from Describe* for a while;
 * - a share of attaches fall back to Available; a share of detaches stick in Detaching until re-issued;
 * - permission errors (Forbidden.RAM) on a share of EIP binds, so that some migrations roll back and some rollbacks
 *   (whose bind-back is an EIP bind too) meet errors. Limited in count: after that many denials the rule is spent, as
 *   an operator fixes the RAM policy; a rollback stuck on it retries in rounds until then, so the run converges.
 */
import type { BehaviourState, ModelBehaviours } from '../../src/local-cloud/contracts';
import { CHANGE_ACTIONS } from '../../src/shared/cloud-changes';
import type { FaultRule, FaultRuleInput } from '../../src/local-cloud/wire/faults';
import type { CallRecord } from '../../src/local-cloud/wire/call-log';

/** The calls that change the cloud (the product's own table): a lost response to one of them is the interesting kind. */
export const MUTATING_ACTIONS = CHANGE_ACTIONS;

export type FaultKind = 'retryable' | 'lost-response' | 'error-after-effect' | 'permission';

export interface FaultPlan {
  /** Share of all calls failing with a retryable code before they take effect (about 0.1). */
  retryableRate: number;
  /** Share of each mutating call whose response is lost after it took effect (connection reset). */
  lostResponseRate: number;
  /** Share of each mutating call answered with a 503 after it took effect. */
  errorAfterRate: number;
  /** Share of EIP binds (AssociateEipAddress) denied by RAM, until `permissionLimit` of them were. */
  permissionRate: number;
  permissionLimit: number;
  behaviours: Required<Pick<ModelBehaviours, 'describeLagMs' | 'attachFallbackRate' | 'stuckDetachRate'>>;
}

export function faultPlan(migrations: number): FaultPlan {
  return {
    retryableRate: 0.1,
    lostResponseRate: 0.04,
    errorAfterRate: 0.03,
    permissionRate: 0.15,
    // About 8% of the migrations' binds: enough for step-5 denials and for bind-backs that meet one.
    permissionLimit: Math.max(3, Math.round(migrations * 0.08)),
    behaviours: { describeLagMs: 1000, attachFallbackRate: 0.1, stuckDetachRate: 0.3 },
  };
}

export class Admin {
  constructor(readonly adminUrl: string) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.adminUrl}/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`${method} /_admin/${route}: ${res.status} ${json.error}`);
    return json;
  }

  fault(rule: FaultRuleInput): Promise<FaultRule> {
    return this.request('POST', 'faults', rule);
  }
  state(): Promise<Record<string, unknown>> {
    return this.request('GET', 'state');
  }
  calls(): Promise<CallRecord[]> {
    return this.request('GET', 'calls');
  }
}

/** Installs the plan; returns which kind each rule id is, for the tally. */
export async function applyFaults(admin: Admin, plan: FaultPlan): Promise<Map<number, FaultKind>> {
  const kinds = new Map<number, FaultKind>();
  const add = async (kind: FaultKind, rule: FaultRuleInput) => kinds.set((await admin.fault(rule)).id, kind);
  // First, so that a denied bind is a denial and not also a 503.
  await add('permission', {
    action: 'AssociateEipAddress',
    code: 'Forbidden.RAM',
    status: 403,
    message: 'User not authorized to operate on the specified resource: vpc:AssociateEipAddress (chaos).',
    rate: plan.permissionRate,
    limit: plan.permissionLimit,
  });
  // Three retryable codes at a third of the rate each: 1 - (1 - r/3)^3 ≈ r.
  const each = 1 - Math.cbrt(1 - plan.retryableRate);
  await add('retryable', { action: '*', code: 'ServiceUnavailable', rate: each });
  await add('retryable', { action: '*', code: 'InternalError', rate: each });
  await add('retryable', { action: '*', code: 'Throttling.User', rate: each, retryAfterMs: 500 });
  for (const action of MUTATING_ACTIONS) {
    await add('lost-response', {
      action,
      code: 'ConnectionReset',
      status: 500,
      rate: plan.lostResponseRate,
      when: 'after',
      drop: true,
    });
    await add('error-after-effect', {
      action,
      code: 'ServiceUnavailable',
      rate: plan.errorAfterRate,
      when: 'after',
    });
  }
  await admin.request('POST', 'behaviours', plan.behaviours);
  return kinds;
}

/** Turns every fault off (the run's end, before the cloud is judged). */
export async function clearFaults(admin: Admin): Promise<void> {
  await admin.request('DELETE', 'faults');
  await admin.request('POST', 'behaviours', {
    describeLagMs: 0,
    attachFallbackRate: 0,
    stuckDetachRate: 0,
    attachFallbacks: 0,
    stuckDetaches: 0,
  });
}

export interface FaultTally {
  /** API calls the cloud received. */
  calls: number;
  /** Injected errors and lost responses by kind. */
  injected: Record<FaultKind, number>;
  /** Share of all calls that failed with an injected retryable code before taking effect. */
  retryableShare: number;
  /** From the model: ENIs hidden from Describe* for a while, attaches fallen back, detaches stuck. */
  laggedEnis: number;
  attachFallbacks: number;
  stuckDetaches: number;
  /** How the permission rule ended: spent (IAM "fixed") after its limit, or still active. */
  permissionRuleSpent: boolean;
}

/** Reads what fired, before the faults are cleared. */
export async function tallyFaults(admin: Admin, kinds: Map<number, FaultKind>): Promise<FaultTally> {
  const rules = await admin.request<FaultRule[]>('GET', 'faults?all=true');
  const injected: Record<FaultKind, number> = {
    retryable: 0,
    'lost-response': 0,
    'error-after-effect': 0,
    permission: 0,
  };
  let permissionRuleSpent = false;
  for (const rule of rules) {
    const kind = kinds.get(rule.id);
    if (!kind) continue;
    injected[kind] += rule.hits;
    if (kind === 'permission') permissionRuleSpent = rule.spent === true;
  }
  const calls = (await admin.calls()).at(-1)?.seq ?? 0;
  const behaviours = await admin.request<BehaviourState>('GET', 'behaviours');
  return {
    calls,
    injected,
    retryableShare: calls ? injected.retryable / calls : 0,
    laggedEnis: behaviours.fired.laggedEnis,
    attachFallbacks: behaviours.fired.attachFallbacks,
    stuckDetaches: behaviours.fired.stuckDetaches,
    permissionRuleSpent,
  };
}
