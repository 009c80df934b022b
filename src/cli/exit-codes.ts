import type { BatchOutcome, FleetInstanceOutcome } from '../shared/fleet';
import type { MigrationReport, Outcome } from '../shared/migration';

/**
 * The CLI's exit codes, one meaning each, so scripts can branch on them (documented in `eni-migrate --help`).
 */
export const ExitCode = {
  /**
   * Verified, migrated with verification off, a dry run whose checks all pass, started (without --wait), or the
   * command did what was asked.
   */
  OK: 0,
  /** The migration failed: resources may be left (the report lists them and how to fix them), or the command failed. */
  FAILED: 1,
  /**
   * Bad input: a malformed flag or variable, or preflight refused the instance (also in a dry run, so that
   * `migrate --dry-run && migrate` stops there). Nothing in the cloud changed.
   */
  USAGE: 2,
  /**
   * The migration rolled back: no ENI is left; if step 1 ran, the instance keeps its public IP as an EIP on it,
   * otherwise it is untouched.
   */
  ROLLED_BACK: 3,
  /** The migration was cancelled (its compensations ran). */
  CANCELLED: 4,
  /** Temporal could not be reached (nothing was started). */
  UNAVAILABLE: 5,
  /** A migration of this instance (or a batch of this VPC, or its schedule) is already running / exists. */
  ALREADY_RUNNING: 6,
  /**
   * Rolled forward: going back was impossible (or an operator chose so), so the EIP is on the new ENI, unverified;
   * the report says why.
   */
  ROLLED_FORWARD: 7,
  /**
   * A batch did not finish: the maintenance window closed with instances deferred, or it is paused (by the failure
   * breaker, a canary that did not verify, or an operator) and waits for resume or cancel.
   */
  NOT_FINISHED: 8,
  /** Interrupted by Ctrl-C; a started migration keeps running in Temporal. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForOutcome(outcome: Outcome): ExitCodeValue {
  switch (outcome) {
    case 'verified':
    case 'migrated':
    case 'reverted':
    case 'planned':
    case 'already-migrated':
      return ExitCode.OK;
    case 'rolled-back':
      return ExitCode.ROLLED_BACK;
    case 'rolled-forward':
      return ExitCode.ROLLED_FORWARD;
    case 'failed':
      return ExitCode.FAILED;
  }
}

/**
 * A cancelled migration rolls back and reports so: cancellation gets its own code. A dry run whose checks fail is
 * refused like preflight would refuse the migration, so a script does not go on to the real run.
 */
export function exitCodeForReport(
  report: Pick<MigrationReport, 'outcome' | 'cause'> & { checks?: MigrationReport['checks'] },
): ExitCodeValue {
  if (report.outcome === 'rolled-back' && report.cause === 'cancelled') return ExitCode.CANCELLED;
  if (report.outcome === 'planned' && report.checks?.some((c) => !c.ok)) return ExitCode.USAGE;
  return exitCodeForOutcome(report.outcome);
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    verified, migrated (--no-verify), already migrated (the EIP is on an ENI: nothing to do), reverted,
       --dry-run with every check passed, started, or done
  1    failed: the report lists what is left in the cloud and how to fix it
  2    bad input (flag, variable, or preflight refused it, --dry-run too): nothing changed
  3    rolled back to where the command started: a migration's address back on the instance (an EIP if
       step 1 ran), no ENI left; a revert's EIP back on the ENI
  4    cancelled: rolled back like 3
  5    Temporal unreachable (check TEMPORAL_ADDRESS)
  6    a migration or revert of this instance (use --attach or status), or a batch of this VPC, is already running
  7    rolled forward: going back was impossible (or an operator chose so); the EIP is at its other home, unverified
  8    a batch did not finish: the maintenance window deferred some instances, or it is paused
  130  interrupted (Ctrl-C); a started migration keeps running in Temporal`;

/** The exit codes of the commands that do not wait for a report (status, approve, retry-rollback, …). */
export const COMMAND_EXIT_CODES_HELP = `
Exit codes:
  0    done
  1    the migration refused it (e.g. nothing is stuck, or it has ended): the message says why
  2    bad input, or no migration with that id
  5    Temporal unreachable (check TEMPORAL_ADDRESS)`;

/** An error the CLI reports as one line on stderr (and in the JSON document with --json), with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly workflowId?: string,
  ) {
    super(message);
  }
}

/** What a batch's exit code is computed from: its report, or (paused, not ended) its progress. */
export interface BatchResultLike {
  /** Absent while the batch has not ended (paused). */
  outcome?: BatchOutcome;
  /** Why it was refused (outcome `refused`). */
  cause?: string;
  dryRun: boolean;
  counts: Partial<Record<FleetInstanceOutcome, number>>;
}

/** When several codes apply (several VPCs, or several kinds of trouble in one batch), the first of these wins. */
export const BATCH_EXIT_PRECEDENCE: readonly ExitCodeValue[] = [
  ExitCode.INTERRUPTED,
  ExitCode.FAILED,
  ExitCode.UNAVAILABLE,
  ExitCode.CANCELLED,
  ExitCode.ROLLED_FORWARD,
  ExitCode.ROLLED_BACK,
  ExitCode.ALREADY_RUNNING,
  ExitCode.USAGE,
  ExitCode.NOT_FINISHED,
  ExitCode.OK,
];

/**
 * A batch's exit code: 0 when every instance is verified, migrated or already-migrated (or had nothing to move); a dry
 * run refusing some instance is 2, like `migrate --dry-run`, so `batch start --dry-run && batch start` stops there.
 */
export function exitCodeForBatch(b: BatchResultLike): ExitCodeValue {
  const n = (o: FleetInstanceOutcome) => b.counts[o] ?? 0;
  // The batch refused to start: another batch of the VPC runs (a scheduled run met one started by hand, say), or its
  // VPC and filters hold no instance at all (a typo in the id, a filter that matches nothing): bad input.
  if (b.outcome === 'refused') {
    return /^another batch is running/.test(b.cause ?? '') ? ExitCode.ALREADY_RUNNING : ExitCode.USAGE;
  }
  if (b.dryRun) return n('refused') ? ExitCode.USAGE : ExitCode.OK;
  if (n('failed')) return ExitCode.FAILED;
  // Paused, not ended: what the operator must do next (resume or cancel) matters more than what went wrong so far.
  if (b.outcome === undefined) return ExitCode.NOT_FINISHED;
  if (b.outcome === 'cancelled') return ExitCode.CANCELLED;
  if (n('rolled-forward')) return ExitCode.ROLLED_FORWARD;
  if (n('rolled-back') || n('refused')) return ExitCode.ROLLED_BACK;
  if (n('deferred') || n('not-started')) return ExitCode.NOT_FINISHED;
  return ExitCode.OK;
}

/** The most serious of several codes, by BATCH_EXIT_PRECEDENCE. */
export function worstExitCode(codes: readonly ExitCodeValue[]): ExitCodeValue {
  return BATCH_EXIT_PRECEDENCE.find((c) => codes.includes(c)) ?? ExitCode.OK;
}

/** The exit codes of the batch commands that follow a batch to its end (`batch start --wait`, `--dry-run`...). */
export const BATCH_EXIT_CODES_HELP = `
Exit codes:
  0    every instance verified, migrated or already-migrated (or with nothing to move); a --dry-run plan that
       refuses none; or started (without --wait)
  1    some instance failed: its report lists what is left in the cloud and how to fix it
  2    bad input (nothing started), or the --dry-run plan refuses some instance
  3    some instance rolled back, or was refused (preflight, not in the VPC, being migrated already)
  4    the batch was cancelled: in-flight migrations rolled back, finished ones stay migrated
  5    Temporal unreachable (check TEMPORAL_ADDRESS)
  6    a batch of this VPC is already running (follow it: batch status <batch-id> --wait)
  7    some instance rolled forward: the EIP on its new ENI, unverified
  8    not finished: the maintenance window deferred some instances (the next run takes them), or the batch is
       paused (breaker, canary, operator): batch resume <batch-id>, or batch cancel <batch-id>
  130  interrupted (Ctrl-C); the batch keeps running in Temporal
  A paused batch is 8 (1 if some instance failed); otherwise, when several apply (several VPCs, say), the first
  of 130, 1, 5, 4, 7, 3, 6, 2, 8.`;

/** The exit codes of the batch and schedule commands that act and return (pause, resume, create, trigger…). */
export const BATCH_COMMAND_EXIT_CODES_HELP = `
Exit codes:
  0    done
  1    refused (e.g. resume of a batch that is not paused, or one that has ended): the message says why
  2    bad input, or no batch / schedule with that id
  5    Temporal unreachable (check TEMPORAL_ADDRESS)
  6    (schedule create) the VPC has a schedule already`;
