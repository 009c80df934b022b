/** `eni-migrate cancel <workflow-id>`: stop a migration; it undoes what it did (the EIP conversion stays). */
import { Command } from 'commander';
import { MigrationClosedError } from '../client';
import { loadConfig } from '../config';
import { connectClient } from './connect';
import { EXIT_CODES_HELP, ExitCode, exitCodeForReport } from './exit-codes';
import { runCommand } from './output';
import { formatReport } from './report';
import { resolveWorkflowId } from './target';
import { parseRegionId } from './validate';
import { waitForReport } from './wait';

export function cancelCommand(setExitCode: (code: number) => void): Command {
  return new Command('cancel')
    .description(
      'cancel a migration: its compensations run in reverse order (the EIP stays bound to the instance)',
    )
    .argument('<workflow-id>', 'workflow id printed by migrate (or an instance id, with --region)')
    .option(
      '--region <id>',
      'region, when an instance id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    )
    .option('--wait', 'wait until the rollback has finished')
    .option('--json', 'print one JSON document: {workflowId, cancelRequested[, report | status]}')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (target: string, flags: { region?: string; wait?: boolean; json?: boolean }) =>
      setExitCode(
        await runCommand(Boolean(flags.json), async (out) => {
          const config = loadConfig();
          const workflowId = resolveWorkflowId(target, flags.region, config);
          const client = await connectClient(config);
          try {
            await client.cancel(workflowId);
            if (!flags.wait) {
              out.result(`cancellation requested: ${workflowId} (follow it with eni-migrate status)`, {
                workflowId,
                cancelRequested: true,
              });
              return ExitCode.OK;
            }
            out.info(`cancellation requested: ${workflowId}; waiting for the rollback`);
            try {
              const report = await waitForReport(client, workflowId, out);
              out.result(formatReport(report), { workflowId, cancelRequested: true, report });
              return exitCodeForReport(report);
            } catch (err) {
              if (!(err instanceof MigrationClosedError) || err.status !== 'cancelled') throw err;
              out.result(`cancelled: ${workflowId}`, {
                workflowId,
                cancelRequested: true,
                status: 'cancelled',
              });
              return ExitCode.CANCELLED;
            }
          } finally {
            await client.close();
          }
        }),
      ),
    );
}
