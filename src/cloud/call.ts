import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import { LOG_EVENT } from '../observability/log-events';
import { logsAt } from '../observability/logging';
import { CALL_OK, recordCloudCall } from '../observability/metrics';
import { withSpan } from '../observability/tracing';
import { CloudApiError, fromSdkError, isThrottling } from './errors';
import { waitBeforeResend } from './throttle-wait';

/**
 * Every SDK request goes through `callApi`: it is counted (for the per-step call count in the migration report), it is
 * recorded in the worker's metrics (by action and code, its duration, throttled or not) and logged at debug (action,
 * code, duration: never the request's parameters, which may hold what must not be logged), and its failure becomes a
 * CloudApiError with the Alibaba code, so callers and the error table see one shape. A throttled call waits and is
 * sent again within its activity attempt (throttle-wait.ts): throttling never spends an attempt.
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
  const activity = activityContext();
  for (let waits = 0; ; waits++) {
    try {
      return await sendOnce(action, send, activity);
    } catch (err) {
      // A throttled call waits as the cloud asks and goes again, in this attempt (throttle-wait.ts).
      const waitMs = err instanceof CloudApiError ? waitBeforeResend(err, activity) : undefined;
      if (waitMs === undefined || !activity) throw err;
      try {
        // One line per throttled call at info, its first wait; the waits after it at debug (a limiter that asks for
        // short waits would otherwise fill the log).
        const line = {
          action,
          code: (err as CloudApiError).code,
          waitMs,
          ...(waits ? { waits: waits + 1 } : {}),
        };
        if (waits === 0) activity.log.info(LOG_EVENT.cloudCallThrottled, line);
        else if (logsAt('DEBUG')) activity.log.debug(LOG_EVENT.cloudCallThrottled, line);
      } catch {
        // A broken logger loses a line, not the call.
      }
      // Rejects when the activity is cancelled (cancellation comes with the answers to execute()'s heartbeats).
      await activity.sleep(waitMs);
    }
  }
}

/** One request: counted, recorded, traced; its failure a CloudApiError. */
async function sendOnce<T>(
  action: string,
  send: () => Promise<T>,
  activity: Context | undefined,
): Promise<T> {
  const meter = currentMeter.getStore();
  if (meter) {
    meter.calls += 1;
    meter.actions.push(action);
  }
  const start = performance.now();
  // Metrics and logs must never change what the call did: recording happens outside its try, and cannot throw.
  const record = (code: string, throttled = false) => {
    if (!activity) return;
    try {
      recordOnce(code, throttled);
    } catch {
      // A closed runtime or a broken logger loses a metric or a line, not the call's result.
    }
  };
  const recordOnce = (code: string, throttled: boolean) => {
    if (!activity) return;
    const durationMs = performance.now() - start;
    recordCloudCall(activity.metricMeter, { action, code, throttled, durationMs });
    // The activity's logger adds workflowId, activityType, attempt (the SDK) and instanceId, step (activityLogContext).
    // At info (the default) the line would be dropped: not built at all, one per call.
    if (!logsAt('DEBUG')) return;
    activity.log.debug(LOG_EVENT.cloudCall, {
      action,
      code,
      durationMs: Math.round(durationMs * 10) / 10,
      ...(throttled ? { throttled } : {}),
    });
  };
  // Under tracing, the call is a span of its own, a child of its activity's (its action and code, no parameters).
  return withSpan(
    action,
    { 'rpc.system': 'alibaba_cloud_openapi', 'rpc.method': action },
    async () => {
      let result: T;
      try {
        result = await send();
      } catch (err) {
        const failure = fromSdkError(action, err);
        record(failure.code, isThrottling(failure));
        throw failure;
      }
      record(CALL_OK);
      return result;
    },
    (err) => (err instanceof CloudApiError ? err.code : undefined),
  );
}

/**
 * The running activity's context, for its metric meter (the SDK's no-op one when the worker serves no metrics) and its
 * logger; none outside an activity.
 */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
