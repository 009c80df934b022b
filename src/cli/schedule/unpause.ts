/** `eni-migrate schedule unpause <schedule-id>`: runs start again at their times. */
import type { Command } from 'commander';
import { scheduleAction } from './actions';

export function scheduleUnpauseCommand(setExitCode: (code: number) => void): Command {
  return scheduleAction(
    setExitCode,
    'unpause',
    'unpause a schedule: runs start again at their times',
    { paused: false },
    (schedules, id) => schedules.unpause(id, 'unpaused with eni-migrate schedule unpause'),
    (id) => `unpaused: ${id}`,
  );
}
