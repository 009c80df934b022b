/**
 * Sections 1 and 2: one migration at a time, against its critical path, and its API calls against the minimum.
 * The stage's worker must be running (the caller's runUntil).
 *
 * The critical path is what no implementation can beat on this cloud: the sum of the cloud-side transition times, plus
 * one API round trip per necessary call (the minimum of section 2), plus the two SSH checks (preflight: host key and
 * egress; verification: the same through the EIP), with the round trip and the SSH check measured in the same run.
 */
import type { Timings } from '../../src/local-cloud/contracts';
import type { MigrationReport, StepName } from '../../src/shared/migration';
import { createSshRunner } from '../../src/ssh';
import { runBaseline, type BaselineRun } from './baseline';
import { cloudApisOf, countBy, median, round, type Log, type Stage } from './env';

/**
 * The fewest calls one migration of a PostPaid instance with a NAT public IP can make: the preflight reads the
 * runbook needs (docs/architecture.md: instance, its type's ENI quota, vSwitch, security group, ENIs, NAT gateways,
 * SNAT entries, the vSwitch's default route, the account's EIPs against its quota), one call per mutation, and one
 * Describe per transition (create is synchronous: none).
 */
export const MINIMUM_CALLS: ReadonlyArray<{
  action: string;
  calls: number;
  /** How many of them preflight makes (the rest: one per mutation, or one per transition). */
  preflight?: number;
  why: string;
}> = [
  { action: 'DescribeInstances', calls: 1, preflight: 1, why: 'preflight: the instance' },
  { action: 'DescribeInstanceTypes', calls: 1, preflight: 1, why: 'preflight: ENI quota of its type' },
  { action: 'DescribeVSwitches', calls: 1, preflight: 1, why: 'preflight: the vSwitch' },
  { action: 'DescribeSecurityGroups', calls: 1, preflight: 1, why: 'preflight: the security group' },
  {
    action: 'DescribeNetworkInterfaces',
    calls: 2,
    preflight: 1,
    why: "preflight: its ENIs; the attach's transition",
  },
  { action: 'DescribeNatGateways', calls: 1, preflight: 1, why: 'preflight: NAT gateways' },
  {
    action: 'DescribeSnatTableEntries',
    calls: 2,
    preflight: 2,
    why: "preflight: the SNAT entries of its vSwitch and of its address (an address's wins)",
  },
  {
    action: 'DescribeRouteEntryList',
    calls: 1,
    preflight: 1,
    why: "preflight: the vSwitch's route to 0.0.0.0/0",
  },
  { action: 'ConvertNatPublicIpToEip', calls: 1, why: 'step 1' },
  {
    action: 'DescribeEipAddresses',
    calls: 4,
    preflight: 1,
    why: "preflight: the EIPs against the quota; the convert's, unbind's and bind's transitions",
  },
  { action: 'CreateNetworkInterface', calls: 1, why: 'step 2 (synchronous)' },
  { action: 'AttachNetworkInterface', calls: 1, why: 'step 3' },
  { action: 'UnassociateEipAddress', calls: 1, why: 'step 4' },
  { action: 'AssociateEipAddress', calls: 1, why: 'step 5' },
];
export const MINIMUM_TOTAL = MINIMUM_CALLS.reduce((n, c) => n + c.calls, 0);
const PREFLIGHT_READS = MINIMUM_CALLS.reduce((n, c) => n + (c.preflight ?? 0), 0);

/** The critical path, step by step (for the chart): which calls, transitions and SSH checks each holds. */
export interface PathSegment {
  step: StepName;
  ms: number;
}

export interface SingleResult {
  timings: Timings;
  /** Median round trip of one API call (DescribeInstances through the product's SDK client), measured now. */
  rttMs: number;
  /** Median SSH check (connect, host key, the egress script), measured now. */
  sshMs: number;
  criticalPathMs: number;
  criticalPath: PathSegment[];
  offlineTransitionsMs: number;
  product: {
    runs: Array<{ instanceId: string; wallMs: number; offlineMs: number; apiCalls: number; outcome: string }>;
    wallMs: number;
    offlineMs: number;
    wallRatio: number;
    offlineRatio: number;
    /** The median run's steps, relative to the migration's start. */
    steps: Array<{ name: StepName; startMs: number; durationMs: number; state: string }>;
  };
  baseline: {
    pollMs: number;
    wallMs: number;
    offlineMs: number;
    wallRatio: number;
    offlineRatio: number;
    steps: BaselineRun['steps'];
    calls: number;
  };
  economy: {
    calls: number;
    minimum: number;
    ratio: number;
    byAction: Array<{ action: string; calls: number; minimum: number }>;
    baselineCalls: number;
  };
}

export async function runSingle(
  stage: Stage,
  opts: { instances: string[]; baselineInstance: string; probeIp: string; baselinePollMs: number; log: Log },
): Promise<SingleResult> {
  const { admin, cloud, client } = stage;
  const { log } = opts;
  const timings = await admin.timings({});
  const { ecs, vpc } = cloudApisOf(cloud);
  const ssh = createSshRunner({ sshConfigPath: cloud.sshConfig, privateKeyPath: cloud.sshPrivateKey });

  // Round trips, in this run: an API call through the same SDK stack the worker uses, and an SSH check.
  const rtts: number[] = [];
  for (let n = 0; n < 15; n++) {
    const t = performance.now();
    await ecs.describeInstance(opts.baselineInstance);
    rtts.push(performance.now() - t);
  }
  const sshTimes: number[] = [];
  for (let n = 0; n < 5; n++) {
    const t = performance.now();
    await ssh.run(opts.probeIp, 'curl -4 -sS -m 10 https://myip.ipip.net');
    sshTimes.push(performance.now() - t);
  }
  const rttMs = median(rtts.slice(3));
  const sshMs = median(sshTimes.slice(1));
  const criticalPath: PathSegment[] = [
    { step: 'preflight', ms: PREFLIGHT_READS * rttMs + sshMs },
    { step: 'convertToEip', ms: 2 * rttMs + timings.convertMs },
    { step: 'createEni', ms: rttMs },
    { step: 'attachEni', ms: 2 * rttMs + timings.attachMs },
    { step: 'unassociateEip', ms: 2 * rttMs + timings.unassociateMs },
    { step: 'associateEipToEni', ms: 2 * rttMs + timings.associateMs },
    { step: 'verify', ms: sshMs },
  ];
  const criticalPathMs = criticalPath.reduce((n, s) => n + s.ms, 0);
  const offlineTransitionsMs = timings.unassociateMs + timings.associateMs;

  // The product: one migration at a time; the call log of each run is its own.
  const runs: SingleResult['product']['runs'] = [];
  const reports: MigrationReport[] = [];
  let callsByAction: Record<string, number> = {};
  {
    for (const instanceId of opts.instances) {
      const mark = await admin.mark();
      const t = performance.now();
      const { workflowId } = await client.start({ regionId: cloud.regionId, instanceId });
      const report = await client.result(workflowId);
      const wallMs = performance.now() - t;
      const calls = await admin.calls(mark);
      if (runs.length === 0) callsByAction = countBy(calls, (c) => c.action);
      runs.push({
        instanceId,
        wallMs: Math.round(wallMs),
        offlineMs: report.offlineMs ?? NaN,
        apiCalls: calls.length,
        outcome: report.outcome,
      });
      reports.push(report);
      log(
        `  migration ${instanceId}: ${report.outcome} in ${(wallMs / 1000).toFixed(1)} s, offline ${((report.offlineMs ?? 0) / 1000).toFixed(1)} s, ${calls.length} calls`,
      );
    }
  }
  const wallMs = median(runs.map((r) => r.wallMs));
  const medianRun = runs.findIndex((r) => r.wallMs === wallMs);
  const report = reports[medianRun];
  const started = Date.parse(report.steps.find((s) => s.startedAt)?.startedAt ?? '');
  const steps = report.steps
    .filter((s) => s.startedAt && s.durationMs !== undefined)
    .map((s) => ({
      name: s.name,
      startMs: Date.parse(s.startedAt as string) - started,
      durationMs: s.durationMs as number,
      state: s.state,
    }));
  const offlineMs = median(runs.map((r) => r.offlineMs));

  // The baseline: the same runbook as a plain script polling every baselinePollMs.
  const mark = await admin.mark();
  const base = await runBaseline({
    ecs,
    vpc,
    ssh,
    instanceId: opts.baselineInstance,
    pollMs: opts.baselinePollMs,
  });
  const baseCalls = (await admin.calls(mark)).length;
  log(
    `  baseline ${opts.baselineInstance}: ${(base.wallMs / 1000).toFixed(1)} s, offline ${(base.offlineMs / 1000).toFixed(1)} s, ${baseCalls} calls, egress ${base.egressIp}`,
  );

  const actions = new Set([...MINIMUM_CALLS.map((c) => c.action), ...Object.keys(callsByAction)]);
  const calls = runs[0].apiCalls;
  return {
    timings,
    rttMs: round(rttMs, 1),
    sshMs: round(sshMs, 1),
    criticalPathMs: Math.round(criticalPathMs),
    criticalPath: criticalPath.map((s) => ({ ...s, ms: Math.round(s.ms) })),
    offlineTransitionsMs,
    product: {
      runs,
      wallMs,
      offlineMs,
      wallRatio: round(wallMs / criticalPathMs),
      offlineRatio: round(offlineMs / offlineTransitionsMs),
      steps,
    },
    baseline: {
      pollMs: opts.baselinePollMs,
      wallMs: Math.round(base.wallMs),
      offlineMs: Math.round(base.offlineMs),
      wallRatio: round(base.wallMs / criticalPathMs),
      offlineRatio: round(base.offlineMs / offlineTransitionsMs),
      steps: base.steps.map((s) => ({
        ...s,
        startMs: Math.round(s.startMs),
        durationMs: Math.round(s.durationMs),
      })),
      calls: baseCalls,
    },
    economy: {
      calls,
      minimum: MINIMUM_TOTAL,
      ratio: round(calls / MINIMUM_TOTAL),
      byAction: [...actions].map((action) => ({
        action,
        calls: callsByAction[action] ?? 0,
        minimum: MINIMUM_CALLS.find((c) => c.action === action)?.calls ?? 0,
      })),
      baselineCalls: baseCalls,
    },
  };
}
