/**
 * The product's Prometheus metrics: their names, and the few helpers that record them. They go through the Temporal
 * SDK's metric meters, so the Temporal runtime serves them at the worker's `/metrics` (ENI_MIGRATE_METRICS) next to
 * its own: workflows record through `metricMeter` of @temporalio/workflow (a sink call, no command, nothing in the
 * history, skipped during replay), activities and cloud calls through the activity context's meter. Without
 * ENI_MIGRATE_METRICS both meters are the SDK's no-op meter: nothing is recorded, nothing costs.
 *
 * Workflow code imports this file: it must stay free of Node APIs and of anything but types from the worker.
 *
 * Counters are named here without `_total`: the exporter appends it (countersTotalSuffix), to these and to Temporal's
 * own counters alike, so every counter scraped ends in `_total`. Durations are in seconds, named `_seconds`.
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { MetricsExporterConfig } from '@temporalio/worker';

/** Instrument names (counters without the `_total` the exporter adds). */
export const METRIC = {
  /** Counter. Migrations (and ways back) started; label workflowType. */
  migrationsStarted: 'eni_migrate_migrations_started',
  /** Counter. Migrations ended, by `outcome` (verified, migrated, rolled-back, …, refused, cancelled). */
  migrationsEnded: 'eni_migrate_migrations_ended',
  /** Histogram (s). Each forward step's duration, by `step` and `result` (done, failed). */
  stepDuration: 'eni_migrate_step_duration_seconds',
  /** Histogram (s). The time without a public address of a migration that had one, by `outcome`. */
  offlineWindow: 'eni_migrate_offline_window_seconds',
  /** Counter. Compensations run, by `step` and `result` (compensated, rolled-forward, failed). */
  compensations: 'eni_migrate_compensations',
  /** Counter. Rollback rounds that failed, by `step`: while it grows, a rollback is stuck (`rollback-stuck:<step>`). */
  rollbackStuckRounds: 'eni_migrate_rollback_stuck_rounds',
  /** Counter. Cloud API calls, by `action` and `code` (`OK`, or the Alibaba / transport error code). */
  cloudApiCalls: 'eni_migrate_cloud_api_calls',
  /** Histogram (s). Cloud API call durations, by `action`. */
  cloudApiDuration: 'eni_migrate_cloud_api_call_duration_seconds',
  /** Counter. Cloud API calls the cloud throttled, by `action`. */
  cloudApiThrottled: 'eni_migrate_cloud_api_throttled',
  /** Counter. Batches started (a batch continuing as new is not started again). */
  batchesStarted: 'eni_migrate_batches_started',
  /** Counter. Batches ended, by `outcome` (completed, completed-with-errors, window-closed, cancelled, …). */
  batchesEnded: 'eni_migrate_batches_ended',
  /** Counter. Batches entering a state, by `state` (discovering, planning, awaiting-approval, running, paused, draining). */
  batchStates: 'eni_migrate_batch_states',
  /** Counter. Batches leaving a state, by `state`: entered minus left is the number of batches in each state now. */
  batchStatesLeft: 'eni_migrate_batch_states_left',
  /** Counter. Batches paused, by `reason` (operator, max-errors: the breaker, canary-failed). */
  batchPauses: 'eni_migrate_batch_pauses',
} as const;

/** Bucket bounds, in seconds. */
const STEP_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const OFFLINE_BUCKETS = [0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300, 600];
const API_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The runtime's metrics exporter for ENI_MIGRATE_METRICS: Prometheus at `bindAddress` (`ip:port`), in Prometheus'
 * conventions for Temporal's metrics too (`_seconds`, `_total`), and the product's histograms' buckets.
 */
export function prometheusExporter(bindAddress: string): MetricsExporterConfig {
  return {
    prometheus: {
      bindAddress,
      countersTotalSuffix: true,
      unitSuffix: true,
      useSecondsForDurations: true,
      histogramBucketOverrides: {
        [METRIC.stepDuration]: STEP_BUCKETS,
        [METRIC.offlineWindow]: OFFLINE_BUCKETS,
        [METRIC.cloudApiDuration]: API_BUCKETS,
      },
    },
  };
}

/** Milliseconds as the seconds a histogram records (never negative: the meters refuse that). */
const seconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * A migration's metrics (migrateInstance and revertInstance; the meter adds workflowType), recorded by
 * MigrationTracker. The meter is the workflow's, so nothing is recorded again when a worker replays the history.
 */
export class MigrationMetrics {
  constructor(private readonly meter: MetricMeter) {}

  started(): void {
    this.meter.createCounter(METRIC.migrationsStarted, undefined, 'Migrations started').add(1);
  }

  ended(outcome: string): void {
    this.meter
      .createCounter(METRIC.migrationsEnded, undefined, 'Migrations ended, by outcome')
      .add(1, { outcome });
  }

  step(step: string, result: 'done' | 'failed', durationMs: number): void {
    this.histogram(METRIC.stepDuration, 'Duration of each migration step').record(seconds(durationMs), {
      step,
      result,
    });
  }

  offlineWindow(outcome: string, offlineMs: number): void {
    this.histogram(METRIC.offlineWindow, 'Time without a public address, per migration').record(
      seconds(offlineMs),
      { outcome },
    );
  }

  compensation(step: string, result: 'compensated' | 'rolled-forward' | 'failed'): void {
    this.meter
      .createCounter(METRIC.compensations, undefined, 'Compensations run, by step and result')
      .add(1, { step, result });
  }

  rollbackRoundFailed(step: string): void {
    this.meter
      .createCounter(METRIC.rollbackStuckRounds, undefined, 'Rollback rounds that failed (a stuck rollback)')
      .add(1, { step });
  }

  private histogram(name: string, description: string) {
    return this.meter.createHistogram(name, 'float', undefined, description);
  }
}

/** A batch's metrics (migrateFleet), recorded by FleetTracker with the workflow's meter. */
export class BatchMetrics {
  constructor(private readonly meter: MetricMeter) {}

  started(): void {
    this.meter.createCounter(METRIC.batchesStarted, undefined, 'Batches started').add(1);
  }

  ended(outcome: string): void {
    this.meter.createCounter(METRIC.batchesEnded, undefined, 'Batches ended, by outcome').add(1, { outcome });
  }

  entered(state: string): void {
    this.meter.createCounter(METRIC.batchStates, undefined, 'Batches entering a state').add(1, { state });
  }

  left(state: string): void {
    this.meter.createCounter(METRIC.batchStatesLeft, undefined, 'Batches leaving a state').add(1, { state });
  }

  paused(reason: string): void {
    this.meter.createCounter(METRIC.batchPauses, undefined, 'Batches paused, by reason').add(1, { reason });
  }
}

/** What one cloud API call recorded: its action, `OK` or its error code, its duration, whether it was throttled. */
export interface CloudCall {
  action: string;
  code: string;
  durationMs: number;
  throttled: boolean;
}

/** The code label of a call that succeeded. */
export const CALL_OK = 'OK';

type CloudInstruments = ReturnType<typeof cloudInstruments>;

function cloudInstruments(meter: MetricMeter) {
  return {
    calls: meter.createCounter(METRIC.cloudApiCalls, undefined, 'Cloud API calls, by action and code'),
    duration: meter.createHistogram(
      METRIC.cloudApiDuration,
      'float',
      undefined,
      'Cloud API call durations, by action',
    ),
    throttled: meter.createCounter(
      METRIC.cloudApiThrottled,
      undefined,
      'Cloud API calls throttled, by action',
    ),
  };
}

// Creating an instrument crosses into the runtime: once per meter (an activity's) is enough.
const instrumentsOf = new WeakMap<MetricMeter, CloudInstruments>();

/** Records one cloud API call (callApi does, with the activity's meter). */
export function recordCloudCall(meter: MetricMeter, call: CloudCall): void {
  let m = instrumentsOf.get(meter);
  if (!m) instrumentsOf.set(meter, (m = cloudInstruments(meter)));
  const action: MetricTags = { action: call.action };
  m.calls.add(1, { ...action, code: call.code });
  m.duration.record(seconds(call.durationMs), action);
  if (call.throttled) m.throttled.add(1, action);
}
