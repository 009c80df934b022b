/** `eni-migrate status <workflow-id>`: where a migration is, or how it ended. */
import { Command } from 'commander';
import type { MigrationStatus } from '../client';
import { loadConfig } from '../config';
import { connectClient } from './connect';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { runCommand } from './output';
import { formatStep, formatDuration } from './progress';
import { formatReport } from './report';
import { resolveWorkflowId } from './target';
import { parseRegionId } from './validate';

export function statusCommand(setExitCode: (code: number) => void): Command {
  return new Command('status')
    .description('show the progress of a migration, or its report once finished')
    .argument('<workflow-id>', 'workflow id printed by migrate (or an instance id, with --region)')
    .option(
      '--region <id>',
      'region, when an instance id is given (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    )
    .option('--json', 'print one JSON document: {workflowId, runId, status, progress? | report? | failure?}')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (target: string, flags: { region?: string; json?: boolean }) =>
      setExitCode(
        await runCommand(Boolean(flags.json), async (out) => {
          const config = loadConfig();
          const workflowId = resolveWorkflowId(target, flags.region, config);
          const client = await connectClient(config);
          try {
            const status = await client.status(workflowId);
            out.result(formatStatus(status), status);
            return ExitCode.OK;
          } finally {
            await client.close();
          }
        }),
      ),
    );
}

function formatStatus(s: MigrationStatus): string {
  const lines = [
    `${s.workflowId}: ${s.status}${s.instanceId ? ` (${s.instanceId})` : ''}, started ${s.startTime}`,
  ];
  if (s.progress) {
    const p = s.progress;
    lines.push(
      `  current step: ${p.currentStep}${p.awaitingApproval ? ' (waiting for approval: eni-migrate approve)' : ''}`,
    );
    for (const step of p.steps) {
      if (step.state === 'pending') continue;
      const running = step.state === 'running' && step.startedAt;
      const elapsed = running ? ` for ${formatDuration(Date.now() - Date.parse(step.startedAt!))}` : '';
      lines.push(`  ${formatStep(step, p.resources)}${elapsed}`);
    }
    lines.push(`  API calls so far: ${p.apiCalls}`);
  }
  if (s.report) lines.push(formatReport(s.report));
  if (s.failure) lines.push(`  ${s.failure}`);
  return lines.join('\n');
}
