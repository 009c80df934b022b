/** `eni-migrate schedule …`: batches of a VPC on Temporal Schedules; one file per subcommand. */
import { Command } from 'commander';
import { scheduleCreateCommand } from './create';
import { scheduleDeleteCommand } from './delete';
import { scheduleDescribeCommand } from './describe';
import { scheduleListCommand } from './list';
import { schedulePauseCommand } from './pause';
import { scheduleTriggerCommand } from './trigger';
import { scheduleUnpauseCommand } from './unpause';

export function scheduleCommand(setExitCode: (code: number) => void): Command {
  const schedule = new Command('schedule').description(
    "run a VPC's batch on a cron or an interval (Temporal Schedules, also in the Web UI's Schedules page): create, list, describe, pause, unpause, trigger, delete",
  );
  for (const make of [
    scheduleCreateCommand,
    scheduleListCommand,
    scheduleDescribeCommand,
    schedulePauseCommand,
    scheduleUnpauseCommand,
    scheduleTriggerCommand,
    scheduleDeleteCommand,
  ]) {
    schedule.addCommand(make(setExitCode));
  }
  return schedule;
}
