/**
 * Following batches to their end in the CLI (`batch start --wait`, `status --wait`, `cancel --wait`, the demo):
 * progress on stderr, the report (or, for a batch that paused, its progress) as the result. Ctrl-C leaves the batches
 * running.
 */
import type { MigrationClient } from '../../client';
import { BatchClient } from '../../client/batches';
import type { FleetProgress, FleetReport } from '../../shared/fleet';
import { CliError, ExitCode, exitCodeForBatch, type ExitCodeValue } from '../exit-codes';
import { formatDuration } from '../progress';
import type { BatchProgressView } from './progress-view';
import { toBatchCliError } from './common';

/** One batch as `batch start` and the follow-up commands print it (`--json`: one entry of `batches`). */
export interface BatchEntry {
  batchId: string;
  runId?: string;
  regionId?: string;
  vpcId?: string;
  /** The batch ended: its report (per instance: `instanceId`, `outcome`…). */
  report?: FleetReport;
  /** It did not end but stopped for an operator (paused): where it is. */
  progress?: FleetProgress;
  /** It could not be started or followed. */
  error?: string;
  exitCode: ExitCodeValue;
}

export interface FollowOptions {
  /** Progress polls (default 1 s). */
  intervalMs?: number;
  /** Aborted: stop following (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Follows one batch until it ends, or until it is paused with nothing in flight (it then waits for an operator: the
 * entry carries its progress and exit code 8).
 */
export async function followBatch(
  client: MigrationClient,
  entry: BatchEntry,
  view: BatchProgressView,
  opts: FollowOptions = {},
): Promise<BatchEntry> {
  const { batchId } = entry;
  const batches = new BatchClient(client);
  const interval = opts.intervalMs ?? 1000;
  // Every call of this follow-up ends with it: a long poll left behind would be retried on a connection closed meanwhile
  // (the demo closes its own), and that retry throws outside any caller.
  const calls = new AbortController();
  const onAbort = () => calls.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // A signal of its own per call, tied to the follow-up's: one long-lived signal would gather a listener per poll.
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    const one = new AbortController();
    const stop = () => one.abort();
    if (calls.signal.aborted) stop();
    calls.signal.addEventListener('abort', stop, { once: true });
    try {
      return await client.client.connection.withAbortSignal(one.signal, fn);
    } finally {
      calls.signal.removeEventListener('abort', stop);
    }
  };
  let settled: { report: FleetReport } | { error: unknown } | undefined;
  const done = call(() => batches.result(batchId)).then(
    (report) => (settled = { report }),
    (error: unknown) => (settled = { error }),
  );
  let hinted = false;
  try {
    while (!settled && !opts.signal?.aborted) {
      try {
        const progress = await call(() => batches.progress(batchId, Math.max(interval * 5, 5000)));
        if (settled) break;
        view.update(progress);
        if (progress.state === 'paused' && progress.inFlight === 0) {
          return { ...entry, progress, exitCode: exitCodeForBatch({ ...progress, outcome: undefined }) };
        }
      } catch {
        if (!settled && !hinted && !opts.signal?.aborted) {
          hinted = true;
          view.note(
            `  (no answer from ${batchId} yet: is a worker polling its region's task queue? start one with \`eni-migrate worker\`; waiting)`,
          );
        }
      }
      await Promise.race([done, delay(interval, opts.signal)]);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!settled) calls.abort();
  }
  if (opts.signal?.aborted || !settled) throw interrupted(batchId);
  if ('report' in settled) {
    view.finish(settled.report);
    return { ...entry, report: settled.report, exitCode: exitCodeForBatch(settled.report) };
  }
  const error = toBatchCliError(settled.error);
  view.note(`eni-migrate: error: ${error.message}`);
  return { ...entry, error: error.message, exitCode: error.exitCode };
}

/** Follows several batches side by side; Ctrl-C stops following (exit 130) and leaves them running. */
export async function followBatches(
  client: MigrationClient,
  entries: BatchEntry[],
  view: BatchProgressView,
  opts: Omit<FollowOptions, 'signal'> = {},
): Promise<BatchEntry[]> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    return await Promise.all(
      entries.map((e) => (e.error ? e : followBatch(client, e, view, { ...opts, signal: stop.signal }))),
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function interrupted(batchId: string): CliError {
  return new CliError(
    `interrupted; the batch keeps running in Temporal: eni-migrate batch status ${batchId}`,
    ExitCode.INTERRUPTED,
    batchId,
  );
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A batch's report for humans: the totals, then one line per instance. */
export function formatBatch(entry: BatchEntry): string {
  const r = entry.report ?? entry.progress;
  if (!r) return `${entry.batchId}: ${entry.error ?? 'no report'}`;
  const lines: string[] = [];
  const head = entry.report
    ? `${entry.report.outcome}${entry.report.cause ? ` (${entry.report.cause})` : ''} in ${formatDuration(entry.report.durationMs)}`
    : `${entry.progress?.state === 'paused' ? `paused (${entry.progress.pausedBecause ?? 'operator'})` : entry.progress?.state}, not finished`;
  lines.push(
    `${r.batchId} (${r.vpcId}, ${r.regionId}): ${head}, ${r.total} instances, ${r.apiCalls} API calls`,
  );
  const counts = Object.entries(r.counts)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
  if (counts) lines.push(`  ${counts}`);
  const idWidth = Math.max(0, ...r.instances.map((i) => i.instanceId.length));
  const nameWidth = Math.max(0, ...r.instances.map((i) => (i.instanceName ?? '').length));
  const outcomeWidth = Math.max(0, ...r.instances.map((i) => (i.outcome ?? i.state).length));
  for (const i of r.instances) {
    const detail =
      i.outcome === 'planned'
        ? i.plan
        : i.outcome === 'verified' || i.outcome === 'migrated'
          ? `${i.publicIp ?? '?'} on ${i.networkInterfaceId ?? '?'}${i.offlineMs !== undefined ? `, no public address for ${formatDuration(i.offlineMs)}` : ''}`
          : i.state === 'running'
            ? `${i.step ?? ''} (${i.workflowId ?? ''})`
            : i.cause;
    lines.push(
      `  ${i.instanceId.padEnd(idWidth)}  ${(i.instanceName ?? '').padEnd(nameWidth)}  ${(i.outcome ?? i.state).padEnd(outcomeWidth)}` +
        `${detail ? `  ${detail}` : ''}`.trimEnd(),
    );
  }
  if (entry.progress?.state === 'paused') {
    lines.push(
      `  go on: eni-migrate batch resume ${r.batchId}; or stop: eni-migrate batch cancel ${r.batchId}`,
    );
  }
  if (r.dryRun)
    lines.push(`  dry run: no mutating call was made. Start it: the same command without --dry-run`);
  return lines.join('\n');
}
