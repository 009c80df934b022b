/** What the `schedule` commands share: the schedule id argument. */
import { Command } from 'commander';
import type { AppConfig } from '../../config';
import { batchScheduleId } from '../../shared/fleet';
import { resolveVpcScopedId, vpcScopedCommand } from '../batch/common';

/** `<schedule-id>` as `schedule create` prints it (`eni-fleet-schedule/<region>/<vpc>`), or the VPC it is for. */
export function resolveScheduleId(target: string, region: string | undefined, config: AppConfig): string {
  return resolveVpcScopedId(target, region, config, 'schedule', batchScheduleId);
}

export interface ScheduleTargetFlags {
  region?: string;
  json?: boolean;
}

/** A command on one schedule: `<schedule-id>` (or its VPC), with --region. */
export function scheduleTargetCommand(name: string, description: string): Command {
  return vpcScopedCommand(
    name,
    description,
    '<schedule-id>',
    'schedule id printed by `schedule create` (or its VPC: vpc-… or region:vpc-…)',
  );
}
