/**
 * Human progress: one line per step transition, with its duration and API calls, as the `progress` query reports
 * them. Transitions that happen between two polls still show (a step seen only as `done` prints once, as done).
 */
import type {
  MigrationProgress,
  MigrationResources,
  StepName,
  StepProgress,
  StepState,
} from '../shared/migration';

export const STEP_LABELS: Record<StepName, string> = {
  preflight: 'preflight checks',
  convertToEip: 'convert NAT public IP to EIP',
  createEni: 'create secondary ENI',
  attachEni: 'attach ENI to instance',
  prepareGuest: 'prepare guest networking',
  unassociateEip: 'unassociate EIP from instance',
  associateEipToEni: 'associate EIP to ENI (NAT mode)',
  verify: 'verify: the same host on the EIP, egress as expected',
  unassociateEipFromEni: 'unassociate EIP from ENI',
  associateEipToInstance: 'associate EIP to instance',
  detachEni: 'detach ENI from instance',
  deleteEni: 'delete ENI',
};

const MARKS: Record<StepState, string> = {
  pending: ' ',
  running: '→',
  done: '✓',
  skipped: '-',
  failed: '✗',
  compensating: '↶',
  compensated: '↶',
};

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** What a finished step produced, in the cloud's own terms. */
function stepDetail(step: StepName, r: MigrationResources): string {
  switch (step) {
    case 'preflight':
      return [r.publicIp && `public IP ${r.publicIp}`, r.vpcId, r.snatIp && `SNAT IP ${r.snatIp}`]
        .filter(Boolean)
        .join(', ');
    case 'convertToEip':
      return r.allocationId ? `EIP ${r.allocationId}${r.publicIp ? ` (${r.publicIp})` : ''}` : '';
    case 'createEni':
      return r.networkInterfaceId
        ? `${r.networkInterfaceId}${r.eniPrivateIp ? ` (${r.eniPrivateIp})` : ''}`
        : '';
    default:
      return '';
  }
}

export function formatStep(step: StepProgress, resources: MigrationResources): string {
  const label = STEP_LABELS[step.name] ?? step.name;
  const verb =
    step.state === 'compensating'
      ? 'undoing '
      : step.state === 'compensated'
        ? 'undone: '
        : step.state === 'skipped'
          ? 'skipped: '
          : '';
  let line = `${MARKS[step.state]} ${verb}${label}`;
  if (step.state !== 'running' && step.state !== 'compensating') {
    const timing = formatDuration(step.durationMs);
    const calls = step.apiCalls ? `${step.apiCalls} API call${step.apiCalls === 1 ? '' : 's'}` : '';
    const facts = [timing, calls].filter(Boolean).join(', ');
    if (facts) line += ` (${facts})`;
  }
  if (step.state === 'done') {
    const detail = stepDetail(step.name, resources);
    if (detail) line += `: ${detail}`;
  }
  if (step.error && (step.state === 'failed' || step.state === 'compensating')) line += `: ${step.error}`;
  return line;
}

export class ProgressPrinter {
  private readonly seen = new Map<StepName, StepState>();
  private approvalShown = false;
  private stuckShown?: string;

  constructor(
    private readonly write: (line: string) => void,
    private readonly prefix = '  ',
  ) {}

  update(progress: MigrationProgress): void {
    for (const step of progress.steps) {
      if (this.seen.get(step.name) === step.state) continue;
      this.seen.set(step.name, step.state);
      if (step.state === 'pending') continue;
      this.write(`${this.prefix}${formatStep(step, progress.resources)}`);
    }
    const stuck = progress.rollbackStuck;
    const stuckKey = stuck ? `${stuck.action}/${stuck.lastError}` : undefined;
    if (stuck && stuckKey !== this.stuckShown) {
      this.write(
        `${this.prefix}⚠ rollback stuck since ${stuck.since} (${stuck.rounds} rounds): ${stuck.action}: ${stuck.lastError}` +
          `${stuck.fix ? `; fix: ${stuck.fix}` : ''}; next round ${stuck.nextRetryAt ?? 'when asked'}, or now: eni-migrate retry-rollback ${progress.workflowId}` +
          `${stuck.canRollForward ? `; or eni-migrate roll-forward ${progress.workflowId}` : ''}`,
      );
    }
    this.stuckShown = stuckKey;
    if (progress.awaitingApproval && !this.approvalShown) {
      this.approvalShown = true;
      this.write(
        `${this.prefix}⏸ waiting for approval before the irreversible conversion: eni-migrate approve ${progress.workflowId}`,
      );
    }
  }
}
