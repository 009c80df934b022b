/**
 * The messages of the product's own log lines: stable words an operator's log queries match on, the details in the
 * line's fields (docs/operations.md "Logs"). Workflow code imports this file: no imports here.
 */
export const LOG_EVENT = {
  /** Info, from the workflow: a migration (or a way back) began; fields instanceId. */
  migrationStarted: 'migration started',
  /** Info, from the workflow: it ended; fields instanceId, outcome. */
  migrationEnded: 'migration ended',
  /** Info, from the workflow: a step began; fields instanceId, step. */
  stepStarted: 'step started',
  /** Info, from the workflow: a step ended; fields instanceId, step, result (done, failed), durationMs, apiCalls. */
  stepEnded: 'step ended',
  /** Info, from the workflow: a compensation began; fields instanceId, step. */
  compensationStarted: 'compensation started',
  /** Info (warn when failed), from the workflow; fields instanceId, step, result. */
  compensationEnded: 'compensation ended',
  /** Warn, from the workflow: a rollback round failed; fields instanceId, step, action, rounds. */
  rollbackStuck: 'rollback stuck',
  /** Info, from the batch workflow: it entered a state; fields batchId, state, reason (paused). */
  batchState: 'batch state',
  /** Info, from the batch workflow: it ended; fields batchId, outcome. */
  batchEnded: 'batch ended',
  /** Debug, from an activity: one cloud API call; fields action, code, durationMs (+ the activity's). */
  cloudCall: 'cloud call',
  /** Info, from an activity: the cloud throttled a call, which waits and goes again; fields action, code, waitMs. */
  cloudCallThrottled: 'cloud call throttled',
} as const;
