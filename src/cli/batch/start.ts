/** `eni-migrate batch start`: one batch (migrateFleet) per VPC named, optionally followed to its report. */
import { Command, Option } from 'commander';
import type { MigrationClient } from '../../client';
import { BatchClient } from '../../client/batches';
import type { FleetInput } from '../../shared/fleet';
import { withClient } from '../connect';
import { BATCH_EXIT_CODES_HELP, CliError, ExitCode, worstExitCode, type ExitCodeValue } from '../exit-codes';
import type { Output } from '../output';
import { runBatchCommand, toBatchCliError } from './common';
import { followBatches, formatBatch, type BatchEntry } from './follow';
import {
  addMigrationOptions,
  addPaceOptions,
  addSelectionOptions,
  addVpcOptions,
  migrationOf,
  parseWindowEnd,
  resolveVpcs,
  selectionOf,
  type MigrationFlags,
  type PaceFlags,
  type SelectionFlags,
  type VpcTarget,
} from './options';
import { BatchProgressView, stderrOutput } from './progress-view';

interface StartFlags extends SelectionFlags, PaceFlags, MigrationFlags {
  vpc: VpcTarget[];
  region?: string;
  windowEnd?: string;
  dryRun?: boolean;
  requireApproval?: boolean;
  wait?: boolean;
  json?: boolean;
}

export function batchStartCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('start').description(
    "migrate a VPC's instances as one batch: discovery, a canary, then a sliding window of migrations, paused by " +
      'the failure breaker, bounded by a maintenance window. Instances migrated already are left alone',
  );
  addVpcOptions(command, true);
  addSelectionOptions(command);
  addPaceOptions(command);
  command
    .addOption(
      new Option(
        '--window-end <time>',
        'no migration starts after this (ISO 8601 such as 2026-12-01T06:00:00Z, or a duration from now such as 2h); the rest end deferred',
      ).argParser(parseWindowEnd),
    )
    .addOption(
      new Option(
        '--dry-run',
        'discover and preflight every instance and print the plan; no mutating call (implies --wait)',
      ).conflicts('requireApproval'),
    )
    .option(
      '--require-approval',
      'show the plan, then wait for `eni-migrate batch approve <batch-id>` before the first migration',
    );
  addMigrationOptions(command);
  return command
    .option('--wait', 'follow the batches to their reports, with a live progress bar on stderr')
    .option(
      '--json',
      'print one JSON document: {batches: [{batchId, runId, regionId, vpcId, report? | progress? | error?, exitCode}], exitCode}',
    )
    .addHelpText('after', BATCH_EXIT_CODES_HELP)
    .action(async (flags: StartFlags) => setExitCode(await start(flags)));
}

async function start(flags: StartFlags): Promise<number> {
  return runBatchCommand(Boolean(flags.json), async (out, config) => {
    const vpcs = resolveVpcs(flags.vpc, flags.region, config);
    if (flags.instances?.length && vpcs.length > 1) {
      // Ids of one VPC would be refused as "not in the VPC" by every other batch.
      throw new CliError(
        '--instances names instances of one VPC: give one --vpc with it, or start one batch per VPC',
        ExitCode.USAGE,
      );
    }
    const inputs: FleetInput[] = vpcs.map(({ regionId, vpcId }) => ({
      regionId,
      vpcId,
      ...(selectionOf(flags) ? { select: selectionOf(flags) } : {}),
      ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
      ...(flags.maxErrors !== undefined ? { maxErrors: flags.maxErrors } : {}),
      ...(flags.windowEnd ? { windowEnd: flags.windowEnd } : {}),
      ...(flags.dryRun ? { dryRun: true } : {}),
      ...(flags.requireApproval ? { requireApproval: true } : {}),
      ...(migrationOf(flags) ? { migration: migrationOf(flags) } : {}),
    }));

    return withClient(config, (client) => startAll(client, inputs, flags, out));
  });
}

async function startAll(
  client: MigrationClient,
  inputs: FleetInput[],
  flags: StartFlags,
  out: Output,
): Promise<ExitCodeValue> {
  const batches = new BatchClient(client);
  let entries: BatchEntry[] = [];
  for (const input of inputs) {
    const base = { batchId: '', regionId: input.regionId, vpcId: input.vpcId };
    try {
      const started = await batches.start(input);
      entries.push({ ...base, ...started, exitCode: ExitCode.OK });
      out.info(
        `started ${input.dryRun ? 'the plan of ' : ''}batch ${started.batchId} (VPC ${input.vpcId}, ${input.regionId})`,
      );
    } catch (err) {
      // One VPC's refusal (a batch of it runs already) does not stop the others.
      const error = toBatchCliError(err);
      out.info(`eni-migrate: error: ${error.message}`);
      entries.push({
        ...base,
        batchId: error.workflowId ?? '',
        error: error.message,
        exitCode: error.exitCode,
      });
    }
  }

  if (flags.wait || flags.dryRun) {
    const view = new BatchProgressView(stderrOutput());
    entries = await followBatches(client, entries, view);
  }
  const exitCode = worstExitCode(entries.map((e) => e.exitCode));
  const human = entries
    .map((e) =>
      e.error
        ? `${e.vpcId}: ${e.error}`
        : e.report || e.progress
          ? formatBatch(e)
          : `${e.batchId}\nfollow it with: eni-migrate batch status ${e.batchId} --wait`,
    )
    .join('\n\n');
  out.result(human, { batches: entries, exitCode });
  return exitCode;
}
