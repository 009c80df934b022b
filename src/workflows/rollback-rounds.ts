import { condition, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { StepName } from '../shared/migration';
import type { MigrationTracker } from './progress';
import { applicationFailureOf, failureDetail, messageOf } from './failures';
import { retryRollbackUpdate, rollForwardUpdate } from './messages';

/**
 * The compensations that give the EIP a home again (unbind it from the ENI, bind it back to the instance) must never
 * give up: an EIP bound to nothing leaves the instance unreachable. Each round is one activity run under its own
 * retry policy; a round that fails (a permission error, throttling that lasts, anything) marks the migration
 * `rollback-stuck:<step>` with the error and what to fix, waits (backing off to a cap), and tries again. An operator
 * can ask for the next round now (`retryRollback`) or choose to roll forward (`rollForward`): the EIP onto the new ENI.
 */
export interface UntilDone<R> {
  step: StepName;
  /** What this compensation does, for the operator: "bind the EIP back to the instance". */
  action: string;
  /** One round; `round` (1, 2, …) keeps each round's ClientTokens apart from the last one's. */
  attempt: (round: number) => Promise<R>;
  /** Gives the EIP the other home instead (the new ENI; for the way back, the instance); absent where impossible. */
  rollForward?: (round: number) => Promise<R>;
  /** What rolling forward does, for the operator: "bind the EIP to the new ENI (roll forward)". */
  rollForwardAction?: string;
  /** Errors saying the way back cannot work (the instance is gone, or has another public address): roll forward. */
  impossible?: (failureType: string) => boolean;
}

export interface RoundsResult<R> {
  result: R;
  /** Set when the EIP went onto the ENI instead, and why. */
  rolledForward?: string;
}

/** The first wait after a failed round; it doubles up to the cap. */
const FIRST_WAIT_MS = 5000;
/**
 * Stuck for longer than a day, or for more rounds than this, rounds come at most hourly (or at the cap, if longer):
 * the history then grows by about 260 events a day, whatever the cap.
 */
const SLOW_AFTER_MS = 24 * 3600_000;
const SLOW_AFTER_ROUNDS = 200;
const SLOW_INTERVAL_MS = 3600_000;
/**
 * Past this many history events (or bytes) no round comes by itself, only an operator's `retryRollback`: Temporal
 * terminates a workflow at 51,200 events or 50 MB, and a terminated rollback would leave the EIP unbound for good.
 */
const QUIET_AFTER_EVENTS = 40_000;
const QUIET_AFTER_BYTES = 40 * 1024 * 1024;
/** The shortest cap the workflow accepts: rounds at a faster pace only grow the history. */
export const MIN_ROLLBACK_RETRY_SECONDS = 1;

export class RollbackRounds {
  private wake = false;
  private forwardAsked?: string;

  constructor(
    private readonly track: MigrationTracker,
    private readonly maxIntervalMs: number,
  ) {
    // A roll-forward asked for while the stuck step's last round was running, which then went through, is moot.
    track.onUnstuck = () => {
      this.forwardAsked = undefined;
    };
  }

  /**
   * The operator's answers to a stuck round: `retryRollback` (the next round now) and `rollForward`. Their validators
   * refuse them unless a round is stuck, so a refused update leaves no trace in the history.
   */
  handleUpdates(): void {
    setHandler(
      retryRollbackUpdate,
      () => {
        this.wake = true;
      },
      { validator: () => this.assertStuck() },
    );
    setHandler(
      rollForwardUpdate,
      () => {
        this.forwardAsked = 'an operator chose to roll forward (rollForward update)';
        this.wake = true;
      },
      {
        validator: () => {
          this.assertStuck();
          if (!this.track.rollbackStuck?.canRollForward) {
            throw new Error(`the stuck step (${this.track.rollbackStuck?.action}) cannot roll forward`);
          }
        },
      },
    );
  }

  private assertStuck(): void {
    if (!this.track.rollbackStuck) throw new Error('no rollback step is reported stuck');
  }

  async untilDone<R>(c: UntilDone<R>): Promise<RoundsResult<R>> {
    let waitMs = Math.min(FIRST_WAIT_MS, this.maxIntervalMs);
    let rounds = 0;
    const since = Date.now();
    for (;;) {
      // An operator's choice accepted while the last round ran still counts if that round failed.
      if (this.forwardAsked && c.rollForward) return this.forward(c, this.forwardAsked);
      this.wake = false;
      rounds += 1;
      try {
        const result = await c.attempt(rounds);
        this.track.unstuck();
        return { result };
      } catch (err) {
        const type = applicationFailureOf(err)?.type ?? '';
        if (c.rollForward && c.impossible?.(type)) {
          return this.forward(c, `${c.action} is impossible: ${messageOf(err)}`);
        }
        const slow = Date.now() - since >= SLOW_AFTER_MS || rounds >= SLOW_AFTER_ROUNDS;
        const { historyLength, historySize } = workflowInfo();
        const quiet = historyLength >= QUIET_AFTER_EVENTS || historySize >= QUIET_AFTER_BYTES;
        const interval = slow ? Math.max(waitMs, SLOW_INTERVAL_MS) : waitMs;
        this.track.stuck({
          step: c.step,
          action: c.action,
          since: new Date(since).toISOString(),
          rounds,
          lastError: messageOf(err),
          fix: fixFor(err),
          ...(quiet ? {} : { nextRetryAt: new Date(Date.now() + interval).toISOString() }),
          canRollForward: c.rollForward !== undefined,
        });
        log.warn('rollback step failed; retrying', { action: c.action, rounds, error: messageOf(err) });
        const asked = () => this.wake || (this.forwardAsked !== undefined && c.rollForward !== undefined);
        if (quiet) await condition(asked);
        else await condition(asked, interval);
        waitMs = Math.min(waitMs * 2, this.maxIntervalMs);
      }
    }
  }

  /** Roll forward, with the same persistence: the EIP must end somewhere. */
  private async forward<R>(c: UntilDone<R>, reason: string): Promise<RoundsResult<R>> {
    this.forwardAsked = undefined;
    log.warn('rolling forward', { reason });
    const { result } = await this.untilDone({
      step: c.step,
      action: c.rollForwardAction ?? 'roll forward',
      attempt: c.rollForward as (round: number) => Promise<R>,
    });
    return { result, rolledForward: reason };
  }
}

/** What the operator should do: the error table's fix when the cloud error has one, else a word on its kind. */
function fixFor(err: unknown): string | undefined {
  const detail = failureDetail(err);
  if (typeof detail?.fix === 'string') return detail.fix;
  switch (detail?.kind) {
    case 'transient':
      return 'the cloud is throttling or busy: this usually clears by itself; lower the concurrency of other jobs on this account';
    case 'transitional':
      return 'the resource is between two states: it usually settles by itself';
    case 'denied':
      return "check the worker's credentials and RAM policy (docs/operations.md)";
    default:
      return undefined;
  }
}
