/** `eni-migrate revert`: the way back for an instance migrated earlier (the EIP back on the instance, the ENI gone). */
import { Command, Option } from 'commander';
import { loadConfig } from '../config';
import { EGRESS_CHECK_SCRIPT_DEFAULT, type RevertInput } from '../shared/migration';
import { withClient } from './connect';
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { runCommand } from './output';
import { parseInstanceId, parseRegionId, parseScriptName, positiveInt } from './validate';
import { offlineBudgetOption, rollbackRetryMaxOption } from './saga-options';
import { reportOrStarted } from './wait';

interface RevertFlags {
  instance: string;
  region?: string;
  verify: boolean;
  verifyTimeout?: number;
  egressCheckScript?: string;
  offlineBudget?: number;
  rollbackRetryMax?: number;
  attach?: boolean;
  wait?: boolean;
  json?: boolean;
}

export function revertCommand(setExitCode: (code: number) => void): Command {
  return new Command('revert')
    .description(
      'the way back for a migrated instance: its EIP from the ENI back onto the instance, then the ENI (one eni-migration created) detached and deleted',
    )
    .requiredOption('--instance <id>', 'ECS instance id (i-…)', parseInstanceId)
    .option('--region <id>', 'region id (default: ALIBABA_CLOUD_REGION_ID)', parseRegionId)
    .option('--no-verify', 'skip the SSH verification (required for a Stopped instance)')
    .addOption(
      new Option('--verify-timeout <seconds>', 'how long verification may retry (default 120)').argParser(
        positiveInt('seconds', 3600),
      ),
    )
    .option(
      '--egress-check-script <name>',
      `guest script whose answer must be the instance's own address again (default: ${EGRESS_CHECK_SCRIPT_DEFAULT})`,
      parseScriptName,
    )
    .addOption(offlineBudgetOption())
    .addOption(rollbackRetryMaxOption())
    .option(
      '--attach',
      'if this instance is already being migrated or reverted, follow that instead of refusing',
    )
    .option('--wait', 'wait for the report, showing progress on stderr')
    .option('--json', 'print one JSON document on stdout: {workflowId, runId, attached[, report]}')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (flags: RevertFlags) => setExitCode(await revert(flags)));
}

async function revert(flags: RevertFlags): Promise<number> {
  return runCommand(Boolean(flags.json), async (out) => {
    const config = loadConfig();
    const regionId = flags.region ?? config.cloud.regionId;
    if (!regionId) {
      throw new CliError('no region: pass --region <id> or set ALIBABA_CLOUD_REGION_ID', ExitCode.USAGE);
    }
    const input: RevertInput = {
      regionId,
      instanceId: flags.instance,
      verify: flags.verify,
      ...(flags.verifyTimeout ? { verifyTimeoutSeconds: flags.verifyTimeout } : {}),
      ...(flags.egressCheckScript ? { egressCheckScript: flags.egressCheckScript } : {}),
      ...(flags.offlineBudget ? { offlineBudgetSeconds: flags.offlineBudget } : {}),
      ...(flags.rollbackRetryMax ? { rollbackRetryMaxIntervalSeconds: flags.rollbackRetryMax } : {}),
    };
    return withClient(config, async (client) => {
      const started = await client.revert(input, { attachIfRunning: flags.attach });
      const { workflowId } = started;
      out.info(
        `${started.attached ? 'attached to the running' : 'started the'} revert of ${input.instanceId}: ${workflowId}`,
      );
      return reportOrStarted(client, started, out, Boolean(flags.wait));
    });
  });
}
