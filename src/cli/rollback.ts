/**
 * `eni-migrate retry-rollback <workflow-id>` and `eni-migrate roll-forward <workflow-id>`: an operator's two answers
 * to a rollback reported stuck (MigrationStep `rollback-stuck:<step>`): try again now (after fixing the cause, say a
 * RAM policy), or stop going back and bind the EIP to the new ENI.
 */
import type { Command } from 'commander';
import { COMMAND_EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { onMigration, targetCommand } from './target';

export function retryRollbackCommand(setExitCode: (code: number) => void): Command {
  return targetCommand(
    'retry-rollback',
    'run the next round of a rollback step reported stuck (MigrationStep rollback-stuck:<step>) now, e.g. once its cause is fixed',
  )
    .option('--json', 'print one JSON document: {workflowId, retryRequested}')
    .addHelpText('after', COMMAND_EXIT_CODES_HELP)
    .action(
      onMigration(setExitCode, async (client, workflowId, out) => {
        await client.retryRollback(workflowId);
        out.result(`retry requested: ${workflowId}`, { workflowId, retryRequested: true });
        return ExitCode.OK;
      }),
    );
}

export function rollForwardCommand(setExitCode: (code: number) => void): Command {
  return targetCommand(
    'roll-forward',
    'stop a rollback reported stuck and give the EIP its other home instead: the new ENI (a revert: the instance); the outcome is rolled-forward, unverified',
  )
    .option('--json', 'print one JSON document: {workflowId, rollForwardRequested}')
    .addHelpText('after', COMMAND_EXIT_CODES_HELP)
    .action(
      onMigration(setExitCode, async (client, workflowId, out) => {
        await client.rollForward(workflowId);
        out.result(`roll forward requested: ${workflowId}`, { workflowId, rollForwardRequested: true });
        return ExitCode.OK;
      }),
    );
}
