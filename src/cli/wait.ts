/** Waiting for a migration in the CLI: progress lines on stderr, Ctrl-C leaves the migration running. */
import type { MigrationClient } from '../client';
import type { MigrationReport } from '../shared/migration';
import { CliError, ExitCode } from './exit-codes';
import type { Output } from './output';
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
