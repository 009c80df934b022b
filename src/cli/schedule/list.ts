/** `eni-migrate schedule list`: the schedules of batches. */
import { Command } from 'commander';
import { BatchScheduleClient, type BatchScheduleInfo } from '../../client/schedules';
import { ExitCode } from '../exit-codes';
import { runWithClient } from '../batch/common';

export function scheduleListCommand(setExitCode: (code: number) => void): Command {
  return new Command('list')
    .description('list the schedules of batches')
    .option(
      '--json',
      'print one JSON document: {schedules: [{scheduleId, vpcId, regionId, paused, note?, cron, intervalSeconds, timeZone?, nextRuns, recentBatches}]}',
    )
    .action(async (flags: { json?: boolean }) =>
      setExitCode(
        await runWithClient(Boolean(flags.json), async (client, out) => {
          const schedules = await new BatchScheduleClient(client).list();
          out.result(formatTable(schedules), { schedules });
          return ExitCode.OK;
        }),
      ),
    );
}

function formatTable(rows: BatchScheduleInfo[]): string {
  if (rows.length === 0) return 'no schedules found';
  const header = ['SCHEDULE ID', 'STATE', 'VPC', 'REGION', 'WHEN', 'NEXT RUN'];
  const cells = rows.map((r) => [
    r.scheduleId,
    r.paused ? 'paused' : 'active',
    r.vpcId ?? '',
    r.regionId ?? '',
    [...r.cron, ...r.intervalSeconds.map((n) => `every ${n} s`)].join(', '),
    r.nextRuns[0] ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, ...cells]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
