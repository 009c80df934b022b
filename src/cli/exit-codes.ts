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
  /** A migration of this instance is already running (use --attach or status). */
  ALREADY_RUNNING: 6,
  /**
   * Rolled forward: going back was impossible (or an operator chose so), so the EIP is on the new ENI, unverified;
   * the report says why.
   */
  ROLLED_FORWARD: 7,
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
  0    verified, migrated (--no-verify), reverted, --dry-run with every check passed, started, or done
  1    failed: the report lists what is left in the cloud and how to fix it
  2    bad input (flag, variable, or preflight refused it, --dry-run too): nothing changed
  3    rolled back to where the command started: a migration's address back on the instance (an EIP if
       step 1 ran), no ENI left; a revert's EIP back on the ENI
  4    cancelled: rolled back like 3
  5    Temporal unreachable (check TEMPORAL_ADDRESS)
  6    a migration or revert of this instance is already running (use --attach or status)
  7    rolled forward: going back was impossible (or an operator chose so); the EIP is at its other home, unverified
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
