import { createHash } from 'node:crypto';
import { activityInfo, Context, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure, type Duration } from '@temporalio/common';
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import { withCallMeter, type CallMeter } from '../cloud/call';
import { classifyCode, CloudApiError, tokenSpent, toApplicationFailure } from '../cloud/errors';
import { recordAttemptStart } from '../cloud/throttle-wait';
import { SshError } from '../ssh';
import { TYPICAL_TRANSITION_MS, type TransitionAction, type TransitionTimes } from '../shared/transitions';

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

/**
 * The heartbeat details a retry resumes from. A retry may resume a checkpoint written by the previous release: fields
 * added since are optional, and the previous release ignores them.
 */
interface Checkpoint<S> {
  apiCalls: number;
  polls: number;
  /** Epoch ms when the running wait's budget ends; 0 when none runs. */
  deadline?: number;
  state: S;
  /** The transition this activity requested last and is waiting for (absent before this field existed). */
  transition?: RunningTransition;
  /** ClientToken generations by purpose, those above 0 (see `withClientToken`); absent before release 0.5. */
  tokens?: Record<string, number>;
  /**
   * By purpose, the token generations whose request may have taken effect: sent, and not answered with a failure the
   * first time (no answer, a reset, a 5xx, a success). A later failure of the same token does not prove that it made
   * nothing (see `earlierTokensThatMayHaveActed`). Absent from the checkpoints of earlier releases.
   */
  mayHaveActed?: Record<string, number[]>;
}

/** A transition requested of the cloud and not yet seen done. */
interface RunningTransition {
  action: TransitionAction;
  /** Epoch ms when the cloud accepted the request. */
  at: number;
  /** Status checks made since. */
  checks: number;
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
  /**
   * Polls of a wait without a known transition: the first comes after this, then ×1.5 per poll up to 10× (at most
   * 10 s), ±25% jitter. Also the longest short poll after a transition's first check.
   */
  intervalMs: number;
  /** How long each transition typically takes (configured, then learned): its first check comes then. */
  transitions?: TransitionEstimates;
}

export { TYPICAL_TRANSITION_MS, type TransitionAction, type TransitionTimes };

/** The first check of a transition comes up to this fraction after its expected end (never before it). */
const FIRST_CHECK_JITTER = 0.02;
/** A transition seen done at its first check may be quicker than expected: the next first check comes this much earlier. */
const PROBE_EARLIER = 0.005;
/** Weight of a transition that was not done at its first check in the estimate. */
const LEARN_WEIGHT = 0.5;
/** The learned estimate stays within these multiples of the configured duration. */
const LEARNED_RANGE = [0.25, 4] as const;
/** Short polls after a first check that found the transition still running: a tenth of it, at least this. */
const MIN_SHORT_POLL_MS = 25;

/**
 * Per action, when a transition can be expected to end: the configured typical duration at first, then a moving
 * estimate of what this worker observed (in process, shared by all activities). A transition not done at its first
 * check (the cloud is slower than expected) moves the estimate towards its observed duration; one done at its first
 * check shows only that it took no longer, so the estimate creeps down slowly to find out whether it is quicker.
 */
export class TransitionEstimates {
  private readonly typical: TransitionTimes;
  private readonly learned = new Map<TransitionAction, number>();

  constructor(typical: Partial<TransitionTimes> = {}) {
    this.typical = { ...TYPICAL_TRANSITION_MS };
    for (const [key, ms] of Object.entries(typical) as Array<[keyof TransitionTimes, number | undefined]>) {
      if (key in TYPICAL_TRANSITION_MS && ms !== undefined && Number.isFinite(ms) && ms >= 0)
        this.typical[key] = ms;
    }
  }

  /** Milliseconds after the request when the transition can first be seen done. */
  expectedMs(action: TransitionAction): number {
    return this.learned.get(action) ?? (this.typical[`${action}Ms`] as number | undefined) ?? 0;
  }

  /** A transition this worker requested was seen done `elapsedMs` after its request, at its `checks`-th check. */
  observe(action: TransitionAction, elapsedMs: number, checks: number): void {
    const typical = this.typical[`${action}Ms`] as number | undefined;
    if (typical === undefined) return;
    const expected = this.expectedMs(action);
    const next =
      checks <= 1
        ? expected * (1 - PROBE_EARLIER)
        : expected + LEARN_WEIGHT * (Math.min(elapsedMs, 2 * Math.max(expected, 1)) - expected);
    this.learned.set(
      action,
      Math.min(LEARNED_RANGE[1] * typical, Math.max(LEARNED_RANGE[0] * typical, next)),
    );
  }
}

export class Execution<S extends object> {
  readonly meter: CallMeter;
  /**
   * This attempt must look at the cloud before it acts: it is a retry (the last attempt may have acted and lost the
   * answer) or it resumes a checkpoint (a worker restart). A first attempt knows what the previous step left and acts
   * at once; the ClientToken and this look make its retry find what it did.
   */
  readonly lookFirst: boolean;
  private polls: number;
  private deadline: number;
  private transition: RunningTransition | undefined;
  /** The transition was requested by this attempt: its duration is known from request to done. */
  private ownTransition = false;
  /** The cloud's refusal of a request sent without looking (see `actBlind`). */
  private refusal: CloudApiError | undefined;
  /** ClientToken generations by purpose: a purpose's token is replaced each time the cloud fails its request. */
  private readonly tokens: Record<string, number>;
  /** By purpose, the generations sent whose request may have taken effect (Checkpoint.mayHaveActed). */
  private readonly mayHaveActed: Record<string, number[]>;
  state: S;

  constructor(
    initial: S,
    private readonly tuning: PollTuning,
    private readonly tokenSeed?: string,
  ) {
    // A retry of this activity (same workflow, same activity) starts from the last checkpoint.
    const info = activityInfo();
    const resumed = info.heartbeatDetails as Checkpoint<S> | undefined;
    this.lookFirst = info.attempt > 1 || resumed !== undefined;
    this.meter = { calls: resumed?.apiCalls ?? 0, actions: [] };
    this.polls = resumed?.polls ?? 0;
    // A retry after a lost worker keeps the running budget, so restarts do not extend it. A deadline already past is
    // the earlier attempt's own failure (or a crash right at it): this attempt checks again with a fresh budget.
    const deadline = resumed?.deadline ?? 0;
    this.deadline = deadline > Date.now() ? deadline : 0;
    this.transition = resumed?.transition ? { ...resumed.transition } : undefined;
    this.tokens = { ...(resumed?.tokens ?? {}) };
    this.mayHaveActed = { ...(resumed?.mayHaveActed ?? {}) };
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
      ...(this.transition ? { transition: this.transition } : {}),
      ...(Object.keys(this.tokens).length ? { tokens: this.tokens } : {}),
      ...(Object.keys(this.mayHaveActed).length ? { mayHaveActed: this.mayHaveActed } : {}),
    } satisfies Checkpoint<S>);
  }

  /**
   * The cloud accepted a request that starts `action`: the wait's first check comes when it can first be done, after
   * the action's expected duration, and how long it took teaches the next wait. Checkpoints.
   */
  requested(action: TransitionAction, patch: Partial<S> = {}): void {
    this.transition = { action, at: Date.now(), checks: 0 };
    this.ownTransition = true;
    this.checkpoint(patch);
  }

  /**
   * Sends a first attempt's request without looking first. When the cloud refuses it as such (not a transient error
   * nor a permission: those propagate, and the retry looks), the cloud is not as the previous step left it (a
   * Temporal reset replays a step that already ran, someone changed it meanwhile): the wait's first look decides,
   * done or a failure that says why; a look that would send the request again throws the refusal (`throwIfRefused`).
   */
  async actBlind(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (!(err instanceof CloudApiError)) throw err;
      const { kind } = classifyCode(err.code, err.statusCode);
      if (kind === 'transient' || kind === 'denied') throw err;
      this.refusal = err;
    }
  }

  /** Before a look sends a request: the refusal of the same request sent without looking, if there was one. */
  throwIfRefused(): void {
    if (this.refusal) throw this.refusal;
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
    // A transition requested before the first observation (a first attempt acts without looking) is waited for first.
    if (this.transition && this.transition.checks === 0) await sleep(this.withinBudget(this.nextDelay()));
    for (;;) {
      const before = this.transition;
      const o = await observe();
      // An observation that did not itself request a transition checked the running one.
      const checked = before !== undefined && before === this.transition ? before : undefined;
      if (checked) checked.checks += 1;
      if ('done' in o) {
        if (checked && this.ownTransition) {
          this.tuning.transitions?.observe(checked.action, Date.now() - checked.at, checked.checks);
        }
        return o.done;
      }
      if ('failed' in o) {
        throw ApplicationFailure.create({ message: o.failed, type: o.type, nonRetryable: !o.retryable });
      }
      if (budget && Date.now() >= this.deadline) throw budgetExceeded(budget, o.pending, this.deadline);
      this.polls += 1;
      this.checkpoint();
      await sleep(this.withinBudget(this.nextDelay()));
    }
  }

  /** A wait with a budget looks once more when it runs out, not later. */
  private withinBudget(delayMs: number): number {
    return this.deadline > 0 ? Math.max(0, Math.min(delayMs, this.deadline - Date.now())) : delayMs;
  }

  /**
   * Milliseconds to wait before the next check. After a request: until the transition can first be done (its
   * expected duration, a little jitter, never earlier), then short polls (a tenth of it) growing ×1.5. Without one
   * (waiting for what another attempt or someone else started, or for a guest): the poll interval, growing ×1.5.
   */
  nextDelay(): number {
    const { intervalMs, transitions } = this.tuning;
    const cap = Math.min(10 * intervalMs, 10_000);
    const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));
    const t = this.transition;
    if (!t) return jittered(Math.min(cap, intervalMs * 1.5 ** Math.min(Math.max(this.polls - 1, 0), 20)));
    // A checkpoint from another release may name an action this one does not know: no first-check wait for it.
    const expectedMs = transitions?.expectedMs(t.action) ?? TYPICAL_TRANSITION_MS[`${t.action}Ms`] ?? 0;
    const untilExpected = t.at + expectedMs - Date.now();
    if (t.checks === 0) {
      return Math.max(0, Math.round(untilExpected + expectedMs * Math.random() * FIRST_CHECK_JITTER));
    }
    if (untilExpected > 0) return Math.round(untilExpected);
    const shortMs = Math.min(intervalMs, Math.max(MIN_SHORT_POLL_MS, expectedMs / 10));
    return jittered(Math.min(cap, shortMs * 1.5 ** Math.min(t.checks - 1, 20)));
  }

  /**
   * The ClientToken of a request: the same for every attempt of the same step of the same migration, across a reset of
   * its workflow too (seeded by its firstExecutionRunId, see TokenSeeded), and different for another migration (a
   * rerun after a rollback must create a new ENI, not get the deleted one back); a new one once the cloud failed the
   * request (see `withClientToken`). ≤64 ASCII characters. `generation`: an earlier token of the purpose.
   */
  clientToken(purpose: string, generation = this.tokens[purpose] ?? 0): string {
    const { workflowId, runId } = workflowExecution();
    const seed = this.tokenSeed ?? runId;
    // Generation 0 is the token of earlier releases, so that a request they sent is recognised after an upgrade.
    const name = generation === 0 ? purpose : `${purpose}#${generation}`;
    const digest = createHash('sha256').update(`${workflowId}\n${seed}\n${name}`).digest('hex');
    return `eni-migration-${purpose}-${digest}`.slice(0, 64);
  }

  /**
   * Sends a request with its purpose's ClientToken. The token stays while the request's outcome is unknown (no answer,
   * a timeout, a 5xx, throttled, still processing): the retry, in this attempt or the next, sends it again and gets the
   * first request's result, so nothing is made twice. Once the cloud answered with a failure (`tokenSpent`), the token
   * is spent: the real API answers a repeat with the same failure (or IdempotentFailed), so the next try draws a new
   * one, as terway does. The generation is checkpointed before the failure propagates, so the next attempt (whose
   * heartbeat details carry it) uses the new token.
   *
   * A token is recorded as one that may have acted before its first send (checkpointed, so a worker lost in the middle
   * of the call leaves the record too), and forgotten only when that first send is answered with a failure. A token
   * whose earlier send went unanswered and whose repeat is then answered with a failure may still have made something:
   * before a request that makes a resource is sent with a new token, its caller looks for what the earlier tokens may
   * have made (`earlierTokensThatMayHaveActed`).
   */
  async withClientToken<T>(purpose: string, send: (clientToken: string) => Promise<T>): Promise<T> {
    const generation = this.tokens[purpose] ?? 0;
    const acted = this.mayHaveActed[purpose] ?? [];
    const sentBefore = acted.includes(generation);
    if (!sentBefore) {
      this.mayHaveActed[purpose] = [...acted, generation];
      this.checkpoint();
    }
    try {
      return await send(this.clientToken(purpose));
    } catch (err) {
      if (err instanceof CloudApiError && tokenSpent(err)) {
        // Answered with a failure at its first send: that request made nothing.
        if (!sentBefore) this.forgetSent(purpose, generation);
        this.spendClientToken(purpose);
      }
      throw err;
    }
  }

  /**
   * Draws the purpose's next ClientToken (checkpointed with `patch`): a request that must run anew, not return the
   * result of the last one (a Cloud Assistant run that failed for a passing reason).
   */
  spendClientToken(purpose: string, patch: Partial<S> = {}): void {
    this.tokens[purpose] = (this.tokens[purpose] ?? 0) + 1;
    this.checkpoint(patch);
  }

  /**
   * Before the purpose's current token is sent for the first time: the earlier tokens whose request may have taken
   * effect though a repeat was answered with a failure (its first answer lost, say). A request that creates something
   * looks for what they made before it creates it again. Empty once the current token was sent (what it made, its
   * repeat returns) and for a checkpoint of an earlier release (which did not record this).
   */
  earlierTokensThatMayHaveActed(purpose: string): string[] {
    const generation = this.tokens[purpose] ?? 0;
    const acted = this.mayHaveActed[purpose] ?? [];
    if (acted.includes(generation)) return [];
    return acted
      .filter((g) => g < generation)
      .sort((a, b) => a - b)
      .map((g) => this.clientToken(purpose, g));
  }

  private forgetSent(purpose: string, generation: number): void {
    const rest = (this.mayHaveActed[purpose] ?? []).filter((g) => g !== generation);
    if (rest.length) this.mayHaveActed[purpose] = rest;
    else delete this.mayHaveActed[purpose];
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
  // The attempt's start-to-close timeout runs from now: a throttled call's wait must fit in what is left of it.
  recordAttemptStart(Context.current());
  const x = new Execution(initial, tuning, tokenSeed);
  // Heartbeat on a timer too, not only between polls: an SSH command or a slow API call must not read as a lost
  // worker, and cancellation (delivered with heartbeat answers, at most one every 8 s) must reach the activity. None
  // at the start: it holds nothing a retry could use, costs the server a write (Temporal Cloud, an action) per
  // activity, and, as the SDK sends the first heartbeat at once and holds the next 8 s (80% of the timeout), it held
  // back the first checkpoint that matters (a ClientToken before a request, or the request sent), which a retry
  // after a lost worker resumes from. Liveness holds: the first keep-alive comes within 2 s of a 10 s timeout.
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
