/** The schedule commands that act and return: their shared shape. */
import type { Command } from 'commander';
import { BatchScheduleClient } from '../../client/schedules';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { runBatchCommand } from '../batch/common';
import { withClient } from '../connect';
import { resolveScheduleId, scheduleTargetCommand, type ScheduleTargetFlags } from './common';

/** `schedule <name> <schedule-id>`: runs `act`, prints `done` and `{scheduleId, ...document}`. */
export function scheduleAction(
  setExitCode: (code: number) => void,
  name: string,
  description: string,
  document: Record<string, unknown>,
  act: (schedules: BatchScheduleClient, scheduleId: string) => Promise<void>,
  done: (scheduleId: string) => string,
): Command {
  return scheduleTargetCommand(name, description)
    .option('--json', `print one JSON document: {scheduleId, ${Object.keys(document).join(', ')}}`)
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(async (target: string, flags: ScheduleTargetFlags) =>
      setExitCode(
        await runBatchCommand(Boolean(flags.json), (out, config) => {
          const scheduleId = resolveScheduleId(target, flags.region, config);
          return withClient(config, async (client) => {
            await act(new BatchScheduleClient(client), scheduleId);
            out.result(done(scheduleId), { scheduleId, ...document });
            return ExitCode.OK;
          });
        }),
      ),
    );
}
