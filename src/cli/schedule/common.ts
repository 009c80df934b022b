/** What the `schedule` commands share: the schedule id argument. */
import { Command } from 'commander';
import type { AppConfig } from '../../config';
import { batchScheduleId } from '../../shared/fleet';
import { CliError, ExitCode } from '../exit-codes';
import { parseRegionId } from '../validate';
import { parseVpcTarget } from '../batch/options';

/** `<schedule-id>` as `schedule create` prints it (`eni-fleet-schedule/<region>/<vpc>`), or the VPC it is for. */
export function resolveScheduleId(target: string, region: string | undefined, config: AppConfig): string {
  let vpc;
  try {
    vpc = parseVpcTarget(target);
  } catch {
    return target;
  }
  const regionId = vpc.regionId ?? region ?? config.cloud.regionId;
  if (!regionId) {
    throw new CliError(
      `${target} is a VPC id: pass --region <id> (or set ALIBABA_CLOUD_REGION_ID), write it as <region>:${vpc.vpcId}, or give the schedule id`,
      ExitCode.USAGE,
    );
  }
  return batchScheduleId(regionId, vpc.vpcId);
}

export interface ScheduleTargetFlags {
  region?: string;
  json?: boolean;
}

/** A command on one schedule: `<schedule-id>` (or its VPC), with --region. */
export function scheduleTargetCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<schedule-id>', 'schedule id printed by `schedule create` (or its VPC: vpc-… or region:vpc-…)')
    .option(
      '--region <id>',
      'region, when a bare VPC id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    );
}
