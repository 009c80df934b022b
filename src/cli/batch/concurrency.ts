/** `eni-migrate batch concurrency <batch-id> <n>`: how many migrations may be in flight, from now on. */
import { Argument, type Command } from 'commander';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { positiveInt } from '../validate';
import { batchTargetCommand, onBatch, type BatchTargetFlags } from './common';
import { CONCURRENCY_MAX } from './options';

export function batchConcurrencyCommand(setExitCode: (code: number) => void): Command {
  return batchTargetCommand(
    'concurrency',
    'change how many migrations of a running batch may be in flight at once (those in flight go on; a lower value lets fewer start)',
  )
    .addArgument(
      new Argument('<n>', `migrations in flight at once (1–${CONCURRENCY_MAX})`).argParser(
        positiveInt('a count', CONCURRENCY_MAX),
      ),
    )
    .option('--json', 'print one JSON document: {batchId, concurrency}')
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(async (target: string, n: number, flags: BatchTargetFlags) =>
      onBatch<BatchTargetFlags>(setExitCode, async (batches, batchId, out) => {
        await batches.setConcurrency(batchId, n);
        out.result(`concurrency of ${batchId}: ${n}`, { batchId, concurrency: n });
        return ExitCode.OK;
      })(target, flags),
    );
}
