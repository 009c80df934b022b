import { ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';

/**
 * The step that binds the EIP again (step 5; on the way back, the bind to the instance) may take at most what is left
 * of the offline budget: past it the step's activity is cancelled and the saga rolls back, giving the EIP its old home
 * again, rather than leave the instance without a public address for longer.
 */
export async function withinOfflineBudget<R>(
  remainingMs: number,
  budgetMs: number,
  fn: () => Promise<R>,
): Promise<R> {
  let expired = false;
  const step = new CancellationScope();
  const timer = new CancellationScope();
  void timer
    .run(() => sleep(Math.max(remainingMs, 1)))
    .then(
      () => {
        expired = true;
        step.cancel();
      },
      () => undefined,
    );
  try {
    return await step.run(fn);
  } catch (err) {
    if (expired && isCancellation(err)) {
      throw ApplicationFailure.nonRetryable(
        `the instance has been without a public address for the whole offline budget (${Math.round(budgetMs / 1000)} s): giving the EIP its old home back`,
        'OfflineBudgetExceeded',
      );
    }
    throw err;
  } finally {
    timer.cancel();
  }
}
