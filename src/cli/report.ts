/** The final report for humans; `--json` prints the MigrationReport itself. */
import type { MigrationReport } from '../shared/migration';
import { STEP_LABELS, formatDuration } from './progress';

export function formatReport(report: MigrationReport): string {
  const lines: string[] = [];
  const head = `${report.instanceId} (${report.regionId}): ${report.outcome}`;
  lines.push(`${head} in ${formatDuration(report.durationMs)}, ${report.apiCalls} API calls`);
  const revert = isRevert(report);
  if (report.outcome === 'rolled-forward') {
    if (report.cause) lines.push(`  cause: ${report.cause}`);
    lines.push(`  rolled forward: ${report.rolledForward ?? 'going back was impossible'}`);
  }
  switch (report.outcome) {
    case 'verified':
    case 'migrated':
    case 'rolled-forward':
      if (revert) {
        lines.push(
          `  EIP ${report.publicIp ?? '?'} (${report.allocationId ?? '?'}) is on the instance; ENI ${report.networkInterfaceId ?? '?'} ${stepState(report, 'deleteEni') === 'done' ? 'detached and deleted' : 'not removed'}`,
        );
      } else {
        lines.push(
          `  public IP ${report.publicIp ?? '?'} is now EIP ${report.allocationId ?? '?'} on ENI ` +
            `${report.networkInterfaceId ?? '?'} (${report.eniPrivateIp ?? '?'}), NAT mode`,
        );
      }
      if (report.outcome === 'verified' && report.snatIp) lines.push(`  egress via SNAT IP ${report.snatIp}`);
      if (report.outcome !== 'verified') lines.push(`  not verified: ${notVerified(report)}`);
      break;
    case 'reverted':
      lines.push(
        `  EIP ${report.publicIp ?? '?'} (${report.allocationId ?? '?'}) is back on the instance; ENI ${report.networkInterfaceId ?? '?'} detached and deleted`,
      );
      if (report.verificationSkipped) lines.push(`  not verified: ${report.verificationSkipped}`);
      break;
    case 'already-migrated':
      lines.push(`  already migrated, nothing changed: ${report.cause ?? ''}`);
      break;
    case 'planned':
      lines.push('  dry run: no mutating call was made. Preconditions:');
      for (const check of report.checks)
        lines.push(`    ${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}`);
      break;
    case 'rolled-back':
      lines.push(`  cause: ${report.cause ?? 'unknown'}`);
      lines.push(`  ${rolledBackState(report)}`);
      break;
    case 'failed':
      lines.push(`  cause: ${report.cause ?? 'unknown'}`);
      if (report.leftovers?.length) {
        lines.push('  left in the cloud, fix by hand:');
        for (const left of report.leftovers) lines.push(`    - ${left}`);
      }
      if (report.checks.some((c) => !c.ok)) {
        for (const check of report.checks.filter((c) => !c.ok))
          lines.push(`    ✗ ${check.name}: ${check.detail}`);
      }
      break;
  }
  const steps = report.steps
    .filter((s) => s.state !== 'pending')
    .map(
      (s) =>
        `${STEP_LABELS[s.name] ?? s.name} ${s.state}${s.durationMs !== undefined ? ` ${formatDuration(s.durationMs)}` : ''}`,
    );
  if (steps.length && report.outcome !== 'planned') lines.push(`  steps: ${steps.join('; ')}`);
  if (report.offlineMs !== undefined) {
    lines.push(`  without a public address for ${formatDuration(report.offlineMs)}`);
  }
  if (report.eipConverted === 'yes' && report.outcome !== 'verified' && report.outcome !== 'migrated') {
    lines.push(
      `  step 1 ran: ${report.publicIp ?? 'the public IP'} is now EIP ${report.allocationId ?? '?'} (billed apart from the instance, never converted back)`,
    );
  } else if (report.eipConverted === 'unknown') {
    lines.push(
      `  step 1 may have run: check whether ${report.publicIp ?? 'the public IP'} is now an EIP (VPC DescribeEipAddresses)`,
    );
  }
  lines.push(`  workflow: ${report.workflowId}`);
  return lines.join('\n');
}

/** A report of the way back (revertInstance): its steps are the revert's. */
function isRevert(report: MigrationReport): boolean {
  return report.steps.some((s) => s.name === 'unassociateEipFromEni');
}

function stepState(report: MigrationReport, name: string): string | undefined {
  return report.steps.find((s) => s.name === name)?.state;
}

function notVerified(report: MigrationReport): string {
  if (report.verificationSkipped) return report.verificationSkipped;
  return stepState(report, 'verify') === 'failed'
    ? 'verification failed (see cause)'
    : 'verification did not run';
}

/** What a rollback leaves: step 1 (the conversion to an EIP) is never undone, but it may not have run at all. */
function rolledBackState(report: MigrationReport): string {
  if (isRevert(report)) {
    return `back as migrated: EIP ${report.publicIp ?? '?'} on ENI ${report.networkInterfaceId ?? '?'}`;
  }
  const convert = report.steps.find((s) => s.name === 'convertToEip')?.state;
  if (convert === 'done' || convert === 'skipped' || report.eipConverted === 'yes') {
    const ip = report.publicIp ? ` ${report.publicIp}` : '';
    return `no ENI left; the instance keeps its public IP${ip} as EIP ${report.allocationId ?? '?'}`;
  }
  return `no ENI left; the instance was not changed${report.publicIp ? ` (NAT public IP ${report.publicIp})` : ''}`;
}
