/** `eni-migrate batch pause <batch-id>`: nothing new starts; the migrations in flight finish. */
import type { Command } from 'commander';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { batchTargetCommand, onBatch } from './common';

export function batchPauseCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'pause',
    'pause a batch: no new migration starts, those in flight finish (resume or cancel it later)',
  )
    .option('--json', 'print one JSON document: {batchId, paused}')
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(
      onBatch(setExitCode, async (batches, batchId, out) => {
        await batches.pause(batchId);
        out.result(`paused: ${batchId} (go on with: eni-migrate batch resume ${batchId})`, {
          batchId,
          paused: true,
        });
        return ExitCode.OK;
      }),
    );
}
