/**
 * The migration's public data: workflow input, progress (the `progress` query) and the final report.
 * Shared by the workflow, the typed client, the CLI and users' scripts; keep it stable (JSON field names are a contract).
 * No secrets here: credentials and SSH keys stay on the worker.
 */

export type StepName =
  | 'preflight'
  | 'convertToEip'
  | 'createEni'
  | 'attachEni'
  | 'prepareGuest'
  | 'unassociateEip'
  | 'associateEipToEni'
  | 'verify';

/** The runbook's steps, in the order they run (and the report lists them). */
export const STEP_ORDER: readonly StepName[] = [
  'preflight',
  'convertToEip',
  'createEni',
  'attachEni',
  'prepareGuest',
  'unassociateEip',
  'associateEipToEni',
  'verify',
];

export type StepState =
  'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'compensating' | 'compensated';

export type Outcome = 'verified' | 'rolled-back' | 'failed' | 'planned';

export interface MigrationInput {
  regionId: string;
  instanceId: string;
  /** Default: the instance's own vSwitch. Must be in the instance's VPC and zone. */
  vSwitchId?: string;
  /** Default: the instance's first security group. Must be in the instance's VPC. */
  securityGroupId?: string;
  /** Optional primary private IP of the new ENI (a free address in the vSwitch CIDR). */
  primaryIpAddress?: string;
  /** Evaluate every precondition and return the plan; no mutating call. */
  dryRun?: boolean;
  /** Wait for the `approve` update before the irreversible step 1. */
  requireApproval?: boolean;
  /** Verify over SSH (default true). A Stopped instance is accepted only with verification off. */
  verify?: boolean;
  /** Keep the migrated state when verification fails (default false: roll back). */
  keepOnVerifyFailure?: boolean;
  /** Switch a PrePaid instance to PostPaid before converting (default false: refuse). */
  allowChargeTypeChange?: boolean;
  /** Command run in the guest over SSH before step 4, to set up policy routing for the new NIC. Empty: skip. */
  guestPrepareCommand?: string;
  /**
   * Command run in the guest over SSH to learn its outbound address: the first IPv4 address of its output must be
   * the SNAT IP after the move (preflight runs it too, to show the egress before). Default
   * EGRESS_CHECK_COMMAND_DEFAULT; outside mainland China e.g. `curl -s https://ifconfig.me`.
   */
  egressCheckCommand?: string;
  /** How long verification may retry, in seconds (default 120). */
  verifyTimeoutSeconds?: number;
}

export interface StepProgress {
  name: StepName;
  state: StepState;
  startedAt?: string;
  durationMs?: number;
  apiCalls: number;
  error?: string;
}

export interface MigrationResources {
  publicIp?: string;
  allocationId?: string;
  networkInterfaceId?: string;
  eniPrivateIp?: string;
  snatIp?: string;
  vpcId?: string;
  vSwitchId?: string;
  securityGroupId?: string;
  hostKeyFingerprint?: string;
}

export interface MigrationProgress {
  workflowId: string;
  instanceId: string;
  regionId: string;
  currentStep: StepName | 'done';
  awaitingApproval: boolean;
  steps: StepProgress[];
  resources: MigrationResources;
  apiCalls: number;
}

/** One precondition of the plan, as evaluated by preflight. */
export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface MigrationReport {
  workflowId: string;
  instanceId: string;
  regionId: string;
  outcome: Outcome;
  /** Why it rolled back or failed. */
  cause?: string;
  /** What is left in the cloud and how to fix it by hand (outcome `failed`). */
  leftovers?: string[];
  /** The old public IP, which is now the EIP's address. */
  publicIp?: string;
  allocationId?: string;
  networkInterfaceId?: string;
  eniPrivateIp?: string;
  snatIp?: string;
  checks: PreflightCheck[];
  steps: StepProgress[];
  apiCalls: number;
  durationMs: number;
}

export const TASK_QUEUE_DEFAULT = 'eni-migration';

/** The runbook's egress check (step 6): an echo service that answers with the caller's address. */
export const EGRESS_CHECK_COMMAND_DEFAULT = 'curl -s -m 10 https://myip.ipip.net';

/** Workflow ids derive from region and instance: one migration per instance at a time. */
export function migrationWorkflowId(regionId: string, instanceId: string): string {
  return `eni-migration/${regionId}/${instanceId}`;
}
