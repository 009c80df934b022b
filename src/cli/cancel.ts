/** `eni-migrate cancel <workflow-id>`: stop a migration; it undoes what it did (the EIP conversion stays). */
import type { Command } from 'commander';
import { MigrationClosedError } from '../client';
import { EXIT_CODES_HELP, ExitCode, exitCodeForReport } from './exit-codes';
import { formatReport } from './report';
import { onMigration, targetCommand, type TargetFlags } from './target';
import { waitForReport } from './wait';

export function cancelCommand(setExitCode: (code: number) => void): Command {
  return targetCommand(
    'cancel',
    'cancel a migration or revert: its compensations run in reverse order, back to where it started (a migration keeps the EIP conversion)',
  )
    .option('--wait', 'wait until the rollback has finished')
    .option('--json', 'print one JSON document: {workflowId, cancelRequested[, report | status]}')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(
      onMigration(setExitCode, async (client, workflowId, out, flags: TargetFlags & { wait?: boolean }) => {
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
          out.result(`cancelled: ${workflowId}`, { workflowId, cancelRequested: true, status: 'cancelled' });
          return ExitCode.CANCELLED;
        }
      }),
    );
}
