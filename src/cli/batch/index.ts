/** `eni-migrate batch …`: a VPC's instances as one batch (the migrateFleet workflow); one file per subcommand. */
import { Command } from 'commander';
import { batchApproveCommand } from './approve';
import { batchCancelCommand } from './cancel';
import { batchConcurrencyCommand } from './concurrency';
import { batchListCommand } from './list';
import { batchPauseCommand } from './pause';
import { batchResumeCommand } from './resume';
import { batchStartCommand } from './start';
import { batchStatusCommand } from './status';

export function batchCommand(setExitCode: (code: number) => void): Command {
  const batch = new Command('batch').description(
    "migrate a VPC's instances as one batch (canary, sliding window, failure breaker, maintenance window): start, follow, pause, resume, cancel",
  );
  for (const make of [
    batchStartCommand,
    batchStatusCommand,
    batchPauseCommand,
    batchResumeCommand,
    batchConcurrencyCommand,
    batchApproveCommand,
    batchCancelCommand,
    batchListCommand,
  ]) {
    batch.addCommand(make(setExitCode));
  }
  return batch;
}
