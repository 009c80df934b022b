/** `eni-migrate batch approve <batch-id>`: a batch started with --require-approval may begin its migrations. */
import type { Command } from 'commander';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { batchTargetCommand, onBatch } from './common';

export function batchApproveCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'approve',
    'approve the plan of a batch started with --require-approval (see it with `batch status`): its migrations start',
  )
    .option('--json', 'print one JSON document: {batchId, approved}')
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(
      onBatch(setExitCode, async (batches, batchId, out) => {
        await batches.approve(batchId);
        out.result(`approved: ${batchId}`, { batchId, approved: true });
        return ExitCode.OK;
      }),
    );
}
