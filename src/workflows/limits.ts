import { ApplicationFailure } from '@temporalio/workflow';
import type { RevertInput } from '../shared/migration';
import type { MigrationTracker } from './progress';
import { MIN_ROLLBACK_RETRY_SECONDS } from './rollback-rounds';

const OFFLINE_BUDGET_SECONDS_DEFAULT = 300;
const ROLLBACK_RETRY_MAX_SECONDS_DEFAULT = 300;

/** The failure type of an input the workflow refuses before anything changes (the CLI's exit code 2). */
export const INVALID_INPUT = 'InvalidInput';

export interface SagaLimits {
  offlineBudgetMs: number;
  rollbackRetryMaxMs: number;
}

/**
 * The saga's limits from the input, checked before anything changes: a budget of 0 would roll back every migration
 * right after step 4, rounds without a pause would fill the history until Temporal terminates the workflow.
 */
export function sagaLimits(
  input: Pick<
    RevertInput,
    'offlineBudgetSeconds' | 'rollbackRetryMaxIntervalSeconds' | 'verifyTimeoutSeconds'
  >,
): SagaLimits {
  const seconds = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw ApplicationFailure.nonRetryable(
        `${name} must be a number of seconds of at least ${min}, not ${JSON.stringify(value)}: nothing was changed`,
        INVALID_INPUT,
      );
    }
    return v;
  };
  seconds('verifyTimeoutSeconds', input.verifyTimeoutSeconds, 120, 1);
  return {
    offlineBudgetMs:
      seconds('offlineBudgetSeconds', input.offlineBudgetSeconds, OFFLINE_BUDGET_SECONDS_DEFAULT, 1) * 1000,
    rollbackRetryMaxMs:
      seconds(
        'rollbackRetryMaxIntervalSeconds',
        input.rollbackRetryMaxIntervalSeconds,
        ROLLBACK_RETRY_MAX_SECONDS_DEFAULT,
        MIN_ROLLBACK_RETRY_SECONDS,
      ) * 1000,
  };
}

/** sagaLimits, or the workflow ends refused (listed as such in the Web UI) before anything changes. */
export function refuseBadLimits(
  input: Parameters<typeof sagaLimits>[0],
  track: MigrationTracker,
): SagaLimits {
  try {
    return sagaLimits(input);
  } catch (err) {
    track.endRefused();
    throw err;
  }
}
