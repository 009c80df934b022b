/** `eni-migrate approve <workflow-id>`: let a migration started with --require-approval convert the NAT IP. */
import type { Command } from 'commander';
import { ExitCode } from './exit-codes';
import { onMigration, targetCommand } from './target';

export function approveCommand(setExitCode: (code: number) => void): Command {
  return targetCommand(
    'approve',
    'approve the irreversible step of a migration started with --require-approval',
  )
    .option('--json', 'print one JSON document: {workflowId, approved}')
    .action(
      onMigration(setExitCode, async (client, workflowId, out) => {
        await client.approve(workflowId);
        out.result(`approved: ${workflowId}`, { workflowId, approved: true });
        return ExitCode.OK;
      }),
    );
}
