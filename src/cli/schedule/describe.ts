/** `eni-migrate schedule describe <schedule-id>`: its spec, state, next runs, recent batches, and each run's input. */
import type { Command } from 'commander';
import { BatchScheduleClient, type BatchScheduleInfo } from '../../client/schedules';
import { BATCH_COMMAND_EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { runBatchCommand } from '../batch/common';
import { withClient } from '../connect';
import { resolveScheduleId, scheduleTargetCommand, type ScheduleTargetFlags } from './common';

export function scheduleDescribeCommand(setExitCode: (code: number) => void): Command {
  return scheduleTargetCommand(
    'describe',
    'show a schedule: when it runs, whether it is paused, its recent batches',
  )
    .option(
      '--json',
      'print one JSON document: {scheduleId, vpcId, regionId, paused, note?, cron, intervalSeconds, timeZone?, nextRuns, recentBatches, input}',
    )
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(async (target: string, flags: ScheduleTargetFlags) =>
      setExitCode(
        await runBatchCommand(Boolean(flags.json), (out, config) => {
          const scheduleId = resolveScheduleId(target, flags.region, config);
          return withClient(config, async (client) => {
            const info = await new BatchScheduleClient(client).describe(scheduleId);
            out.result(formatSchedule(info), info);
            return ExitCode.OK;
          });
        }),
      ),
    );
}

export function formatSchedule(s: BatchScheduleInfo): string {
  const when = [...s.cron.map((c) => `cron "${c}"`), ...s.intervalSeconds.map((n) => `every ${n} s`)].join(
    ', ',
  );
  const lines = [
    `${s.scheduleId}: ${s.paused ? 'paused' : 'active'}${s.vpcId ? `, VPC ${s.vpcId} (${s.regionId ?? '?'})` : ''}`,
    `  when: ${when || '?'}${s.timeZone ? ` (${s.timeZone})` : ''}`,
  ];
  if (s.note) lines.push(`  note: ${s.note}`);
  if (s.input) {
    const i = s.input;
    lines.push(
      `  each run: concurrency ${i.concurrency ?? 5}, canary ${i.canary ?? 1}, max errors ${i.maxErrors ?? '0'}` +
        (i.windowSeconds ? `, window ${i.windowSeconds} s` : ''),
    );
  }
  if (s.nextRuns.length) lines.push(`  next runs: ${s.nextRuns.slice(0, 3).join(', ')}`);
  if (s.recentBatches.length) lines.push(`  recent batches: ${s.recentBatches.join(', ')}`);
  return lines.join('\n');
}
