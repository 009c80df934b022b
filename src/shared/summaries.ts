/**
 * What the Temporal Web UI shows of a migration or a revert before it runs: the one-line static summary (the workflow
 * page's User Metadata, and the label of a batch's child in the batch's timeline) and the static details (Markdown:
 * where, with which options, the runbook's steps). Also the steps' labels and numbers, which the live current details
 * use (MigrationTracker).
 *
 * Pure functions of the input: the typed client (MigrationClient) and the batch workflow (for its children) share
 * them, so a migration reads the same in the Web UI however it was started.
 */
import {
  EGRESS_CHECK_SCRIPT_DEFAULT,
  guestSetupRoute,
  REVERT_STEP_ORDER,
  STEP_ORDER,
  type GuestSetup,
  type MigrationInput,
  type RevertInput,
  type StepName,
} from './migration';

/**
 * The workflows' defaults, as the details state them (src/workflows/limits.ts and the verify steps hold the values that
 * apply; an operator reading the details should not have to know them).
 */
const VERIFY_TIMEOUT_SECONDS_DEFAULT = 120;
const OFFLINE_BUDGET_SECONDS_DEFAULT = 300;
const ROLLBACK_RETRY_MAX_SECONDS_DEFAULT = 300;

export type WorkflowKind = 'migration' | 'revert';

/** The runbook's wording of each step: the Web UI then reads as the runbook, not as function names. */
const MIGRATION_STEPS: Partial<Record<StepName, string>> = {
  preflight:
    'Preflight: read-only checks (instance, vSwitch, security group, ENI slot, SNAT entry, billing, SSH)',
  convertToEip: 'Convert the NAT public IP to an EIP (irreversible)',
  createEni: 'Create a secondary ENI in the instance’s vSwitch',
  attachEni: 'Attach the ENI to the instance',
  prepareGuest: 'Prepare the guest for the new NIC (guest script)',
  unassociateEip: 'Unbind the EIP from the instance (no public address from here)',
  associateEipToEni: 'Bind the EIP to the ENI in NAT mode (reachable again)',
  verify: 'Verify: SSH through the EIP reaches the same host, egress leaves through the SNAT IP',
};

const REVERT_STEPS: Partial<Record<StepName, string>> = {
  preflight:
    'Preflight: read-only checks (the EIP on a secondary ENI this project made, no other public address, SSH)',
  unassociateEipFromEni: 'Unbind the EIP from the ENI (no public address from here)',
  associateEipToInstance: 'Bind the EIP back to the instance (reachable again)',
  verify: 'Verify: SSH on the address reaches the same host',
  detachEni: 'Detach the ENI from the instance',
  deleteEni: 'Delete the ENI',
};

/** The runbook's wording of a step (the step's name when it has none). */
export function stepLabel(step: StepName, kind: WorkflowKind): string {
  return (kind === 'revert' ? REVERT_STEPS : MIGRATION_STEPS)[step] ?? step;
}

/**
 * The step's number as docs/architecture.md numbers the runbook (0 preflight … 6 verify; the way back 0 … 5), or
 * `before 4` for preparing the guest, which the runbook does not number.
 */
export function stepNumber(step: StepName, kind: WorkflowKind): string {
  if (kind === 'migration' && step === 'prepareGuest') return 'before 4';
  const order: readonly StepName[] = (kind === 'revert' ? REVERT_STEP_ORDER : STEP_ORDER).filter(
    (s) => s !== 'prepareGuest',
  );
  const n = order.indexOf(step);
  return n < 0 ? '' : String(n);
}

/**
 * One step of the runbook as a Markdown list item. Not an ordered list: the Web UI's Markdown numbers those from 1,
 * and the runbook starts at 0.
 */
function stepItem(step: StepName, kind: WorkflowKind, how = ''): string {
  return `- **${stepNumber(step, kind)}.** ${stepLabel(step, kind)}${how}`;
}

/** How the guest step runs, after its label (the route as the workflow takes it: guestSetupRoute; SSH as in 0.4). */
const GUEST_ROUTE: Record<GuestSetup, string> = {
  'cloud-assistant': ', run by Cloud Assistant in the instance',
  ssh: '',
  none: '',
};

/** The guest step among the options: which script, which route; nothing when the migration skips it. */
function guestOption(input: MigrationInput): string | undefined {
  switch (guestSetupRoute(input)) {
    case 'cloud-assistant':
      return `guest set-up after step 3 through Cloud Assistant (${input.guestPrepareScript ? `script \`${input.guestPrepareScript}\`` : "the built-in script for the instance's OS"})`;
    case 'ssh':
      // Release 0.4's wording, kept: a batch's recorded children carry it.
      return `guest script \`${input.guestPrepareScript}\` before step 4`;
    default:
      return undefined;
  }
}

/** What the caller knows about the instance beyond the input (from discovery, or from an earlier look). */
export interface KnownInstance {
  /** The address that moves (NAT public IP or EIP). */
  publicIp?: string;
  instanceName?: string;
  vpcId?: string;
  /** The batch (migrateFleet workflow id) that started this migration. */
  batchId?: string;
}

/** One line, e.g. `Migrate i-bp1… (web-01): 203.0.113.10 onto a secondary ENI`. */
export function migrationSummary(
  input: Pick<MigrationInput, 'instanceId' | 'dryRun'>,
  known: KnownInstance = {},
): string {
  const what = `${instanceLabel(input.instanceId, known)}: ${known.publicIp ?? 'its public IP'} onto a secondary ENI`;
  return input.dryRun ? `Plan: migrate ${what} (dry run, no change)` : `Migrate ${what}`;
}

/** One line, e.g. `Revert i-bp1…: 203.0.113.10 back onto the instance, its ENI deleted`. */
export function revertSummary(input: Pick<RevertInput, 'instanceId'>, known: KnownInstance = {}): string {
  return `Revert ${instanceLabel(input.instanceId, known)}: ${known.publicIp ?? 'its EIP'} back onto the instance, its ENI deleted`;
}

/** Markdown: where, the options, the runbook's steps and what happens on failure. */
export function migrationDetails(input: MigrationInput, known: KnownInstance = {}): string {
  const verify = input.verify ?? true;
  const options = [
    verify
      ? `verification on (up to ${input.verifyTimeoutSeconds ?? VERIFY_TIMEOUT_SECONDS_DEFAULT} s; ` +
        `egress check \`${input.egressCheckScript ?? EGRESS_CHECK_SCRIPT_DEFAULT}\`` +
        (input.keepOnVerifyFailure ? '; kept if verification fails' : '; rolled back if it fails') +
        ')'
      : 'verification off',
    `offline budget ${input.offlineBudgetSeconds ?? OFFLINE_BUDGET_SECONDS_DEFAULT} s`,
    `stuck rollback rounds at most every ${input.rollbackRetryMaxIntervalSeconds ?? ROLLBACK_RETRY_MAX_SECONDS_DEFAULT} s`,
    input.allowChargeTypeChange
      ? 'a PrePaid instance is switched to PostPaid'
      : input.allowPayByTraffic
        ? 'a PrePaid instance billed by fixed bandwidth is switched to pay-by-traffic'
        : 'a PrePaid instance is refused', // (by fixed bandwidth; 0.4's wording kept, as in recorded batch children)
    guestOption(input),
    input.vSwitchId ? `ENI in ${input.vSwitchId}` : undefined,
    input.securityGroupId ? `ENI in security group ${input.securityGroupId}` : undefined,
    input.primaryIpAddress ? `ENI address ${input.primaryIpAddress}` : undefined,
  ].filter(Boolean);
  const guest = guestSetupRoute(input);
  const steps = STEP_ORDER.filter((s) => s !== 'prepareGuest' || guest !== 'none');
  return [
    where(input, known),
    input.dryRun
      ? '**Dry run**: preflight only, the plan in the report; nothing changes.'
      : input.requireApproval
        ? '**Waits for approval** (`eni-migrate approve`) after preflight, before the irreversible step 1.'
        : undefined,
    `Options: ${options.join('; ')}.`,
    `The runbook:\n\n${steps.map((s) => stepItem(s, 'migration', s === 'prepareGuest' ? GUEST_ROUTE[guest] : '')).join('\n')}`,
    'On a failure or a cancel, the steps done are undone in reverse (the conversion to an EIP stays); the EIP is ' +
      'never left without a home. The current details show the live progress.',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** Markdown: where, the options, the way back's steps. */
export function revertDetails(input: RevertInput, known: KnownInstance = {}): string {
  const verify = input.verify ?? true;
  const options = [
    verify
      ? `verification on (up to ${input.verifyTimeoutSeconds ?? VERIFY_TIMEOUT_SECONDS_DEFAULT} s)`
      : 'verification off',
    `offline budget ${input.offlineBudgetSeconds ?? OFFLINE_BUDGET_SECONDS_DEFAULT} s`,
    `stuck rollback rounds at most every ${input.rollbackRetryMaxIntervalSeconds ?? ROLLBACK_RETRY_MAX_SECONDS_DEFAULT} s`,
  ];
  return [
    where(input, known),
    `Options: ${options.join('; ')}.`,
    `The way back:\n\n${REVERT_STEP_ORDER.map((s) => stepItem(s, 'revert')).join('\n')}`,
    'Until the EIP is home on the instance, a failure puts it back on the ENI. The current details show the live ' +
      'progress.',
  ].join('\n\n');
}

/**
 * ECS names run to 128 characters: cut to 40 (by code point), so the one-line summary stays short and well under the
 * server's cap on a summary (400 bytes, serialized and encrypted).
 */
function instanceLabel(instanceId: string, known: KnownInstance): string {
  if (!known.instanceName) return instanceId;
  const name = [...known.instanceName];
  return `${instanceId} (${name.length > 40 ? `${name.slice(0, 39).join('')}…` : known.instanceName})`;
}

function where(input: { instanceId: string; regionId: string }, known: KnownInstance): string {
  return [
    `Instance **${instanceLabel(input.instanceId, known)}** in ${input.regionId}`,
    known.vpcId ? `, VPC ${known.vpcId}` : '',
    known.publicIp ? `, public IP ${known.publicIp}` : '',
    known.batchId ? `; started by batch ${known.batchId}` : '',
    '.',
  ].join('');
}
