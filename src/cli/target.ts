import { Command } from 'commander';
import type { MigrationClient } from '../client';
import { loadConfig, type AppConfig } from '../config';
import { migrationWorkflowId } from '../shared/migration';
import { withClient } from './connect';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes';
import { runCommand, type Output } from './output';
import { looksLikeInstanceId, parseRegionId } from './validate';

/** `<workflow-id>` as printed by migrate, or an instance id (the workflow id derives from region and instance). */
export function resolveWorkflowId(target: string, region: string | undefined, config: AppConfig): string {
  if (!looksLikeInstanceId(target)) return target;
  const regionId = region ?? config.cloud.regionId;
  if (!regionId) {
    throw new CliError(
      `${target} looks like an instance id: pass --region <id> (or set ALIBABA_CLOUD_REGION_ID), or give the workflow id`,
      ExitCode.USAGE,
    );
  }
  return migrationWorkflowId(regionId, target);
}

/** The flags every command on one migration has. */
export interface TargetFlags {
  region?: string;
  json?: boolean;
}

/** A command on one migration (approve, cancel, status): `<workflow-id>`, or an instance id with `--region`. */
export function targetCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<workflow-id>', 'workflow id printed by migrate (or an instance id, with --region)')
    .option(
      '--region <id>',
      'region, when an instance id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    );
}

/**
 * The action of such a command: resolves the workflow id, runs `body` with a connected client, prints what it
 * threw, and sets the exit code.
 */
export function onMigration<F extends TargetFlags>(
  setExitCode: (code: number) => void,
  body: (client: MigrationClient, workflowId: string, out: Output, flags: F) => Promise<ExitCodeValue>,
): (target: string, flags: F) => Promise<void> {
  return async (target, flags) =>
    setExitCode(
      await runCommand(Boolean(flags.json), async (out) => {
        const config = loadConfig();
        const workflowId = resolveWorkflowId(target, flags.region, config);
        return withClient(config, (client) => body(client, workflowId, out, flags));
      }),
    );
}
