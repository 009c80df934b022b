import type { AppConfig } from '../config';
import { migrationWorkflowId } from '../shared/migration';
import { CliError, ExitCode } from './exit-codes';
import { looksLikeInstanceId } from './validate';

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
