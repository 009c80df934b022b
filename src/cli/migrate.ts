/** `eni-migrate migrate`: start (and optionally follow) the migration of one instance. */
import { Command, Option } from 'commander';
import { loadConfig } from '../config';
import { EGRESS_CHECK_SCRIPT_DEFAULT, type MigrationInput } from '../shared/migration';
import { withClient } from './connect';
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { runCommand } from './output';
import {
  parseIPv4,
  parseInstanceId,
  parseRegionId,
  parseScriptName,
  parseSecurityGroupId,
  parseVSwitchId,
  positiveInt,
  removedFlag,
} from './validate';
import { offlineBudgetOption, rollbackRetryMaxOption } from './saga-options';
import { reportOrStarted } from './wait';
import {
  guestPrepareScriptOption,
  guestSetupOf,
  guestSetupOption,
  type GuestSetupFlags,
} from './guest-setup-option';

interface MigrateFlags extends GuestSetupFlags {
  instance: string;
  region?: string;
  vswitch?: string;
  securityGroup?: string;
  primaryIp?: string;
  dryRun?: boolean;
  requireApproval?: boolean;
  verify: boolean;
  verifyTimeout?: number;
  keepOnVerifyFailure?: boolean;
  allowChargeTypeChange?: boolean;
  bandwidthPayByTraffic?: boolean;
  egressCheckScript?: string;
  offlineBudget?: number;
  rollbackRetryMax?: number;
  attach?: boolean;
  wait?: boolean;
  json?: boolean;
}

export function migrateCommand(setExitCode: (code: number) => void): Command {
  return (
    new Command('migrate')
      .description("move an instance's NAT public IP onto a new secondary ENI (as an EIP in NAT mode)")
      .requiredOption('--instance <id>', 'ECS instance id (i-…)', parseInstanceId)
      .option('--region <id>', 'region id (default: ALIBABA_CLOUD_REGION_ID)', parseRegionId)
      .option('--vswitch <id>', "vSwitch of the new ENI (default: the instance's own)", parseVSwitchId)
      .option(
        '--security-group <id>',
        'the one security group of the new ENI (default: every group of the instance)',
        parseSecurityGroupId,
      )
      .option(
        '--primary-ip <ipv4>',
        'primary private IP of the new ENI (default: allocated by the vSwitch)',
        parseIPv4,
      )
      .option(
        '--dry-run',
        'evaluate every precondition and print the plan; no mutating call (implies --wait)',
      )
      .option(
        '--require-approval',
        'pause before the irreversible EIP conversion until `eni-migrate approve`',
      )
      .option('--no-verify', 'skip the SSH verification (required for a Stopped instance)')
      .addOption(
        new Option('--verify-timeout <seconds>', 'how long verification may retry (default 120)').argParser(
          positiveInt('seconds', 3600),
        ),
      )
      .option(
        '--keep-on-verify-failure',
        'keep the migrated state when verification fails (default: roll back)',
      )
      .option(
        '--allow-charge-type-change',
        'switch a PrePaid instance that cannot convert as it is to PostPaid (pay-as-you-go) first (default: refuse)',
      )
      .option(
        '--bandwidth-pay-by-traffic',
        'bill the bandwidth of a PrePaid instance billed by fixed bandwidth by traffic first (ModifyInstanceNetworkSpec; default: refuse)',
      )
      .addOption(guestPrepareScriptOption())
      .addOption(guestSetupOption())
      .option(
        '--egress-check-script <name>',
        `guest script whose answer, the guest's outbound IPv4 address, must be the SNAT IP (default: ${EGRESS_CHECK_SCRIPT_DEFAULT})`,
        parseScriptName,
      )
      // Release 0.1's flags carried shell text into the workflow input: refused with what to use instead, not in --help.
      .addOption(
        new Option('--guest-prepare-command <cmd>')
          .hideHelp()
          .argParser(removedFlag('--guest-prepare-script <name>')),
      )
      .addOption(
        new Option('--egress-check-command <cmd>')
          .hideHelp()
          .argParser(removedFlag('--egress-check-script <name>')),
      )
      .addOption(offlineBudgetOption())
      .addOption(rollbackRetryMaxOption())
      .option(
        '--attach',
        'if this instance is already being migrated, follow that migration instead of refusing',
      )
      .option('--wait', 'wait for the report, showing progress on stderr')
      .option('--json', 'print one JSON document on stdout: {workflowId, runId, attached[, report]}')
      .addHelpText('after', EXIT_CODES_HELP)
      .action(async (flags: MigrateFlags) => setExitCode(await migrate(flags)))
  );
}

async function migrate(flags: MigrateFlags): Promise<number> {
  return runCommand(Boolean(flags.json), async (out) => {
    const config = loadConfig();
    const regionId = flags.region ?? config.cloud.regionId;
    if (!regionId) {
      throw new CliError('no region: pass --region <id> or set ALIBABA_CLOUD_REGION_ID', ExitCode.USAGE);
    }
    const input: MigrationInput = {
      regionId,
      instanceId: flags.instance,
      ...(flags.vswitch ? { vSwitchId: flags.vswitch } : {}),
      ...(flags.securityGroup ? { securityGroupId: flags.securityGroup } : {}),
      ...(flags.primaryIp ? { primaryIpAddress: flags.primaryIp } : {}),
      ...(flags.dryRun ? { dryRun: true } : {}),
      ...(flags.requireApproval ? { requireApproval: true } : {}),
      verify: flags.verify,
      ...(flags.verifyTimeout ? { verifyTimeoutSeconds: flags.verifyTimeout } : {}),
      ...(flags.keepOnVerifyFailure ? { keepOnVerifyFailure: true } : {}),
      ...(flags.allowChargeTypeChange ? { allowChargeTypeChange: true } : {}),
      ...(flags.bandwidthPayByTraffic ? { allowPayByTraffic: true } : {}),
      ...(flags.guestPrepareScript ? { guestPrepareScript: flags.guestPrepareScript } : {}),
      guestSetup: guestSetupOf(flags),
      ...(flags.egressCheckScript ? { egressCheckScript: flags.egressCheckScript } : {}),
      ...(flags.offlineBudget ? { offlineBudgetSeconds: flags.offlineBudget } : {}),
      ...(flags.rollbackRetryMax ? { rollbackRetryMaxIntervalSeconds: flags.rollbackRetryMax } : {}),
    };
    return withClient(config, async (client) => {
      const started = await client.start(input, { attachIfRunning: flags.attach });
      const { workflowId } = started;
      out.info(
        `${started.attached ? 'attached to the running' : 'started'} ${flags.dryRun ? 'dry run' : 'migration'} ` +
          `of ${input.instanceId}: ${workflowId}`,
      );
      return reportOrStarted(client, started, out, Boolean(flags.wait || flags.dryRun));
    });
  });
}
