/**
 * Determinism: histories recorded from real runs of the workflow (test/fixtures/histories, written by
 * `RECORD_HISTORIES=1 node --import tsx --test test/migration-history.test.ts`) replay against today's bundle.
 * A change that would break running migrations on deploy fails here. The same histories replay against the workflow
 * code with tracing's interceptors (OTEL_EXPORTER_OTLP_ENDPOINT): turning tracing on or off is a worker restart that
 * running migrations and batches (approved, paused, resumed by updates among them) must survive.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundleOptions } from '../src/workflow-bundle';
import { workflowTracingModule } from '../src/observability/tracing';
import { workflowBundle } from './helpers/migration';

/** One folder per release (test/fixtures/histories/<version>/): a released version's histories are never rewritten. */
const DIR = join(__dirname, 'fixtures', 'histories');
const releases = readdirSync(DIR).filter((d) => /^\d+\.\d+\.\d+$/.test(d));
const files = releases.flatMap((r) =>
  readdirSync(join(DIR, r))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(r, f)),
);

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
}

describe('recorded histories replay against the current workflow code', () => {
  let bundle: WorkflowBundle;
  before(async () => {
    bundle = await workflowBundle();
  });

  it('holds histories of every release, and every path of the current one', () => {
    assert.ok(
      ['0.1.0', '0.2.0', '0.3.0'].every((r) => releases.includes(r)),
      releases.join(', '),
    );
    for (const name of ['verified', 'rolled-back', 'cancelled', 'dry-run', 'refused', 'approved']) {
      assert.ok(files.includes(join('0.1.0', `${name}.json`)), `missing fixture 0.1.0/${name}.json`);
    }
    const steps = ['createEni', 'attachEni', 'unassociateEip', 'associateEipToEni'];
    const paths = [
      'verified',
      'migrated-no-verify',
      'dry-run',
      'refused',
      'approved',
      'guest-prepare-script',
      'prepaid-switch',
      ...steps.map((s) => `rolled-back-at-${s}`),
      'rolled-back-at-verify',
      'failed-compensation',
      'rollback-stuck-then-recovered',
      'rolled-forward-impossible-bind-back',
      'rolled-forward-by-operator',
      'offline-budget-exceeded',
      ...steps.map((s) => `cancelled-at-${s}`),
      'cancelled-at-verify',
      'cancelled-awaiting-approval',
      'revert-reverted',
      'revert-rolled-back',
      'revert-rolled-forward',
    ];
    for (const name of paths) {
      assert.ok(files.includes(join('0.2.0', `${name}.json`)), `missing fixture 0.2.0/${name}.json`);
    }
    // Release 0.3: the same paths on rate-limited queues with summaries, and the batch (migrateFleet).
    const batchPaths = [
      'batch-completed',
      'batch-already-migrated',
      'batch-dry-run',
      'batch-approved',
      'batch-canary-failed-cancelled',
      'batch-breaker-resumed',
      'batch-cancelled-in-flight',
      'batch-window-closed',
      'batch-continued-as-new-first-run',
      'batch-continued-as-new-last-run',
      'batch-refused-another-running',
    ];
    for (const name of [...paths, ...batchPaths]) {
      assert.ok(files.includes(join('0.3.0', `${name}.json`)), `missing fixture 0.3.0/${name}.json`);
    }
    // Release 0.4: the batch's admission control (patch eni-migration-0.4), and the batch's paths under it.
    for (const name of [
      'batch-admission-control',
      'batch-completed',
      'batch-approved',
      'batch-breaker-resumed',
    ]) {
      assert.ok(files.includes(join('0.4.0', `${name}.json`)), `missing fixture 0.4.0/${name}.json`);
    }
    // Release 0.5 (patch eni-migration-0.5): every path again, and the new ones.
    for (const name of [
      ...paths,
      ...batchPaths,
      'cloud-assistant-setup',
      'rolled-back-at-cloud-assistant',
      'bandwidth-pay-by-traffic',
      'already-migrated',
    ]) {
      assert.ok(files.includes(join('0.5.0', `${name}.json`)), `missing fixture 0.5.0/${name}.json`);
    }
  });

  // One replay worker for every history (a worker per history costs about a second each); a test per history reads
  // its own result, so a failure still names its file.
  let replayed: Map<string, Error | undefined> | undefined;
  const replayAll = async (): Promise<Map<string, Error | undefined>> => {
    if (replayed) return replayed;
    const results = new Map<string, Error | undefined>();
    const histories = files.map((file) => ({
      workflowId: file,
      history: JSON.parse(readFileSync(join(DIR, file), 'utf8')),
    }));
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle, replayName: 'replay' },
      histories,
    )) {
      results.set(result.workflowId, result.error as Error | undefined);
    }
    return (replayed = results);
  };

  for (const file of files) {
    it(file.replace(/\.json$/, ''), async () => {
      const results = await replayAll();
      assert.ok(results.has(file), `${file} was not replayed`);
      const error = results.get(file);
      if (error) throw error;
    });
  }

  it('catches a history that the code would not produce (the check is real)', async () => {
    const history = JSON.parse(readFileSync(join(DIR, '0.1.0', 'verified.json'), 'utf8')) as {
      events: HistoryEvent[];
    };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType.name = 'somethingElse';
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'tampered' }, history, 'replay-tampered'),
      DeterminismViolationError,
    );
  });
});

describe('recorded histories replay against the workflow code with tracing on', () => {
  it('replays every history, updates and signals included', async () => {
    const traced = await bundleWorkflowCode(
      workflowBundleOptions(require.resolve('../src/workflows'), [workflowTracingModule()]),
    );
    const histories = files.map((file) => ({
      workflowId: `replay-traced-${file}`,
      history: JSON.parse(readFileSync(join(DIR, file), 'utf8')),
    }));
    const failed: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      // Replay exports no span; the sink is registered as a worker with tracing has it.
      {
        workflowBundle: traced,
        replayName: 'traced',
        sinks: { exporter: { export: { fn: () => undefined } } },
      },
      histories,
    )) {
      replayed += 1;
      if (result.error) failed.push(`${result.workflowId}: ${(result.error as Error).message.slice(0, 300)}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failed, []);
  });
});
