import { createHash } from 'node:crypto';
import { activityInfo, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure, type Duration } from '@temporalio/common';
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import { withCallMeter, type CallMeter } from '../cloud/call';
import { CloudApiError, toApplicationFailure } from '../cloud/errors';
import { SshError } from '../ssh';

/**
 * The mechanics every activity shares, kept out of the activities themselves so they read as "one cloud action plus
 * its wait": counting API calls, checkpointing progress in heartbeats (so a retry after a worker restart resumes
 * instead of starting over), polling with backoff and jitter, deterministic ClientTokens, and turning cloud and SSH
 * errors into Temporal failures classified by the error table.
 */

/** What a poll found: finished, still moving, or in a state that cannot lead to success. */
export type Observation<R> =
  { done: R } | { pending: string } | { failed: string; type: string; retryable?: boolean };

/** Every activity result carries its API call count, for the per-step figures in the report. */
export interface Metered {
  apiCalls: number;
}

interface Checkpoint<S> {
  apiCalls: number;
  polls: number;
  /** Epoch ms when the running wait's budget ends; 0 when none runs. */
  deadline?: number;
  state: S;
}

/** The failure type of a wait that outlived its budget: retryable, the next attempt looks again. */
export const WAIT_BUDGET_EXCEEDED = 'WaitBudgetExceeded';

/**
 * A wait for a transitional state that may never settle (an ENI stuck Attaching, an EIP that stays Available). Without
 * a budget it would end only by the activity's startToCloseTimeout, once per attempt.
 */
export interface WaitBudget {
  /** Names the resource in the failure, e.g. "ENI eni-123 on i-456". */
  resource: string;
  ms: number;
}

export interface PollTuning {
  /** First wait between two polls; grows ×1.5 per poll up to 10× (at most 10 s), ±25% jitter. */
  intervalMs: number;
}

export class Execution<S extends object> {
  readonly meter: CallMeter;
  private polls: number;
  private deadline: number;
  state: S;

  constructor(
    initial: S,
    private readonly tuning: PollTuning,
    private readonly tokenSeed?: string,
  ) {
    // A retry of this activity (same workflow, same activity) starts from the last checkpoint.
    const resumed = activityInfo().heartbeatDetails as Checkpoint<S> | undefined;
    this.meter = { calls: resumed?.apiCalls ?? 0, actions: [] };
    this.polls = resumed?.polls ?? 0;
    // A retry after a lost worker keeps the running budget, so restarts do not extend it. A deadline already past is
    // the earlier attempt's own failure (or a crash right at it): this attempt checks again with a fresh budget.
    const deadline = resumed?.deadline ?? 0;
    this.deadline = deadline > Date.now() ? deadline : 0;
    this.state = { ...initial, ...(resumed?.state ?? {}) };
  }

  /** Records progress: liveness for the heartbeat timeout and the state a retry resumes from. */
  checkpoint(patch: Partial<S> = {}): void {
    this.state = { ...this.state, ...patch };
    heartbeat({
      apiCalls: this.meter.calls,
      polls: this.polls,
      deadline: this.deadline,
      state: this.state,
    } satisfies Checkpoint<S>);
  }

  /**
   * Polls `observe` until it reports done or failed, heartbeating between polls. Not a retry loop: a failed call
   * inside `observe` propagates, and Temporal's retry policy decides what happens next. With a `budget`, a wait still
   * pending when it runs out fails retryably (WAIT_BUDGET_EXCEEDED), and the retry re-checks or re-issues.
   */
  async poll<R>(observe: () => Promise<Observation<R>>, budget?: WaitBudget): Promise<R> {
    if (budget && this.deadline === 0) {
      this.deadline = Date.now() + budget.ms;
      this.checkpoint();
    }
    for (;;) {
      const o = await observe();
      if ('done' in o) return o.done;
      if ('failed' in o) {
        throw ApplicationFailure.create({ message: o.failed, type: o.type, nonRetryable: !o.retryable });
      }
      if (budget && Date.now() >= this.deadline) throw budgetExceeded(budget, o.pending, this.deadline);
      this.polls += 1;
      this.checkpoint();
      await sleep(this.nextDelay());
    }
  }

  /** Milliseconds to wait before the next poll. */
  nextDelay(): number {
    const { intervalMs } = this.tuning;
    const cap = Math.min(10 * intervalMs, 10_000);
    const base = Math.min(cap, intervalMs * 1.5 ** Math.min(this.polls, 20));
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /**
   * A ClientToken that is the same for every attempt of the same step of the same migration, across a reset of its
   * workflow too (seeded by its firstExecutionRunId, see TokenSeeded), and different for another migration (a rerun
   * after a rollback must create a new ENI, not get the deleted one back). ≤64 ASCII characters.
   */
  clientToken(purpose: string): string {
    const { workflowId, runId } = workflowExecution();
    const seed = this.tokenSeed ?? runId;
    const digest = createHash('sha256').update(`${workflowId}\n${seed}\n${purpose}`).digest('hex');
    return `eni-migration-${purpose}-${digest}`.slice(0, 64);
  }
}

function budgetExceeded(budget: WaitBudget, state: string, deadline: number): ApplicationFailure {
  const waitedMs = Date.now() - (deadline - budget.ms);
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  return ApplicationFailure.create({
    message: `${budget.resource}: still ${state} after ${seconds(waitedMs)} (wait budget ${seconds(budget.ms)}); the retry checks again`,
    type: WAIT_BUDGET_EXCEEDED,
    nonRetryable: false,
    details: [{ resource: budget.resource, state, waitedMs }],
  });
}

/** The workflow run this activity works for: ClientTokens and resource tags derive from it. */
export function workflowExecution(): { workflowId: string; runId: string } {
  const execution = activityInfo().workflowExecution;
  if (!execution) throw new Error('migration activities run only on behalf of a workflow');
  return execution;
}

/**
 * Runs one activity body: meters its API calls, returns them with the result, and converts errors: cloud errors by
 * the error table, SSH errors by kind. The call count of a failed attempt travels in the failure's details.
 */
export async function execute<S extends object, R extends object>(
  initial: S,
  tuning: PollTuning,
  body: (x: Execution<S>) => Promise<R>,
  tokenSeed?: string,
): Promise<R & Metered> {
  const x = new Execution(initial, tuning, tokenSeed);
  // Heartbeat on a timer too, not only between polls: an SSH command or a slow API call must not read as a lost
  // worker, and cancellation (delivered with heartbeat answers) must reach the activity promptly.
  x.checkpoint();
  const ticker = setInterval(() => x.checkpoint(), KEEPALIVE_MS);
  try {
    const result = await withCallMeter(x.meter, () => body(x));
    return { ...result, apiCalls: x.meter.calls };
  } catch (err) {
    throw withApiCalls(toFailure(err), x.meter.calls);
  } finally {
    clearInterval(ticker);
  }
}

/** Heartbeat period while an activity runs; the workflow's heartbeat timeouts are several times this. */
const KEEPALIVE_MS = 2000;

function toFailure(err: unknown): unknown {
  if (err instanceof CloudApiError) return toApplicationFailure(err);
  if (err instanceof SshError) {
    const retryable = err.kind === 'unreachable' || err.kind === 'timeout';
    return ApplicationFailure.create({
      message: err.message,
      type: `Ssh.${err.kind}`,
      nonRetryable: !retryable,
    });
  }
  return err;
}

function withApiCalls(err: unknown, apiCalls: number): unknown {
  if (!(err instanceof ApplicationFailure)) return err;
  const [first, ...rest] = err.details ?? [];
  const detail = typeof first === 'object' && first !== null ? { ...first, apiCalls } : { apiCalls };
  return ApplicationFailure.create({
    message: err.message,
    type: err.type ?? undefined,
    nonRetryable: err.nonRetryable ?? undefined,
    details: [detail, ...rest],
    nextRetryDelay: atLeastTheBackoff(err.nextRetryDelay),
    cause: err.cause,
  });
}

/**
 * A throttled attempt waits what the cloud asked (retry-after), but never less than the retry policy's own backoff:
 * retry-after is often under a second, and attempts spent that fast would use up maximumAttempts within seconds.
 */
function atLeastTheBackoff(delay: Duration | null | undefined): number | undefined {
  if (delay === undefined || delay === null) return undefined;
  const { attempt, retryPolicy } = activityInfo();
  const initialMs = msOptionalToNumber(retryPolicy?.initialInterval) ?? 1000;
  const maxMs = msOptionalToNumber(retryPolicy?.maximumInterval) ?? 100 * initialMs;
  const backoffMs = Math.min(initialMs * (retryPolicy?.backoffCoefficient ?? 2) ** (attempt - 1), maxMs);
  return Math.max(msOptionalToNumber(delay) ?? 0, backoffMs);
}
