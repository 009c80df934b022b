/** `eni-migrate batch status <batch-id>`: where a batch is (every instance's state and step), or its report. */
import { BatchClosedError, type BatchClient } from '../../client/batches';
import type { Command } from 'commander';
import type { MigrationClient } from '../../client';
import type { FleetProgress, FleetReport } from '../../shared/fleet';
import { MIGRATION_OUTCOME, MIGRATION_STEP, REGION_ID, VPC_ID } from '../../shared/search-attributes';
import { BATCH_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { batchTargetCommand, onBatch, type BatchTargetFlags } from './common';
import { followBatches, formatBatch } from './follow';
import { BatchProgressView, stderrOutput } from './progress-view';

export interface BatchStatus {
  batchId: string;
  runId: string;
  /** Temporal's: RUNNING, COMPLETED, CANCELED, FAILED, TERMINATED… */
  status: string;
  startTime: string;
  closeTime?: string;
  regionId?: string;
  vpcId?: string;
  /** MigrationStep of the batch: its state (`running`, `paused:max-errors`…, `done`). */
  state?: string;
  /** MigrationOutcome of the batch: `running`, then its BatchOutcome. */
  outcome?: string;
  /** While it runs: the live progress, with each in-flight instance's step. */
  progress?: FleetProgress;
  /** Once ended: the report. */
  report?: FleetReport;
  /** Why there is neither (no worker answers, or it ended without a report). */
  failure?: string;
}

export function batchStatusCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'status',
    "show a batch's progress (counts per outcome, each instance's state and step), or its report once ended",
  )
    .option(
      '--wait',
      'follow it to its report, as `batch start --wait` does (the exit code is then the batch’s)',
    )
    .option(
      '--json',
      'print one JSON document: {batchId, runId, status, startTime, closeTime?, regionId, vpcId, state, outcome, progress? | report? | failure?}',
    )
    .addHelpText(
      'after',
      `${BATCH_EXIT_CODES_HELP}\nWithout --wait: 0 once the status is shown (the batch's own outcome is in the output), 2 for an unknown id.`,
    )
    .action(
      onBatch(
        setExitCode,
        async (batches, batchId, out, flags: BatchTargetFlags & { wait?: boolean }, client) => {
          if (flags.wait) {
            const [entry] = await followBatches(
              client,
              [{ batchId, exitCode: ExitCode.OK }],
              new BatchProgressView(stderrOutput()),
            );
            out.result(entry.error ? `${batchId}: ${entry.error}` : formatBatch(entry), entry);
            return entry.exitCode;
          }
          const status = await batchStatus(client, batches, batchId);
          out.result(formatStatus(status), status);
          return ExitCode.OK;
        },
      ),
    );
}

export async function batchStatus(
  client: MigrationClient,
  batches: BatchClient,
  batchId: string,
): Promise<BatchStatus> {
  const description = await client.client.workflow.getHandle(batchId).describe();
  const attrs = description.typedSearchAttributes;
  const status: BatchStatus = {
    batchId,
    runId: description.runId,
    status: description.status.name,
    startTime: description.startTime.toISOString(),
    ...(description.closeTime ? { closeTime: description.closeTime.toISOString() } : {}),
    regionId: attrs.get(REGION_ID),
    vpcId: attrs.get(VPC_ID),
    state: attrs.get(MIGRATION_STEP),
    outcome: attrs.get(MIGRATION_OUTCOME),
  };
  if (description.status.name === 'RUNNING') {
    try {
      status.progress = await batches.progress(batchId);
    } catch (err) {
      status.failure = `progress unavailable (is a worker polling task queue ${description.taskQueue}?): ${(err as Error).message}`;
    }
    return status;
  }
  try {
    status.report = await batches.result(batchId);
  } catch (err) {
    if (!(err instanceof BatchClosedError)) throw err;
    status.failure = err.message;
  }
  return status;
}

function formatStatus(s: BatchStatus): string {
  const head = `${s.batchId}: ${s.status}${s.vpcId ? ` (${s.vpcId}, ${s.regionId ?? '?'})` : ''}, started ${s.startTime}${s.closeTime ? `, closed ${s.closeTime}` : ''}`;
  const body =
    s.progress || s.report
      ? formatBatch({ batchId: s.batchId, progress: s.progress, report: s.report, exitCode: ExitCode.OK })
      : '';
  return [head, body, s.failure ? `  ${s.failure}` : ''].filter(Boolean).join('\n');
}
