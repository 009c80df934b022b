import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

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

/** Read-only checks: short, retried on throttling and server errors. */
const READS = {
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
  },
} satisfies ActivityOptions;

/**
 * One cloud change plus its wait. Activities heartbeat every 2 s, so a lost worker is noticed within the heartbeat
 * timeout and the retry resumes from the last checkpoint. Cancellation waits for the activity to stop, so no call
 * is in flight while compensations run.
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
