/**
 * Where the CLI writes. stdout carries the result only: with --json exactly one JSON document (also for runtime
 * errors), otherwise the human summary. Progress, hints and diagnostics go to stderr.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { MigrationAlreadyRunningError, MigrationClosedError } from '../client';
import { ConfigError } from '../config';
import { TemporalUnreachableError } from '../temporal/unreachable';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes';

export class Output {
  private printed = false;

  constructor(readonly json: boolean) {}

  /** A line for the human on stderr (progress, hints). */
  info(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** The command's result; printed once. */
  result(human: string, document: unknown): void {
    if (this.printed) throw new Error('result printed twice');
    this.printed = true;
    process.stdout.write(this.json ? `${JSON.stringify(document, null, 2)}\n` : `${human}\n`);
  }

  /** Reports an error: a line on stderr, and with --json the one JSON document (unless a result went out already). */
  error(err: CliError, extra: Record<string, unknown> = {}): void {
    process.stderr.write(`eni-migrate: error: ${err.message}\n`);
    if (this.json && !this.printed) {
      this.printed = true;
      const doc = {
        ...(err.workflowId ? { workflowId: err.workflowId } : {}),
        ...extra,
        error: err.message,
        exitCode: err.exitCode,
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    }
  }
}

/** Maps whatever a command threw to a message and an exit code. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError) return new CliError(err.message, ExitCode.USAGE);
  if (err instanceof TemporalUnreachableError) return new CliError(err.message, ExitCode.UNAVAILABLE);
  if (err instanceof MigrationAlreadyRunningError) {
    return new CliError(err.message, ExitCode.ALREADY_RUNNING, err.workflowId);
  }
  if (err instanceof MigrationClosedError) {
    // Preflight refused the instance, or the workflow its input: like a bad flag, nothing in the cloud changed.
    const code: ExitCodeValue =
      err.status === 'cancelled'
        ? ExitCode.CANCELLED
        : err.failureType === 'PreflightFailed' || err.failureType === 'InvalidInput'
          ? ExitCode.USAGE
          : ExitCode.FAILED;
    return new CliError(err.message, code, err.workflowId);
  }
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(
      `no migration with workflow id ${err.workflowId} (list them with: eni-migrate list)`,
      ExitCode.USAGE,
      err.workflowId,
    );
  }
  return new CliError(err instanceof Error ? err.message : String(err), ExitCode.FAILED);
}

/** Runs a command body, prints its error if any, and returns the exit code. */
export async function runCommand(
  json: boolean,
  body: (out: Output) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  const out = new Output(json);
  try {
    return await body(out);
  } catch (err) {
    const cliError = toCliError(err);
    out.error(cliError);
    return cliError.exitCode;
  }
}
