import type { MigrationReport, Outcome } from '../shared/migration';

/**
 * The CLI's exit codes, one meaning each, so scripts can branch on them (documented in `eni-migrate --help`).
 */
export const ExitCode = {
  /** Verified, plan printed (dry run), started (without --wait), or the command did what was asked. */
  OK: 0,
  /** The migration failed: resources may be left (the report lists them and how to fix them), or the command failed. */
  FAILED: 1,
  /** Bad input: a malformed flag or variable, or preflight refused the instance. Nothing in the cloud changed. */
  USAGE: 2,
  /** The migration rolled back: the instance is as after step 1 (its public IP is now an EIP on it). */
  ROLLED_BACK: 3,
  /** The migration was cancelled (its compensations ran). */
  CANCELLED: 4,
  /** Temporal could not be reached (nothing was started). */
  UNAVAILABLE: 5,
  /** A migration of this instance is already running (use --attach or status). */
  ALREADY_RUNNING: 6,
  /** Interrupted by Ctrl-C; a started migration keeps running in Temporal. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForOutcome(outcome: Outcome): ExitCodeValue {
  switch (outcome) {
    case 'verified':
    case 'planned':
      return ExitCode.OK;
    case 'rolled-back':
      return ExitCode.ROLLED_BACK;
    case 'failed':
      return ExitCode.FAILED;
  }
}

/** A cancelled migration rolls back and reports so: cancellation gets its own code. */
export function exitCodeForReport(report: Pick<MigrationReport, 'outcome' | 'cause'>): ExitCodeValue {
  if (report.outcome === 'rolled-back' && report.cause === 'cancelled') return ExitCode.CANCELLED;
  return exitCodeForOutcome(report.outcome);
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    verified, plan printed (--dry-run), started (without --wait), or done
  1    failed: the report lists what is left in the cloud and how to fix it
  2    bad input (flag, variable, or preflight refused it): nothing changed
  3    rolled back: the instance keeps its public IP as an EIP, no ENI left
  4    cancelled: rolled back like 3
  5    Temporal unreachable (check TEMPORAL_ADDRESS)
  6    a migration of this instance is already running (use --attach or status)
  130  interrupted (Ctrl-C); a started migration keeps running in Temporal`;

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
