/**
 * Injected faults, after LocalStack's Chaos API: rules matched by Action (or `*`), each failing either the next
 * `count` calls or a `rate` fraction of calls with a chosen error code and HTTP status. Rehearsals use them to
 * exercise retries and compensation; tests use them to reach error paths deterministically.
 */
import { z } from 'zod';
import { CloudError, ERRORS } from '../errors';

/** Default x-acs-retry-after of an injected throttling fault: the SDK waits exactly this long before a retry. */
export const DEFAULT_FAULT_RETRY_AFTER_MS = 1000;

export const FaultRuleInput = z
  .object({
    action: z.string().min(1),
    code: z.string().min(1),
    /** Default: the code's status in ERRORS, else 400. */
    status: z.number().int().min(400).max(599).optional(),
    count: z.number().int().min(1).optional(),
    rate: z.number().min(0).max(1).optional(),
    message: z.string().optional(),
    /** Only for codes containing "Throttling": the x-acs-retry-after header, in ms. */
    retryAfterMs: z.number().int().min(0).optional(),
    /**
     * `before` (default): the call fails without effect. `after`: the action runs, then the caller gets the error,
     * as when a response is lost; this is what ClientToken idempotency is for.
     */
    when: z.enum(['before', 'after']).optional(),
    /** Only calls whose request parameters include these values, e.g. {"InstanceId": "i-…"}: one instance's calls. */
    params: z.record(z.string(), z.string()).optional(),
    /**
     * With `rate`: the rule fails at most this many calls, then it is spent (a fault an operator fixes after a while,
     * such as a RAM policy missing an action).
     */
    limit: z.number().int().min(1).optional(),
    /**
     * No answer at all: the connection is closed, so the client sees a reset (`socket hang up`), as when a response
     * is lost on the way. With `when: "after"` the action has taken effect. `code` and `status` only label the call
     * in the call log.
     */
    drop: z.boolean().optional(),
  })
  .strict()
  .refine((r) => (r.count === undefined) !== (r.rate === undefined), {
    message:
      'give exactly one of "count" (the next n calls fail) or "rate" (0..1, the fraction of calls that fail)',
    path: ['count'],
  })
  .refine((r) => r.limit === undefined || r.rate !== undefined, {
    message: '"limit" caps a "rate" rule; a "count" rule is limited by its count already',
    path: ['limit'],
  });
export type FaultRuleInput = z.infer<typeof FaultRuleInput>;

export interface FaultRule {
  id: number;
  action: string;
  code: string;
  status: number;
  message: string;
  when: 'before' | 'after';
  /** Calls still to fail (count rules). */
  remaining?: number;
  rate?: number;
  retryAfterMs?: number;
  params?: Record<string, string>;
  /** Rate rules: the calls it may still fail (from `limit`). */
  limit?: number;
  /** The connection is closed without an answer. */
  drop?: boolean;
  /** Calls failed by this rule so far. */
  hits: number;
  /** Used up (its count or limit reached): no longer active; listed only with `all`. */
  spent?: boolean;
}

/** What a call gets from a fault rule: the error it answers with, or (drop) no answer at all. */
export class InjectedFault extends CloudError {
  constructor(
    code: string,
    status: number,
    message: string,
    headers: Record<string, string>,
    /** Close the connection instead of answering. */
    readonly drop: boolean,
  ) {
    super(code, status, message, headers);
  }
}

function defaultStatus(code: string): number {
  return (ERRORS as Record<string, { status: number } | undefined>)[code]?.status ?? 400;
}

function defaultMessage(code: string): string {
  const known = (ERRORS as Record<string, { message: string } | undefined>)[code];
  return known ? known.message.replace(/\s*"?\{\d+\}"?/g, '').trim() : `Injected fault ${code}.`;
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  /** Rules used up, kept so that a rehearsal can still count what they did (`list(true)`). */
  private spent: FaultRule[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number = Math.random) {}

  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = {
      id: this.nextId++,
      action: input.action,
      code: input.code,
      status: input.status ?? defaultStatus(input.code),
      message: input.message ?? defaultMessage(input.code),
      when: input.when ?? 'before',
      remaining: input.count,
      rate: input.rate,
      retryAfterMs: input.code.includes('Throttling')
        ? (input.retryAfterMs ?? DEFAULT_FAULT_RETRY_AFTER_MS)
        : undefined,
      ...(input.params ? { params: { ...input.params } } : {}),
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(input.drop ? { drop: true } : {}),
      hits: 0,
    };
    this.rules.push(rule);
    return { ...rule };
  }

  /** The active rules in the order they are tried; with `all`, then the spent ones (`spent: true`). */
  list(all = false): FaultRule[] {
    return [...this.rules, ...(all ? this.spent : [])].map((r) => ({ ...r }));
  }

  /** Removes every rule, spent ones included; returns how many were active. */
  clear(): number {
    const n = this.rules.length;
    this.rules = [];
    this.spent = [];
    return n;
  }

  private retire(rule: FaultRule): void {
    this.rules = this.rules.filter((r) => r !== rule);
    rule.spent = true;
    this.spent.push(rule);
  }

  /** The error this call of `action` fails with at this phase, consuming one count; first matching rule wins. */
  draw(
    action: string,
    when: 'before' | 'after',
    params: Record<string, string> = {},
  ): InjectedFault | undefined {
    for (const rule of this.rules) {
      if (rule.when !== when || (rule.action !== '*' && rule.action !== action)) continue;
      if (rule.params && Object.entries(rule.params).some(([k, v]) => params[k] !== v)) continue;
      if (rule.remaining !== undefined) {
        rule.remaining -= 1;
        if (rule.remaining === 0) this.retire(rule);
      } else if (this.random() >= (rule.rate ?? 0)) {
        continue;
      } else if (rule.limit !== undefined) {
        rule.limit -= 1;
        if (rule.limit === 0) this.retire(rule);
      }
      rule.hits += 1;
      const headers: Record<string, string> =
        rule.retryAfterMs !== undefined ? { 'x-acs-retry-after': String(rule.retryAfterMs) } : {};
      return new InjectedFault(rule.code, rule.status, rule.message, headers, rule.drop === true);
    }
    return undefined;
  }
}
