import type { Context } from '@temporalio/activity';
import { isThrottling, type CloudApiError } from './errors';

/**
 * Throttling never fails a migration. Alibaba Cloud counts calls per API, account and region in one-minute windows:
 * a call throttled in minute T can be made again in minute T+1, and the answer's `x-acs-retry-after` (the SDK's
 * `retryAfter`) says when. So a throttled call waits, inside its activity attempt, as long as the cloud asks (else
 * until the next minute starts), and is sent again: no attempt of the retry policy is spent on it, however long the
 * throttling lasts. The attempt heartbeats meanwhile (execute()'s keep-alive) and a cancellation ends the wait.
 *
 * The wait must fit in the attempt: reads have a short start-to-close timeout. They heartbeat and have a heartbeat
 * timeout (a lost worker is noticed by that), so their start-to-close is long enough for a full window's wait and the
 * call after it (src/workflows/activity-options.ts). Only a wait that would outlast what is left of the attempt (or of
 * the activity's schedule-to-close time) is not waited here: the call then fails as before, and the retry policy waits
 * at least the cloud's retry-after (execute()'s nextRetryDelay). What is left is measured from when the attempt started
 * running on this worker (execute() records it), not from when it was scheduled: on a paced action queue an attempt
 * may wait there long before it starts, and its start-to-close timeout runs from its start.
 *
 * A limiter that refills continuously (a token bucket) asks for a few milliseconds: the wait is never shorter than
 * MIN_RESEND_MS (jittered), so that a throttled caller does not resend in a tight loop.
 */

/** Alibaba's throttling window. */
export const THROTTLING_WINDOW_MS = 60_000;

/** Kept in the attempt for the call sent after the wait: the SDK's connect (5 s) and read (10 s) timeouts. */
export const CALL_RESERVE_MS = 15_000;

/** Callers released by the same window should not all arrive in its first milliseconds: up to this much later. */
const JITTER = 0.1;

/** The shortest wait before a throttled call is sent again, whatever the cloud asked: from this to 1.5× this. */
export const MIN_RESEND_MS = 250;

/**
 * How long a throttled call waits before it is sent again: what the cloud asked, else until the next window; never
 * less than MIN_RESEND_MS (jittered).
 */
export function throttleWaitMs(err: CloudApiError, now = Date.now(), random = Math.random): number {
  const asked = err.retryAfterMs ?? THROTTLING_WINDOW_MS - (now % THROTTLING_WINDOW_MS);
  const r = random();
  return Math.ceil(Math.max(asked + asked * JITTER * r, MIN_RESEND_MS * (1 + r / 2)));
}

// When each running activity attempt started on this worker, by its context (one per attempt).
const attemptStarts = new WeakMap<Context, number>();

/** Records that the attempt of `activity` starts running now (execute() calls it first); the first record stays. */
export function recordAttemptStart(activity: Context, now = Date.now()): void {
  if (!attemptStarts.has(activity)) attemptStarts.set(activity, now);
}

/**
 * Milliseconds left in the running attempt: its start-to-close and the activity's schedule-to-close, whichever ends
 * first. The start-to-close runs from `startedMs`, when the attempt started; when that is not known, from when it was
 * scheduled (earlier: the time left is then underestimated, never overestimated).
 */
export function attemptTimeLeftMs(
  info: Context['info'],
  now = Date.now(),
  startedMs = info.currentAttemptScheduledTimestampMs,
): number {
  const ends = [
    info.startToCloseTimeoutMs > 0 ? startedMs + info.startToCloseTimeoutMs : Infinity,
    info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : Infinity,
  ];
  return Math.min(...ends) - now;
}

/**
 * The wait before a throttled call is sent again within this attempt, or undefined: not throttling, not in an
 * activity, or a wait that does not fit in what is left of the attempt.
 */
export function waitBeforeResend(err: CloudApiError, activity: Context | undefined): number | undefined {
  if (!activity || !isThrottling(err)) return undefined;
  const waitMs = throttleWaitMs(err);
  const left = attemptTimeLeftMs(activity.info, Date.now(), attemptStarts.get(activity));
  return waitMs + CALL_RESERVE_MS <= left ? waitMs : undefined;
}
