import { AsyncLocalStorage } from 'node:async_hooks';
import { fromSdkError } from './errors';

/**
 * Every SDK request goes through `callApi`: it is counted (for the per-step call count in the migration report) and
 * its failure becomes a CloudApiError with the Alibaba code, so callers and the error table see one shape.
 */

/** The calls made on behalf of one unit of work (one activity execution). */
export interface CallMeter {
  calls: number;
  /** Actions in call order, for logs and tests. */
  actions: string[];
}

// Activities of many migrations share one EcsApi/VpcApi, so the meter lives in the caller's async context.
const currentMeter = new AsyncLocalStorage<CallMeter>();

/** Runs `fn`, counting every cloud API call it makes into `meter`. */
export function withCallMeter<T>(meter: CallMeter, fn: () => Promise<T>): Promise<T> {
  return currentMeter.run(meter, fn);
}

export async function callApi<T>(action: string, send: () => Promise<T>): Promise<T> {
  const meter = currentMeter.getStore();
  if (meter) {
    meter.calls += 1;
    meter.actions.push(action);
  }
  try {
    return await send();
  } catch (err) {
    throw fromSdkError(action, err);
  }
}
