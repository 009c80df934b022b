/**
 * A batch (migrateFleet): every instance of one VPC, or an explicit set of them, migrated by one child migration each,
 * in a sliding window after a canary, with a failure breaker that pauses. Its input, progress (the `batchProgress`
 * query) and report are a contract like the migration's: JSON field names stay stable, additions are optional.
 */
import type { MigrationInput, Outcome } from './migration';

/** Which of the VPC's instances the batch takes. Every filter given must match. */
export interface FleetSelection {
  /** Only these instances (they must be in the VPC). */
  instanceIds?: string[];
  /** Instances carrying every one of these tags. */
  tags?: Record<string, string>;
  zoneId?: string;
  vSwitchId?: string;
  /** A glob on InstanceName (`*` any run of characters, `?` one), e.g. `web-*`. */
  namePattern?: string;
}

/** The per-migration options every child gets (the rest of MigrationInput comes from discovery). */
export type FleetMigrationOptions = Pick<
  MigrationInput,
  | 'verify'
  | 'verifyTimeoutSeconds'
  | 'keepOnVerifyFailure'
  | 'allowChargeTypeChange'
  | 'allowPayByTraffic'
  | 'guestPrepareScript'
  | 'guestSetup'
  | 'egressCheckScript'
  | 'offlineBudgetSeconds'
  | 'rollbackRetryMaxIntervalSeconds'
>;

/** The most migrations a batch runs at once (its `concurrency`): the workflow, the CLI and the bench read this one. */
export const CONCURRENCY_MAX = 100;

export interface FleetInput {
  regionId: string;
  vpcId: string;
  select?: FleetSelection;
  /** Migrations in flight at once, a sliding window (default 5; at most 100). Changeable while running. */
  concurrency?: number;
  /** The first N instances migrate alone and must verify before the rest start (default 1; 0 for none). */
  canary?: number;
  /**
   * Pause the batch once errors exceed this: a count ("3") or a share of the batch's instances ("10%"), as AWS SSM
   * takes MaxErrors. Default "0": the first error pauses. An error is any instance not verified, migrated or
   * already-migrated.
   */
  maxErrors?: string;
  /** No child starts after this ISO time; the rest end `deferred`. */
  windowEnd?: string;
  /** The same, as seconds after the batch started (what a schedule passes). */
  windowSeconds?: number;
  /** Discover and preflight every instance, change nothing: the plan. */
  dryRun?: boolean;
  /** Show the plan and wait for the `approveBatch` update before the first migration starts. */
  requireApproval?: boolean;
  /** Options for every child migration. */
  migration?: FleetMigrationOptions;
  /**
   * Continue as new once the history holds this many events (default 10,000; the migrations in flight finish
   * first). Tests set it small.
   */
  continueAsNewAfterEvents?: number;
  /** Set by the batch itself when it continues as new: the state so far. Callers leave it out. */
  carried?: FleetCarry;
}

/**
 * What an instance of the batch ended as: a migration's outcome, or `already-migrated` (its EIP is on a secondary ENI
 * already: never started again), `refused` (preflight refused it; nothing changed), `deferred` (the maintenance window
 * closed first), `not-started` (the batch was cancelled before its turn), `no-public-address` (nothing to move).
 */
export type FleetInstanceOutcome =
  Outcome | 'already-migrated' | 'refused' | 'deferred' | 'not-started' | 'no-public-address';

/** Outcomes that count as success: the instance is reached through an EIP on an ENI. */
export const FLEET_SUCCESS: readonly FleetInstanceOutcome[] = ['verified', 'migrated', 'already-migrated'];

/** Outcomes that are neither success nor an error: nothing was attempted. */
export const FLEET_NOT_ATTEMPTED: readonly FleetInstanceOutcome[] = [
  'deferred',
  'not-started',
  'no-public-address',
  'planned',
];

export interface FleetInstance {
  instanceId: string;
  instanceName?: string;
  zoneId?: string;
  vSwitchId?: string;
  /** The address that moves (NAT public IP or EIP), as discovery found it. */
  publicIp?: string;
  /** queued: waiting for its turn; running: its migration is in flight; done: it has an outcome. */
  state: 'queued' | 'running' | 'done';
  /** One of the first `canary` instances. */
  canary?: boolean;
  outcome?: FleetInstanceOutcome;
  /** The child migration's workflow id. */
  workflowId?: string;
  /** While its migration runs: the migration's current step (BatchClient.progress asks each migration). */
  step?: string;
  /** Why it did not succeed, or (dry run) why preflight refuses it. */
  cause?: string;
  /** Dry run: what the migration would do. */
  plan?: string;
  networkInterfaceId?: string;
  allocationId?: string;
  offlineMs?: number;
  apiCalls?: number;
  startedAt?: string;
  durationMs?: number;
}

/**
 * discovering → (planning →) (awaiting-approval →) running ⇄ paused → draining → done. `draining`: no new start
 * (window closed, cancelled, or continuing as new), the migrations in flight finish.
 */
export type FleetState =
  'discovering' | 'planning' | 'awaiting-approval' | 'running' | 'paused' | 'draining' | 'done';

/** Why a batch is paused: an operator asked, the failure breaker tripped, or a canary did not verify. */
export type PauseReason = 'operator' | 'max-errors' | 'canary-failed';

/**
 * How the batch ended: `completed` (every instance succeeded), `completed-with-errors`, `window-closed` (some
 * deferred), `cancelled`, `planned` (a dry run), `refused` (another batch runs for the VPC, or bad input).
 */
export type BatchOutcome =
  'completed' | 'completed-with-errors' | 'window-closed' | 'cancelled' | 'planned' | 'refused';

export interface FleetProgress {
  batchId: string;
  regionId: string;
  vpcId: string;
  state: FleetState;
  pausedBecause?: PauseReason;
  concurrency: number;
  canary: number;
  maxErrors: string;
  /** Errors so far, and the count past which the breaker pauses the batch. */
  errors: number;
  errorThreshold: number;
  windowEnd?: string;
  dryRun: boolean;
  awaitingApproval: boolean;
  /** Instances per outcome so far. */
  counts: Partial<Record<FleetInstanceOutcome, number>>;
  total: number;
  inFlight: number;
  /** Not started yet (queued). */
  remaining: number;
  deferred: number;
  instances: FleetInstance[];
  /** API calls of discovery and of every finished migration. */
  apiCalls: number;
  startedAt: string;
  /** How many times the batch continued as new. */
  continuedAsNew: number;
}

export interface FleetReport extends Omit<FleetProgress, 'state' | 'pausedBecause' | 'awaitingApproval'> {
  outcome: BatchOutcome;
  cause?: string;
  endedAt: string;
  durationMs: number;
}

/** The state a batch hands to its next run when it continues as new. */
export interface FleetCarry {
  batchId: string;
  startedAt: string;
  windowEnd?: string;
  instances: FleetInstance[];
  apiCalls: number;
  concurrency: number;
  errorBase: number;
  canaryDone: boolean;
  paused?: PauseReason;
  approved: boolean;
  continuedAsNew: number;
}

/** One batch per VPC at a time: its workflow id derives from region and VPC. */
export function batchWorkflowId(regionId: string, vpcId: string): string {
  return `eni-fleet/${regionId}/${vpcId}`;
}

/** A schedule of batches for one VPC. */
export function batchScheduleId(regionId: string, vpcId: string): string {
  return `eni-fleet-schedule/${regionId}/${vpcId}`;
}

/**
 * The failure breaker's threshold for `total` instances: "3" → 3, "10%" → 10% of total rounded down. Throws on
 * anything else (the workflow refuses such input before it starts a migration).
 */
export function errorThreshold(maxErrors: string, total: number): number {
  const m = /^(\d+)(%?)$/.exec(maxErrors.trim());
  if (!m) throw new Error(`maxErrors must be a count ("3") or a percentage ("10%"), got "${maxErrors}"`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new Error(`maxErrors percentage must be at most 100%, got "${maxErrors}"`);
    return Math.floor((total * n) / 100);
  }
  return n;
}
