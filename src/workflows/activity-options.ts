import {
  ActivityCancellationType,
  proxyActivities,
  workflowInfo,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { actionTaskQueue, changeActionOf } from '../shared/cloud-changes';

/** Errors that retrying cannot fix, whatever an activity said. */
const NEVER_RETRY = [
  'EipBoundElsewhere',
  'EniAttachedElsewhere',
  'EniHasEip',
  'HostKeyMismatch',
  'VerificationFailed',
  'GuestPrepareFailed',
  'GuestCommandRefused',
  'UnknownGuestScript',
];

/**
 * Read-only checks, retried on server errors. A throttled call waits inside the attempt until the cloud's next window
 * (up to a minute, src/cloud/throttle-wait.ts), so the start-to-close timeout leaves room for a full window's wait
 * twice over plus a read's worst case (SDK read timeout 10 s; preflight's SSH connect 10 s plus its egress check's
 * 10 s). A worker lost in the middle of one (a crash, a SIGKILL) is noticed by the heartbeat timeout (execute()
 * checkpoints every 2 s; the SDK sends the first at once, then one every 8 s), not by that long timeout: the chaos run measured a 2-minute stall per killed read when
 * start-to-close was the only timeout. Timeouts are not part of a workflow's commands: changing them is replay-safe.
 */
const READS = {
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
  },
} satisfies ActivityOptions;

/**
 * One cloud change plus its wait. Activities checkpoint every 2 s (the SDK sends one heartbeat every 8 s, 80% of the
 * timeout), so a lost worker is noticed within the heartbeat timeout and the retry resumes from the last checkpoint. Cancellation waits for the activity to stop, so no call
 * is in flight while compensations run.
 *
 * A throttled call waits inside the attempt as the cloud asks and goes again (src/cloud/throttle-wait.ts): throttling
 * spends no attempt. Only a wait that does not fit in what is left of the attempt fails it; the retry then waits the
 * cloud's retry-after, but never less than this policy's own backoff (src/activities/execution.ts). From release 0.3
 * the calls of all workers are also paced under the per-API rates (src/shared/cloud-changes.ts), so only other users
 * of the account throttle them.
 */
const CHANGES = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NEVER_RETRY,
  },
} satisfies ActivityOptions;

/** Compensations that do not strand the address (detach, delete the ENI) try harder before they give up. */
const COMPENSATIONS = {
  ...CHANGES,
  retry: { ...CHANGES.retry, maximumAttempts: 20 },
} satisfies ActivityOptions;

/**
 * One round of a compensation that must not give up (see RollbackRounds): a few quick attempts, then the workflow
 * reports the step stuck and runs the next round after a wait.
 */
const ROLLBACK_ROUND = {
  ...CHANGES,
  retry: { ...CHANGES.retry, maximumInterval: '10 seconds', maximumAttempts: 3 },
} satisfies ActivityOptions;

/** SSH in the guest: the budget plus room for one slow attempt (connect timeout and the command's own time). */
const guestOptions = (budgetSeconds: number) =>
  ({
    startToCloseTimeout: `${budgetSeconds + 120} seconds`,
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: NEVER_RETRY,
    },
  }) satisfies ActivityOptions;

export const reads = proxyActivities<Activities>(READS);
export const changes = proxyActivities<Activities>(CHANGES);
export const undo = proxyActivities<Activities>(COMPENSATIONS);
export const rollbackRound = proxyActivities<Activities>(ROLLBACK_ROUND);
export const guest = (budgetSeconds: number) => proxyActivities<Activities>(guestOptions(budgetSeconds));

/**
 * Release 0.3: retries bounded by time, not by count, so that throttling (which only says "later") cannot use up an
 * activity's attempts: a throttled call waits and the migration goes on. What retrying cannot fix is non-retryable by
 * the error table and ends at once as before; a cloud that keeps failing ends the step after the time given here.
 * Rollback rounds keep their few quick attempts: RollbackRounds already retries them without end.
 */
const PATIENT_READS = {
  scheduleToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: Number.POSITIVE_INFINITY },
} satisfies ActivityOptions;
const PATIENT_CHANGES = {
  scheduleToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: Number.POSITIVE_INFINITY },
} satisfies ActivityOptions;

/**
 * The patch of release 0.3, one per release (docs/operations.md): every activity that changes the cloud runs on the
 * rate-limited task queue of its API action (src/shared/cloud-changes.ts), and every activity carries its runbook step
 * as its summary. A migration or revert started by a 0.2 worker has no marker for it and schedules as 0.2 did.
 */
export const RATE_LIMITS_V3 = 'eni-migration-0.3';

/** Calls one activity: its name, what the Web UI's timeline shows for it (the runbook step), its arguments. */
export type Call = <K extends keyof Activities>(
  activity: K,
  summary: string,
  ...args: Parameters<Activities[K]>
) => ReturnType<Activities[K]>;

/** The activities as one release of the workflows schedules them. */
export interface Scheduler {
  reads: Call;
  changes: Call;
  undo: Call;
  rollbackRound: Call;
  guest: (budgetSeconds: number) => Call;
}

/**
 * How a workflow run schedules its activities. `rateLimited`, when the run has RATE_LIMITS_V3: an activity that changes
 * the cloud goes to the task queue of the API action it issues (whose workers the server paces at that action's rate),
 * and every activity carries its summary. Without it (a run started by release 0.2): the workflow's own queue, no
 * summary.
 */
export function scheduler(rateLimited: boolean): Scheduler {
  type Untyped = ActivityFunctionWithOptions<(...args: unknown[]) => Promise<unknown>>;
  const calls =
    (proxy: object, patience: ActivityOptions = {}): Call =>
    (activity, summary, ...args) => {
      const fn = (proxy as Record<string, Untyped>)[activity];
      if (!rateLimited) return fn(...args) as never;
      const action = changeActionOf(activity);
      // Never executed eagerly by the workflow's worker: eager dispatch applies only to the workflow's own queue.
      const queue = action ? { taskQueue: actionTaskQueue(workflowInfo().taskQueue, action) } : {};
      return fn.executeWithOptions({ summary, ...queue, ...patience }, args) as never;
    };
  return {
    reads: calls(reads, PATIENT_READS),
    changes: calls(changes, PATIENT_CHANGES),
    undo: calls(undo, PATIENT_CHANGES),
    rollbackRound: calls(rollbackRound),
    guest: (budgetSeconds) => calls(guest(budgetSeconds)),
  };
}
