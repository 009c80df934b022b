/**
 * `eni-migrate retry-rollback <workflow-id>` and `eni-migrate roll-forward <workflow-id>`: an operator's two answers
 * to a rollback reported stuck (MigrationStep `rollback-stuck:<step>`): try again now (after fixing the cause, say a
 * RAM policy), or stop going back and bind the EIP to the new ENI.
 */
import type { Command } from 'commander';
import { ExitCode } from './exit-codes';
import { onMigration, targetCommand } from './target';

export function retryRollbackCommand(setExitCode: (code: number) => void): Command {
  return targetCommand('retry-rollback', 'retry a stuck rollback step now, not at its next round')
    .option('--json', 'print one JSON document: {workflowId, retryRequested}')
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
    'stop a stuck rollback and bind the EIP to the new ENI instead (outcome rolled-forward)',
  )
    .option('--json', 'print one JSON document: {workflowId, rollForwardRequested}')
    .action(
      onMigration(setExitCode, async (client, workflowId, out) => {
        await client.rollForward(workflowId);
        out.result(`roll forward requested: ${workflowId}`, { workflowId, rollForwardRequested: true });
        return ExitCode.OK;
      }),
    );
}
