/** Waiting for a migration in the CLI: progress lines on stderr, Ctrl-C leaves the migration running. */
import type { MigrationClient, Started } from '../client';
import type { MigrationReport } from '../shared/migration';
import { CliError, ExitCode, exitCodeForReport, type ExitCodeValue } from './exit-codes';
import { toCliError, type Output } from './output';
import { formatReport } from './report';
import { ProgressPrinter } from './progress';

export async function waitForReport(
  client: MigrationClient,
  workflowId: string,
  out: Output,
  progressIntervalMs = 1000,
): Promise<MigrationReport> {
  const printer = new ProgressPrinter((line) => out.info(line));
  const interrupted = new AbortController();
  let hinted = false;
  let onSigint: () => void = () => undefined;
  const interruption = new Promise<never>((_, reject) => {
    onSigint = () => {
      interrupted.abort();
      reject(
        new CliError(
          `interrupted; the migration keeps running in Temporal: eni-migrate status ${workflowId}`,
          ExitCode.INTERRUPTED,
          workflowId,
        ),
      );
    };
  });
  process.once('SIGINT', onSigint);
  try {
    return await Promise.race([
      client.result(workflowId, {
        onProgress: (progress) => printer.update(progress),
        progressIntervalMs,
        onProgressUnavailable: () => {
          if (hinted) return;
          hinted = true;
          out.info(
            `  (no answer from the workflow yet: is a worker polling task queue ${queueOf(client, workflowId)}? ` +
              'start one with `eni-migrate worker`; waiting)',
          );
        },
        signal: interrupted.signal,
      }),
      interruption,
    ]);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The queue the migration runs on: its workflow id (eni-migration/<region>/<instance>) names the region. */
function queueOf(client: MigrationClient, workflowId: string): string {
  const regionId = /^eni-migration\/([^/]+)\//.exec(workflowId)?.[1];
  return regionId ? client.taskQueueFor(regionId) : `${client.taskQueue}-<region>`;
}

/**
 * What `migrate` and `revert` do once the workflow started: print its id and return (without --wait), or follow it to
 * its report. An error keeps the workflow id, so a script can follow up.
 */
export async function reportOrStarted(
  client: MigrationClient,
  started: Started,
  out: Output,
  wait: boolean,
): Promise<ExitCodeValue> {
  const { workflowId } = started;
  if (!wait) {
    out.result(`${workflowId}\nfollow it with: eni-migrate status ${workflowId}`, started);
    return ExitCode.OK;
  }
  try {
    const report = await waitForReport(client, workflowId, out);
    out.result(formatReport(report), { ...started, report });
    return exitCodeForReport(report);
  } catch (err) {
    const cliError = toCliError(err);
    throw new CliError(cliError.message, cliError.exitCode, cliError.workflowId ?? workflowId);
  }
}
