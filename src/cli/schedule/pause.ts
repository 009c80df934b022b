/** `eni-migrate schedule pause <schedule-id>`: no run starts until unpaused (a batch running now goes on). */
import type { Command } from 'commander';
import { scheduleAction } from './actions';

export function schedulePauseCommand(setExitCode: (code: number) => void): Command {
  return scheduleAction(
    setExitCode,
    'pause',
    'pause a schedule: no run starts until `schedule unpause` (a batch running now goes on; pause it with `batch pause`)',
    { paused: true },
    (schedules, id) => schedules.pause(id, 'paused with eni-migrate schedule pause'),
    (id) => `paused: ${id}`,
  );
}
