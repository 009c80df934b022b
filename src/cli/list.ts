/** `eni-migrate list`: migrations known to Temporal, by the project's search attributes. */
import { Command, Option } from 'commander';
import type { ListFilter, MigrationSummary } from '../client';
import { loadConfig } from '../config';
import type { Outcome } from '../shared/migration';
import { withClient } from './connect';
import { ExitCode } from './exit-codes';
import { runCommand } from './output';
import { OUTCOMES, parseInstanceId, parseStepFilter, parseVpcId, positiveInt } from './validate';

interface ListFlags {
  instance?: string;
  vpc?: string;
  step?: string;
  outcome?: string;
  query?: string;
  limit?: number;
  json?: boolean;
}

export function listCommand(setExitCode: (code: number) => void): Command {
  return new Command('list')
    .description('list migrations, newest first')
    .option('--instance <id>', 'only this instance', parseInstanceId)
    .option('--vpc <id>', 'only instances of this VPC', parseVpcId)
    .option(
      '--step <step>',
      'only migrations at this step (a step name, awaiting-approval, rollback:<step>, rollback-stuck:<step>, done)',
      parseStepFilter,
    )
    .addOption(new Option('--outcome <outcome>', 'only migrations that ended so').choices(OUTCOMES))
    .option(
      '--query <visibility-query>',
      'extra Temporal visibility query, e.g. "ExecutionStatus = \'Running\'"',
    )
    .addOption(
      new Option('--limit <n>', 'at most n migrations')
        .argParser(positiveInt('a count', 10_000))
        .default(100),
    )
    .option('--json', 'print one JSON document: {migrations: [...]}')
    .action(async (flags: ListFlags) =>
      setExitCode(
        await runCommand(Boolean(flags.json), (out) =>
          withClient(loadConfig(), async (client) => {
            const migrations = await client.list({
              instanceId: flags.instance,
              vpcId: flags.vpc,
              step: flags.step as ListFilter['step'],
              outcome: flags.outcome as Outcome | 'running' | undefined,
              query: flags.query,
              limit: flags.limit,
            });
            out.result(formatTable(migrations), { migrations });
            return ExitCode.OK;
          }),
        ),
      ),
    );
}

function formatTable(rows: MigrationSummary[]): string {
  if (rows.length === 0) return 'no migrations found';
  const header = ['WORKFLOW ID', 'STATUS', 'INSTANCE', 'VPC', 'STEP', 'OUTCOME', 'STARTED'];
  const cells = rows.map((r) => [
    r.workflowId,
    r.status,
    r.instanceId ?? '',
    r.vpcId ?? '',
    r.step ?? '',
    r.outcome ?? '',
    r.startTime,
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
