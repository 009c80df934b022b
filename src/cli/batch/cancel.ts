/**
 * `eni-migrate batch cancel <batch-id>`: no new migration starts; those in flight are cancelled and roll back; the
 * finished ones stay migrated.
 */
import type { Command } from 'commander';
import { BATCH_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { batchTargetCommand, onBatch, type BatchTargetFlags } from './common';
import { followBatches, formatBatch } from './follow';
import { BatchProgressView, stderrOutput } from './progress-view';

export function batchCancelCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'cancel',
    'cancel a batch: no new migration starts, those in flight roll back, finished ones stay migrated',
  )
    .option('--wait', 'wait for the in-flight migrations to roll back, and print the report')
    .option('--json', 'print one JSON document: {batchId, cancelRequested[, report]}')
    .addHelpText('after', `${BATCH_EXIT_CODES_HELP}\nWithout --wait: 0 once the cancellation is requested.`)
    .action(
      onBatch(
        setExitCode,
        async (batches, batchId, out, flags: BatchTargetFlags & { wait?: boolean }, client) => {
          await batches.cancel(batchId);
          if (!flags.wait) {
            out.result(
              `cancellation requested: ${batchId} (follow it with: eni-migrate batch status ${batchId} --wait)`,
              {
                batchId,
                cancelRequested: true,
              },
            );
            return ExitCode.OK;
          }
          out.info(`cancellation requested: ${batchId}; waiting for the migrations in flight to roll back`);
          const [entry] = await followBatches(
            client,
            [{ batchId, exitCode: ExitCode.OK }],
            new BatchProgressView(stderrOutput()),
          );
          out.result(entry.error ? `${batchId}: ${entry.error}` : formatBatch(entry), {
            batchId,
            cancelRequested: true,
            ...(entry.report ? { report: entry.report } : {}),
            ...(entry.error ? { error: entry.error } : {}),
          });
          return entry.exitCode;
        },
      ),
    );
}
