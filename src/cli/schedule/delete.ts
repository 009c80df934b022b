/** `eni-migrate schedule delete <schedule-id>`: no more runs; a batch it started goes on. */
import type { Command } from 'commander';
import { scheduleAction } from './actions';

export function scheduleDeleteCommand(setExitCode: (code: number) => void): Command {
  return scheduleAction(
    setExitCode,
    'delete',
    'delete a schedule: no more runs (a batch it started goes on: `batch cancel` stops it)',
    { deleted: true },
    (schedules, id) => schedules.delete(id),
    (id) => `deleted: ${id}`,
  );
}
