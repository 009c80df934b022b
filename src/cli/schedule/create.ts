/** `eni-migrate schedule create`: a Temporal Schedule that starts a batch of one VPC on a cron or an interval. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { BatchScheduleClient, type BatchScheduleInfo } from '../../client/schedules';
import type { FleetInput } from '../../shared/fleet';
import { BATCH_COMMAND_EXIT_CODES_HELP, CliError, ExitCode } from '../exit-codes';
import { runBatchCommand } from '../batch/common';
import { withClient } from '../connect';
import {
  addMigrationOptions,
  addPaceOptions,
  addSelectionOptions,
  addVpcOptions,
  migrationOf,
  parseDuration,
  resolveVpcs,
  selectionOf,
  type MigrationFlags,
  type PaceFlags,
  type SelectionFlags,
  type VpcTarget,
} from '../batch/options';
import { formatSchedule } from './describe';

interface CreateFlags extends SelectionFlags, PaceFlags, MigrationFlags {
  vpc: VpcTarget[];
  region?: string;
  cron?: string[];
  interval?: number;
  window?: number;
  timeZone?: string;
  paused?: boolean;
  note?: string;
  json?: boolean;
}

/** An IANA time zone, as Temporal's calendar specs take it. */
function parseTimeZone(value: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
  } catch {
    throw new InvalidArgumentError('expected an IANA time zone such as Asia/Shanghai or UTC.');
  }
  return value;
}

function collectCron(value: string, previous: string[] = []): string[] {
  if (!value.trim())
    throw new InvalidArgumentError(
      'expected a cron expression such as "0 2 * * *" (02:00 every day) or @daily.',
    );
  return [...previous, value.trim()];
}

export function scheduleCreateCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('create').description(
    "create a Temporal Schedule that starts a batch of the VPC's instances on a cron or an interval; a run is " +
      'skipped while a batch of the VPC runs; with --window, each run defers what is left to the next',
  );
  addVpcOptions(command, false);
  command
    .addOption(
      new Option(
        '--cron <expr>',
        'when: a cron expression, "minute hour day-of-month month day-of-week" (e.g. "0 2 * * 1-5") or @daily, @hourly…; repeatable',
      )
        .argParser(collectCron)
        .conflicts('interval'),
    )
    .addOption(
      new Option('--interval <duration>', 'when: every this long, such as 90m, 6h or 1d').argParser(
        parseDuration(60_000),
      ),
    )
    .addOption(
      new Option(
        '--window <duration>',
        'maintenance window of each run, such as 2h: no migration starts after it, the rest are deferred to the next run',
      ).argParser(parseDuration(60_000)),
    )
    .option('--time-zone <tz>', 'IANA time zone of the cron expressions (default UTC)', parseTimeZone)
    .option('--paused', 'create it paused (start it with `schedule unpause`)')
    .option('--note <text>', 'a note shown with the schedule (in the Web UI too)');
  addPaceOptions(command);
  addSelectionOptions(command);
  addMigrationOptions(command);
  return command
    .option(
      '--json',
      'print one JSON document: {scheduleId, vpcId, regionId, paused, note?, cron, intervalSeconds, timeZone?, nextRuns, recentBatches, input}',
    )
    .addHelpText('after', BATCH_COMMAND_EXIT_CODES_HELP)
    .action(async (flags: CreateFlags) => setExitCode(await create(flags)));
}

async function create(flags: CreateFlags): Promise<number> {
  return runBatchCommand(Boolean(flags.json), async (out, config) => {
    if (!flags.cron?.length && flags.interval === undefined) {
      throw new CliError('a schedule needs --cron <expr> or --interval <duration>', ExitCode.USAGE);
    }
    if (flags.vpc.length > 1) {
      throw new CliError(
        'a schedule is for one VPC: give one --vpc, and create one schedule per VPC',
        ExitCode.USAGE,
      );
    }
    const [{ regionId, vpcId }] = resolveVpcs(flags.vpc, flags.region, config);
    const input: FleetInput = {
      regionId,
      vpcId,
      ...(selectionOf(flags) ? { select: selectionOf(flags) } : {}),
      ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
      ...(flags.maxErrors !== undefined ? { maxErrors: flags.maxErrors } : {}),
      ...(flags.window !== undefined ? { windowSeconds: Math.round(flags.window / 1000) } : {}),
      ...(migrationOf(flags) ? { migration: migrationOf(flags) } : {}),
    };
    return withClient(config, async (client) => {
      const schedules = new BatchScheduleClient(client);
      let scheduleId: string;
      try {
        ({ scheduleId } = await schedules.create(input, {
          ...(flags.cron ? { cron: flags.cron } : {}),
          ...(flags.interval !== undefined ? { intervalSeconds: Math.round(flags.interval / 1000) } : {}),
          ...(flags.timeZone ? { timeZone: flags.timeZone } : {}),
          ...(flags.paused ? { paused: true } : {}),
          ...(flags.note ? { note: flags.note } : {}),
        }));
      } catch (err) {
        // The client reports a spec the server refuses (INVALID_ARGUMENT) as a TypeError: a bad cron expression.
        if (err instanceof TypeError) {
          throw new CliError(
            `the schedule was refused: ${err.message}. --cron takes five fields, "minute hour day-of-month month day-of-week" (e.g. "0 2 * * 1-5"), or @daily, @hourly…`,
            ExitCode.USAGE,
          );
        }
        throw err;
      }
      const info: BatchScheduleInfo = await schedules.describe(scheduleId);
      out.info(`created schedule ${scheduleId}${info.paused ? ' (paused)' : ''}`);
      out.result(formatSchedule(info), info);
      return ExitCode.OK;
    });
  });
}
