/** `eni-migrate batch resume <batch-id>`: migrations start again after a pause (operator, breaker or canary). */
import type { Command } from 'commander';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { batchTargetCommand, onBatch } from './common';

export function batchResumeCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'resume',
    'resume a paused batch; after the failure breaker it allows another --max-errors errors, after a failed canary the rest start',
  )
    .option('--json', 'print one JSON document: {batchId, resumed}')
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(
      onBatch(setExitCode, async (batches, batchId, out) => {
        await batches.resume(batchId);
        out.result(`resumed: ${batchId}`, { batchId, resumed: true });
        return ExitCode.OK;
      }),
    );
}
