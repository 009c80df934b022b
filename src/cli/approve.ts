/** `eni-migrate approve <workflow-id>`: let a migration started with --require-approval convert the NAT IP. */
import { Command } from 'commander';
import { loadConfig } from '../config';
import { connectClient } from './connect';
import { ExitCode } from './exit-codes';
import { runCommand } from './output';
import { resolveWorkflowId } from './target';
import { parseRegionId } from './validate';

export function approveCommand(setExitCode: (code: number) => void): Command {
  return new Command('approve')
    .description('approve the irreversible step of a migration started with --require-approval')
    .argument('<workflow-id>', 'workflow id printed by migrate (or an instance id, with --region)')
    .option(
      '--region <id>',
      'region, when an instance id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    )
    .option('--json', 'print one JSON document: {workflowId, approved}')
    .action(async (target: string, flags: { region?: string; json?: boolean }) =>
      setExitCode(
        await runCommand(Boolean(flags.json), async (out) => {
          const config = loadConfig();
          const workflowId = resolveWorkflowId(target, flags.region, config);
          const client = await connectClient(config);
          try {
            await client.approve(workflowId);
            out.result(`approved: ${workflowId}`, { workflowId, approved: true });
            return ExitCode.OK;
          } finally {
            await client.close();
          }
        }),
      ),
    );
}
