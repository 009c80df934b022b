/** `eni-migrate status <workflow-id>`: where a migration is, or how it ended. */
import type { Command } from 'commander';
import type { MigrationStatus } from '../client';
import { COMMAND_EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { formatStep, formatDuration } from './progress';
import { formatReport } from './report';
import { onMigration, targetCommand } from './target';

export function statusCommand(setExitCode: (code: number) => void): Command {
  return targetCommand('status', 'show the progress of a migration, or its report once finished')
    .option(
      '--json',
      'print one JSON document: {workflowId, runId, status, startTime, closeTime?, instanceId, vpcId, step, outcome, progress? | report? | failure?}',
    )
    .addHelpText(
      'after',
      `${COMMAND_EXIT_CODES_HELP}\n(the migration's own outcome is in the output: "outcome" in --json)`,
    )
    .action(
      onMigration(setExitCode, async (client, workflowId, out) => {
        const status = await client.status(workflowId);
        out.result(formatStatus(status), status);
        return ExitCode.OK;
      }),
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
    if (p.rollbackStuck) {
      const r = p.rollbackStuck;
      lines.push(
        `  ⚠ rollback stuck since ${r.since} (${r.rounds} rounds): ${r.action}: ${r.lastError}`,
        ...(r.fix ? [`    fix: ${r.fix}`] : []),
        `    next round ${r.nextRetryAt ?? 'when asked'}; now: eni-migrate retry-rollback ${p.workflowId}` +
          (r.canRollForward ? `; or keep the EIP on the ENI: eni-migrate roll-forward ${p.workflowId}` : ''),
      );
    }
    if (p.offlineMs !== undefined)
      lines.push(`  without a public address so far: ${formatDuration(p.offlineMs)}`);
    lines.push(`  API calls so far: ${p.apiCalls}`);
  }
  if (s.report) lines.push(formatReport(s.report));
  if (s.failure) lines.push(`  ${s.failure}`);
  return lines.join('\n');
}
