/** What the `batch` commands share: the batch id argument, the client, and their errors as exit codes. */
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure, WorkflowNotFoundError } from '@temporalio/common';
import { Command } from 'commander';
import { BatchAlreadyRunningError, BatchClient, BatchClosedError } from '../../client/batches';
import { loadConfig, type AppConfig } from '../../config';
import { batchWorkflowId } from '../../shared/fleet';
import type { MigrationClient } from '../../client';
import { withClient } from '../connect';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes';
import { runCommand, toCliError, type Output } from '../output';
import { parseRegionId } from '../validate';
import { parseVpcTarget } from './options';

/**
 * An id the CLI takes for a batch or a schedule, or a VPC instead (`vpc-…` with --region or ALIBABA_CLOUD_REGION_ID,
 * or `region:vpc-…`): the one of that VPC (`idOf`). Anything that is not a VPC is taken as the id itself.
 */
export function resolveVpcScopedId(
  target: string,
  region: string | undefined,
  config: AppConfig,
  what: 'batch' | 'schedule',
  idOf: (regionId: string, vpcId: string) => string,
): string {
  let vpc;
  try {
    vpc = parseVpcTarget(target);
  } catch {
    return target;
  }
  const regionId = vpc.regionId ?? region ?? config.cloud.regionId;
  if (!regionId) {
    throw new CliError(
      `${target} is a VPC id: pass --region <id> (or set ALIBABA_CLOUD_REGION_ID), write it as <region>:${vpc.vpcId}, or give the ${what} id`,
      ExitCode.USAGE,
    );
  }
  return idOf(regionId, vpc.vpcId);
}

/** `<batch-id>` as `batch start` prints it (`eni-fleet/<region>/<vpc>`, or a scheduled run's id), or its VPC. */
export function resolveBatchId(target: string, region: string | undefined, config: AppConfig): string {
  return resolveVpcScopedId(target, region, config, 'batch', batchWorkflowId);
}

export interface BatchTargetFlags {
  region?: string;
  json?: boolean;
}

/** A command on one batch or schedule: `<id>` (or its VPC), with --region. */
export function vpcScopedCommand(name: string, description: string, argument: string, help: string): Command {
  return new Command(name)
    .description(description)
    .argument(argument, help)
    .option(
      '--region <id>',
      'region, when a bare VPC id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    );
}

/** A command on one batch: `<batch-id>` (or a VPC id), with --region. */
export function batchTargetCommand(name: string, description: string): Command {
  return vpcScopedCommand(
    name,
    description,
    '<batch-id>',
    'batch id printed by `batch start` (or the VPC id: vpc-… or region:vpc-…)',
  );
}

/**
 * Runs a command body; whatever it throws becomes a message and an exit code. The body checks its input before it
 * connects (`withClient`), so that bad input is exit 2 even when Temporal is unreachable.
 */
export function runBatchCommand(
  json: boolean,
  body: (out: Output, config: AppConfig) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  return runCommand(json, async (out) => {
    try {
      return await body(out, loadConfig());
    } catch (err) {
      throw toBatchCliError(err);
    }
  });
}

/** runBatchCommand with a connected client, for bodies that have nothing to check first. */
export function runWithClient(
  json: boolean,
  body: (client: MigrationClient, out: Output, config: AppConfig) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  return runBatchCommand(json, (out, config) => withClient(config, (client) => body(client, out, config)));
}

/** The action of a command on one batch: resolves the id, connects, runs `body`, sets the exit code. */
export function onBatch<F extends BatchTargetFlags>(
  setExitCode: (code: number) => void,
  body: (
    batches: BatchClient,
    batchId: string,
    out: Output,
    flags: F,
    client: MigrationClient,
  ) => Promise<ExitCodeValue>,
): (target: string, flags: F) => Promise<void> {
  return async (target, flags) =>
    setExitCode(
      await runBatchCommand(Boolean(flags.json), (out, config) => {
        const batchId = resolveBatchId(target, flags.region, config);
        return withClient(config, (client) => body(new BatchClient(client), batchId, out, flags, client));
      }),
    );
}

/** Maps the batch and schedule clients' errors to the documented exit codes; the rest as any command's. */
export function toBatchCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(
      `no batch with id ${err.workflowId} (list them with: eni-migrate batch list)`,
      ExitCode.USAGE,
      err.workflowId,
    );
  }
  if (err instanceof BatchAlreadyRunningError)
    return new CliError(err.message, ExitCode.ALREADY_RUNNING, err.batchId);
  if (err instanceof BatchClosedError) {
    // The workflow refused its input (InvalidInput): nothing in the cloud changed, as with a bad flag.
    const code =
      err.status === 'cancelled'
        ? ExitCode.CANCELLED
        : failureType(err.cause) === 'InvalidInput'
          ? ExitCode.USAGE
          : ExitCode.FAILED;
    return new CliError(err.message, code, err.batchId);
  }
  if (err instanceof ScheduleNotFoundError) {
    return new CliError(
      `no schedule with id ${err.scheduleId} (list them with: eni-migrate schedule list)`,
      ExitCode.USAGE,
    );
  }
  if (err instanceof ScheduleAlreadyRunning) {
    return new CliError(
      `a schedule with id ${err.scheduleId} exists already: see it with \`eni-migrate schedule describe ${err.scheduleId}\`, or delete it first (\`eni-migrate schedule delete ${err.scheduleId}\`)`,
      ExitCode.ALREADY_RUNNING,
    );
  }
  return toCliError(err);
}

/** The ApplicationFailure type at the root of a workflow's failure, if any. */
function failureType(err: unknown): string | undefined {
  let current = (err as { cause?: unknown } | undefined)?.cause;
  while (current instanceof TemporalFailure && !(current instanceof ApplicationFailure) && current.cause)
    current = current.cause;
  return current instanceof ApplicationFailure ? (current.type ?? undefined) : undefined;
}
