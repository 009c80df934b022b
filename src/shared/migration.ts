/**
 * The migration's public data: workflow input, progress (the `progress` query) and the final report.
 * Shared by the workflow, the typed client, the CLI and users' scripts; keep it stable (JSON field names are a contract).
 * No secrets here: credentials and SSH keys stay on the worker.
 */
import type { VpcShared } from '../cloud/vpc';

export type StepName =
  | 'preflight'
  | 'convertToEip'
  | 'createEni'
  | 'attachEni'
  | 'prepareGuest'
  | 'unassociateEip'
  | 'associateEipToEni'
  | 'verify'
  // The way back (revertInstance):
  | 'unassociateEipFromEni'
  | 'associateEipToInstance'
  | 'detachEni'
  | 'deleteEni';

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

/** The way back's steps (revertInstance), in the order they run. */
export const REVERT_STEP_ORDER: readonly StepName[] = [
  'preflight',
  'unassociateEipFromEni',
  'associateEipToInstance',
  'verify',
  'detachEni',
  'deleteEni',
];

export type StepState =
  'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'compensating' | 'compensated';

/**
 * verified: moved and verified. migrated: moved, verification skipped (off, or the instance is Stopped).
 * rolled-back: back on the instance (cause `cancelled` when cancelled). rolled-forward: the way back was impossible
 * (or an operator chose so), so the EIP is on the new ENI, unverified. failed: resources left, see `leftovers`.
 * planned: a dry run. reverted: the way back (revertInstance) is done: the EIP is on the instance, the ENI gone.
 */
export type Outcome =
  | 'verified'
  | 'migrated'
  | 'reverted'
  | 'rolled-back'
  | 'rolled-forward'
  | 'failed'
  | 'planned'
  /** The EIP was on a NAT-mode ENI already (a previous run finished): nothing changed, nothing to do. From 0.5. */
  | 'already-migrated';

export interface MigrationInput {
  regionId: string;
  instanceId: string;
  /** Default: the instance's own vSwitch. Must be in the instance's VPC and zone. */
  vSwitchId?: string;
  /**
   * The one security group the new ENI joins. Default: every group of the instance (from 0.5; before, its first).
   * Must be in the instance's VPC.
   */
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
  /**
   * Switch a PrePaid instance to PostPaid before converting (default false). From 0.5 only needed for a subscription
   * instance that cannot convert as it is (billed by fixed bandwidth, or expiring within 24 hours).
   */
  allowChargeTypeChange?: boolean;
  /**
   * Switch the bandwidth billing of a PrePaid instance billed by fixed bandwidth to pay-by-traffic
   * (ModifyInstanceNetworkSpec) before converting (default false: refuse it). From 0.5.
   */
  allowPayByTraffic?: boolean;
  /**
   * Name of a guest script (defined in the worker's configuration, see docs/configuration.md) run over SSH before
   * step 4, to set up the guest for the new NIC. Absent: skip. Never shell text: a caller names, the worker defines.
   */
  guestPrepareScript?: string;
  /**
   * How the guest is set up for its new NIC after step 3: `cloud-assistant` runs a guest script in the instance through
   * Cloud Assistant (the one `guestPrepareScript` names, else the built-in one for its OS; preflight refuses an instance
   * without a running agent); `ssh` runs `guestPrepareScript` over SSH; `none` skips. Absent: `ssh` when
   * `guestPrepareScript` is given, else `none` (release 0.4's behaviour; the CLI's default is `cloud-assistant`).
   */
  guestSetup?: GuestSetup;
  /**
   * Name of the guest script whose answer is the instance's outbound IPv4 address (preflight shows the egress before
   * the move; verification expects the SNAT IP). Default EGRESS_CHECK_SCRIPT_DEFAULT.
   */
  egressCheckScript?: string;
  /** How long verification may retry, in seconds (default 120). */
  verifyTimeoutSeconds?: number;
  /**
   * Bounds step 5 by the time since step 4 began, in seconds (default 300, at least 1): past it the workflow stops
   * waiting for step 5 and binds the EIP back to the instance. The report's `offlineMs` measures the whole window.
   */
  offlineBudgetSeconds?: number;
  /**
   * A rollback step that cannot make progress is retried in rounds while the EIP has no home, the waits doubling up
   * to this cap, in seconds (default 300, at least 1); after a day or 200 rounds, rounds come at most hourly. An
   * operator can ask for a round at once (`retryRollback`).
   */
  rollbackRetryMaxIntervalSeconds?: number;
  /**
   * Set by a batch (migrateFleet): its one reading of the VPC's vSwitches and NAT gateways, which preflight uses instead
   * of reading them again for every instance.
   */
  vpcShared?: VpcShared;
}

/** How the guest is set up for its new NIC after step 3 (input `guestSetup`). */
export type GuestSetup = 'cloud-assistant' | 'ssh' | 'none';

/**
 * The guest route a migration takes: `guestSetup` as given, else release 0.4's meaning (`ssh` when a
 * `guestPrepareScript` is named, else `none`); `ssh` without a script has nothing to run. The workflow and the static
 * details (src/shared/summaries.ts) both ask this, so the Web UI shows the step the workflow runs.
 */
export function guestSetupRoute(
  input: Pick<MigrationInput, 'guestSetup' | 'guestPrepareScript'>,
): GuestSetup {
  if (input.guestSetup === 'cloud-assistant') return 'cloud-assistant';
  return input.guestPrepareScript && input.guestSetup !== 'none' ? 'ssh' : 'none';
}

/**
 * The way back for an instance migrated earlier (revertInstance): the EIP from the ENI back onto the instance, then the
 * ENI (only one this project created) detached and deleted. Same workflow id as the migration: one at a time.
 */
export interface RevertInput {
  regionId: string;
  instanceId: string;
  /** Verify over SSH (default true): the same host answers on the address once it is back on the instance. */
  verify?: boolean;
  /** How long verification may retry, in seconds (default 120). */
  verifyTimeoutSeconds?: number;
  /** Name of the egress check guest script (default EGRESS_CHECK_SCRIPT_DEFAULT). */
  egressCheckScript?: string;
  /** As in MigrationInput, for step 2 (the bind to the instance), counted from step 1. */
  offlineBudgetSeconds?: number;
  /** As in MigrationInput. */
  rollbackRetryMaxIntervalSeconds?: number;
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

/** A rollback step that keeps failing: what the operator sees (progress, and MigrationStep `rollback-stuck:<step>`). */
export interface RollbackStuck {
  step: StepName;
  /** The compensation, e.g. "bind the EIP back to the instance". */
  action: string;
  /** ISO time of the first failed round. */
  since: string;
  rounds: number;
  lastError: string;
  /** What to fix, when the error says (e.g. the RAM permission). */
  fix?: string;
  /**
   * ISO time of the next round (a `retryRollback` update starts it at once). Absent once the history is so long that
   * rounds come only when an operator asks.
   */
  nextRetryAt?: string;
  /** `rollForward` is possible: the EIP can go back onto the new ENI instead. */
  canRollForward: boolean;
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
  /** Set while a rollback step keeps failing. */
  rollbackStuck?: RollbackStuck;
  /** Time without a public address so far (steps 4–5, and their rollback). */
  offlineMs?: number;
}

/**
 * Whether step 1 turned the NAT public IP into an EIP (billed apart, and never undone): `yes`, `no` (not needed or
 * not reached), or `unknown` when its call failed in a way that leaves it open.
 */
export type EipConversion = 'yes' | 'no' | 'unknown';

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
  /** Step 1's effect; absent in reports of release 0.1. */
  eipConverted?: EipConversion;
  /** The guest step through Cloud Assistant: the script, its invocation, status, exit code and an output excerpt. */
  guestSetup?: {
    via: 'cloud-assistant';
    script: string;
    invokeId: string;
    status: string;
    exitCode: number;
    output: string;
  };
  /** How long the instance had no public address (from step 4 until the EIP was bound again); absent if step 4 never ran. */
  offlineMs?: number;
  /** Why verification (step 6) did not run, when it did not: outcome `migrated`. */
  verificationSkipped?: string;
  /** Why the EIP went onto the ENI instead of back to the instance: outcome `rolled-forward`. */
  rolledForward?: string;
}

export const TASK_QUEUE_DEFAULT = 'eni-migration';

/** The failure type of a migration that left resources behind: its first detail is the MigrationReport. */
export const MIGRATION_FAILED = 'MigrationFailed';

/** The built-in guest script of the runbook's egress check (step 6). */
export const EGRESS_CHECK_SCRIPT_DEFAULT = 'egress-check';

/** Workflow ids derive from region and instance: one migration per instance at a time. */
export function migrationWorkflowId(regionId: string, instanceId: string): string {
  return `eni-migration/${regionId}/${instanceId}`;
}
