/**
 * Section 3: a batch (migrateFleet) under per-API limits low enough to bind. Every action that changes the cloud is
 * held to `rate` calls a second twice over: by the product (its per-action task queues, ENI_MIGRATE_RATE_LIMITS) and
 * by the local cloud (a token bucket per action, answering Throttling beyond it). The bound is what those limits
 * allow N migrations: for each limited action a, with c_a calls per migration (counted in the call log) and a burst
 * b_a = rate + 1 (the Temporal server's limiter lets a second's worth plus one through at once), its N·c_a calls need
 * at least (N·c_a − b_a) / rate seconds, and the first migration needs its critical path L around them:
 *   makespan ≥ L + max_a (N·c_a − b_a) / rate,   bound = N / that.
 */
import { BatchClient } from '../../src/client/batches';
import type { FleetReport } from '../../src/shared/fleet';
import { CHANGE_ACTIONS } from '../../src/shared/cloud-changes';
import { countBy, round, ROLE_TAG, type Log, type Stage } from './env';

export interface BatchResult {
  instances: number;
  concurrency: number;
  rate: number;
  cloudBurst: number;
  readLimit: string;
  makespanMs: number;
  throughput: number;
  bound: number;
  boundMakespanMs: number;
  ratio: number;
  bindingAction: string;
  callsPerMigration: number;
  callsByAction: Record<string, number>;
  outcomes: Record<string, number>;
  failed: number;
  throttledCalls: number;
  throttlingFailures: number;
  /** Where the time beyond the bound went, for the binding action: before its first call, spreading its calls, after its last. */
  excess: { startMs: number; spreadMs: number; tailMs: number };
  limitedBy: string;
}

export async function runBatch(
  stage: Stage,
  opts: {
    instances: number;
    concurrency: number;
    rate: number;
    cloudBurst: number;
    /** The critical path of one migration at these timings (section 1). */
    criticalPathMs: number;
    /** Critical path up to the binding action's call, and after it. */
    log: Log;
  },
): Promise<BatchResult> {
  const { admin, cloud, client } = stage;
  const { log } = opts;
  // The cloud holds every change action to the rate (the product holds itself to the same, in its worker's config).
  for (const action of CHANGE_ACTIONS) await admin.rateLimit(action, opts.rate, opts.cloudBurst);
  const vpcId = (cloud.model.snapshot().Vpcs as Array<{ VpcId: string }>)[0].VpcId;
  const batches = new BatchClient(client);
  const mark = await admin.mark();
  const t0 = Date.now();
  const { batchId } = await batches.start({
    regionId: cloud.regionId,
    vpcId,
    select: { tags: { [ROLE_TAG]: 'batch' } },
    concurrency: opts.concurrency,
    // Throughput, not caution: no canary, and no pause on errors (they are counted instead).
    canary: 0,
    maxErrors: '100%',
  });
  const report: FleetReport = await batches.result(batchId);
  const makespanMs = Date.now() - t0;
  const calls = await admin.calls(mark);
  const outcomes = countBy(report.instances, (i) => i.outcome ?? i.state);
  const n = report.instances.length;
  const failed = report.instances.filter((i) => i.outcome !== 'verified').length;
  const throttled = calls.filter((c) => /^Throttling/.test(c.code ?? ''));
  const throttlingFailures = report.instances.filter(
    (i) => i.outcome !== 'verified' && /Throttl/i.test(i.cause ?? ''),
  ).length;
  const callsByAction = countBy(calls, (c) => c.action);

  // The bound, from the limits and the calls per migration.
  const burst = opts.rate + 1;
  let bindingAction = CHANGE_ACTIONS[0] as string;
  let spreadBoundMs = -1;
  for (const action of ['ConvertNatPublicIpToEip', ...CHANGE_ACTIONS]) {
    const count = callsByAction[action] ?? 0;
    if (count === 0) continue;
    const ms = (Math.max(0, count - burst) / opts.rate) * 1000;
    if (ms > spreadBoundMs) {
      spreadBoundMs = ms;
      bindingAction = action;
    }
  }
  const boundMakespanMs = opts.criticalPathMs + spreadBoundMs;
  const throughput = n / (makespanMs / 1000);
  const bound = n / (boundMakespanMs / 1000);

  // Where the time went, for the binding action.
  const times = calls
    .filter((c) => c.action === bindingAction && c.status < 400)
    .map((c) => Date.parse(c.time) - t0);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const excess = {
    startMs: Math.round(first),
    spreadMs: Math.round(last - first - spreadBoundMs),
    tailMs: Math.round(makespanMs - last),
  };
  const parts = [
    {
      what: `the start (batch start to the first ${bindingAction}: discovery, child starts, preflight)`,
      ms: excess.startMs,
    },
    {
      what: `spreading ${bindingAction} beyond its rate (calls not ready when a token was)`,
      ms: excess.spreadMs,
    },
    {
      what: `the tail (the last ${bindingAction} to the batch's end: the last migration's remaining steps)`,
      ms: excess.tailMs,
    },
  ].sort((a, b) => b.ms - a.ms);
  const limitedBy =
    `the limit of ${opts.rate}/s on each change action (${bindingAction}: ${callsByAction[bindingAction]} calls) sets ` +
    `${(spreadBoundMs / 1000).toFixed(1)} s of the ${(makespanMs / 1000).toFixed(1)} s; the rest, largest first: ` +
    // A part within ±0.05 s prints as 0.0 s, not -0.0 s.
    parts.map((p) => `${p.what}: ${(Math.round(p.ms / 100) / 10 || 0).toFixed(1)} s`).join('; ');
  log(
    `  batch of ${n}: ${(makespanMs / 1000).toFixed(1)} s, ${round(throughput)} /s vs bound ${round(bound)} /s; ${failed} not verified, ${throttled.length} throttled calls`,
  );
  return {
    instances: n,
    concurrency: opts.concurrency,
    rate: opts.rate,
    cloudBurst: opts.cloudBurst,
    readLimit: 'reads: the local cloud default, 50/s with a burst of 100 per action',
    makespanMs,
    throughput: round(throughput, 3),
    bound: round(bound, 3),
    boundMakespanMs: Math.round(boundMakespanMs),
    ratio: round(throughput / bound),
    bindingAction,
    callsPerMigration: round(calls.length / Math.max(1, n), 1),
    callsByAction,
    outcomes,
    failed,
    throttledCalls: throttled.length,
    throttlingFailures,
    excess,
    limitedBy,
  };
}
