/** `eni-migrate batch list`: batches known to Temporal, newest first. */
import { Command, Option } from 'commander';
import { BatchClient, type BatchSummary } from '../../client/batches';
import { ExitCode } from '../exit-codes';
import { parseRegionId, parseVpcId, positiveInt } from '../validate';
import { runWithClient } from './common';

interface ListFlags {
  vpc?: string;
  region?: string;
  query?: string;
  limit: number;
  json?: boolean;
}

export function batchListCommand(setExitCode: (code: number) => void): Command {
  return new Command('list')
    .description('list batches, newest first, with their state and outcome')
    .option('--vpc <id>', 'only batches of this VPC', parseVpcId)
    .option('--region <id>', 'only batches in this region', parseRegionId)
    .option(
      '--query <visibility-query>',
      'extra Temporal visibility query, e.g. "ExecutionStatus = \'Running\'"',
    )
    .addOption(
      new Option('--limit <n>', 'at most n batches').argParser(positiveInt('a count', 10_000)).default(100),
    )
    .option(
      '--json',
      'print one JSON document: {batches: [{batchId, runId, status, startTime, closeTime?, vpcId, regionId, state, outcome}]}',
    )
    .action(async (flags: ListFlags) =>
      setExitCode(
        await runWithClient(Boolean(flags.json), async (client, out) => {
          const batches = await new BatchClient(client).list({
            vpcId: flags.vpc,
            regionId: flags.region,
            query: flags.query,
            limit: flags.limit,
          });
          out.result(formatTable(batches), { batches });
          return ExitCode.OK;
        }),
      ),
    );
}

function formatTable(rows: BatchSummary[]): string {
  if (rows.length === 0) return 'no batches found';
  const header = ['BATCH ID', 'STATUS', 'VPC', 'REGION', 'STATE', 'OUTCOME', 'STARTED'];
  const cells = rows.map((r) => [
    r.batchId,
    r.status,
    r.vpcId ?? '',
    r.regionId ?? '',
    r.state ?? '',
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
