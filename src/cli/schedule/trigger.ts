/** `eni-migrate schedule trigger <schedule-id>`: a run now (skipped while a batch of the VPC runs). */
import type { Command } from 'commander';
import { scheduleAction } from './actions';

export function scheduleTriggerCommand(setExitCode: (code: number) => void): Command {
  return scheduleAction(
    setExitCode,
    'trigger',
    'start a run of the schedule now, paused or not (skipped while a batch of this schedule runs); see it with `batch list`',
    { triggered: true },
    (schedules, id) => schedules.trigger(id),
    (id) => `triggered: ${id} (see the batch with: eni-migrate batch list)`,
  );
}
