/**
 * A batch's progress for humans, on stderr: a line per instance that starts or ends (and per batch state change), and
 * a progress bar with the counts per outcome. On a terminal the bar (one line per batch) is redrawn in place below the
 * lines; elsewhere (a log, CI) the bar's text is printed as a plain line whenever it changes.
 */
import type { FleetInstance, FleetProgress, FleetReport } from '../../shared/fleet';
import type { StepName } from '../../shared/migration';
import { formatDuration, STEP_LABELS } from '../progress';

export interface ProgressOutput {
  /** Prints one line (without its newline). */
  line(text: string): void;
  /** On a terminal: raw writes (ANSI escapes) and its width; then the bar is redrawn in place. */
  tty?: { write(raw: string): void; columns(): number };
}

/** stderr, as the CLI writes progress: a terminal gets the live bar. */
export function stderrOutput(): ProgressOutput {
  const err = process.stderr;
  return {
    line: (text) => void err.write(`${text}\n`),
    ...(err.isTTY
      ? { tty: { write: (raw: string) => void err.write(raw), columns: () => err.columns || 80 } }
      : {}),
  };
}

const BAR_WIDTH = 24;

export class BatchProgressView {
  private readonly batches = new Map<string, FleetProgress>();
  private readonly summaries = new Map<string, string>();
  /** Bar lines on screen below the last printed line (terminal only). */
  private drawn = 0;

  constructor(
    private readonly out: ProgressOutput,
    private readonly opts: { steps?: boolean } = {},
  ) {}

  /** A new snapshot of a batch: prints what changed since the last one. */
  update(progress: FleetProgress): void {
    const lines = changes(this.batches.get(progress.batchId), progress, this.opts.steps ?? false);
    this.batches.set(progress.batchId, progress);
    if (this.out.tty) {
      this.print(lines);
      return;
    }
    for (const line of lines) this.out.line(line);
    // Nothing to count until discovery has found the instances.
    if (progress.total === 0 && progress.state !== 'done') return;
    const summary = summaryLine(progress);
    if (this.summaries.get(progress.batchId) !== summary) {
      this.summaries.set(progress.batchId, summary);
      this.out.line(summary);
    }
  }

  /** The final snapshot, from the report. */
  finish(report: FleetReport): void {
    this.update({ ...report, state: 'done', awaitingApproval: false });
  }

  /** A line of its own (a hint, an error), above the bar. */
  note(text: string): void {
    if (this.out.tty) this.print([text]);
    else this.out.line(text);
  }

  private print(lines: string[]): void {
    const tty = this.out.tty!;
    // Up to the first bar line, clear to the end of the screen, print, redraw the bars below.
    let raw = this.drawn ? `\x1b[${this.drawn}A\x1b[J` : '';
    for (const line of lines) raw += `${line}\n`;
    const width = Math.max(20, tty.columns() - 1);
    const bars = [...this.batches.values()].map((p) => truncate(barLine(p, this.batches.size > 1), width));
    for (const bar of bars) raw += `${bar}\n`;
    this.drawn = bars.length;
    tty.write(raw);
  }
}

/** `vpc-x [██████░░░░] 6/10 running · verified 5 · failed 1 · in flight 2 · queued 2` */
export function barLine(p: FleetProgress, named = true): string {
  const finished = p.total - p.inFlight - p.remaining;
  const filled = p.total ? Math.round((finished / p.total) * BAR_WIDTH) : 0;
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
  return [
    `${named ? `${p.vpcId} ` : ''}${bar} ${finished}/${p.total} ${stateLabel(p)}`,
    ...countParts(p),
  ].join(' · ');
}

/** `eni-fleet/cn-hangzhou/vpc-x: running, 6/10 done: verified 5, failed 1; in flight 2, queued 2` */
export function summaryLine(p: FleetProgress): string {
  const finished = p.total - p.inFlight - p.remaining;
  const outcomes = Object.entries(p.counts)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
  return (
    `${p.batchId}: ${stateLabel(p)}, ${finished}/${p.total} done${outcomes ? `: ${outcomes}` : ''}` +
    `; in flight ${p.inFlight}, queued ${p.remaining}` +
    (p.errors ? `; errors ${p.errors} (pauses above ${p.errorThreshold})` : '')
  );
}

function countParts(p: FleetProgress): string[] {
  return [
    ...Object.entries(p.counts).map(([o, n]) => `${o} ${n}`),
    ...(p.inFlight ? [`in flight ${p.inFlight}`] : []),
    ...(p.remaining ? [`queued ${p.remaining}`] : []),
  ];
}

function stateLabel(p: FleetProgress): string {
  if (p.state === 'paused') return `paused (${p.pausedBecause ?? 'operator'})`;
  if (p.awaitingApproval) return 'awaiting approval';
  return p.state;
}

/** What changed between two snapshots of one batch, as lines. */
function changes(before: FleetProgress | undefined, p: FleetProgress, steps: boolean): string[] {
  const lines: string[] = [];
  if (before?.state !== p.state || before?.pausedBecause !== p.pausedBecause) {
    const hint = stateHint(p);
    if (hint) lines.push(hint);
  }
  const previous = new Map((before?.instances ?? []).map((i) => [i.instanceId, i]));
  for (const i of p.instances) {
    const was = previous.get(i.instanceId);
    if (i.state === 'running' && was?.state !== 'running') {
      lines.push(`[${i.instanceId}] started ${i.workflowId ?? ''}${i.canary ? ' (canary)' : ''}`.trimEnd());
    }
    if (steps && i.state === 'running' && i.step && i.step !== was?.step) {
      lines.push(`[${i.instanceId}] → ${STEP_LABELS[i.step as StepName] ?? i.step}`);
    }
    if (i.state === 'done' && (was?.state !== 'done' || was.outcome !== i.outcome)) lines.push(ended(i));
  }
  return lines;
}

function ended(i: FleetInstance): string {
  const took = i.durationMs !== undefined && i.workflowId ? ` in ${formatDuration(i.durationMs)}` : '';
  // Where the EIP is now; a rolled-back migration's ENI is gone.
  const moved = i.outcome === 'verified' || i.outcome === 'migrated' || i.outcome === 'rolled-forward';
  const eni = moved && i.networkInterfaceId ? ` on ${i.networkInterfaceId}` : '';
  const detail = i.outcome === 'planned' ? i.plan : i.cause;
  return `[${i.instanceId}] ${i.outcome}${eni}${took}${detail ? `: ${detail}` : ''}`;
}

function stateHint(p: FleetProgress): string | undefined {
  switch (p.state) {
    case 'awaiting-approval':
      return `${p.batchId}: the plan is ready; waiting for approval: eni-migrate batch approve ${p.batchId}`;
    case 'paused': {
      const why =
        p.pausedBecause === 'max-errors'
          ? `${p.errors} errors, more than --max-errors ${p.maxErrors} allows`
          : p.pausedBecause === 'canary-failed'
            ? 'a canary did not verify'
            : 'an operator paused it';
      return `${p.batchId}: paused (${why}); in-flight migrations finish, nothing new starts. Go on: eni-migrate batch resume ${p.batchId}; or stop: eni-migrate batch cancel ${p.batchId}`;
    }
    case 'draining':
      return `${p.batchId}: no new start; waiting for the ${p.inFlight} in flight`;
    case 'discovering':
    case 'planning':
    case 'running':
      return `${p.batchId}: ${p.state}`;
    case 'done':
      return undefined;
  }
}

function truncate(text: string, width: number): string {
  return [...text].length <= width ? text : `${[...text].slice(0, width - 1).join('')}…`;
}
