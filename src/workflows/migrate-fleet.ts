import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  startChild,
  TemporalFailure,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DiscoveredInstance, VpcShared } from '../activities';
import {
  CONCURRENCY_MAX,
  errorThreshold,
  FLEET_SUCCESS,
  type FleetCarry,
  type FleetInput,
  type FleetInstance,
  type FleetReport,
} from '../shared/fleet';
import {
  MIGRATION_FAILED,
  migrationWorkflowId,
  type MigrationInput,
  type MigrationReport,
} from '../shared/migration';
import { BATCH_ID, INSTANCE_ID, REGION_ID, VPC_ID } from '../shared/search-attributes';
import { migrationDetails, migrationSummary } from '../shared/summaries';
import { scheduler } from './activity-options';
import { messageOf } from './failures';
import {
  approveBatchUpdate,
  pauseBatchUpdate,
  resumeBatchUpdate,
  setConcurrencyUpdate,
} from './fleet-messages';
import { FleetTracker } from './fleet-tracker';
import { INVALID_INPUT } from './limits';
import { migrateInstance, RELEASE_V5 } from './migrate-instance';

const CONCURRENCY_DEFAULT = 5;
const CONTINUE_AS_NEW_AFTER_EVENTS = 10_000;
/**
 * Admission control (release 0.4): at most this many migrations being started at once, i.e. started by the batch and
 * not yet confirmed started by the server. Each start is confirmed a workflow task later, so the batch starts its
 * children at the pace the server (and the workers' first workflow tasks) keep up with, not 1,000 in one task.
 */
export const ADMISSION_V4 = 'eni-migration-0.4';
const STARTING_AT_ONCE = 10;

// The batch is new in release 0.3: its activities always carry their summaries (no patch to ask).
const { reads } = scheduler(true);

/**
 * Migrates a VPC's instances as one batch, as an operator would by hand but without the loop:
 *
 *   1. discover the VPC's instances (read-only), and its shared data once for every migration
 *   2. plan: preflight every instance (dry run, or before an approval), changing nothing
 *   3. the canary: the first N migrate alone and must verify
 *   4. the rest, one migrateInstance child each, in a sliding window of `concurrency`
 *
 * Never aborts on failures: past `maxErrors` it pauses (those in flight finish, nothing new starts) until an operator
 * resumes or cancels. Past the maintenance window nothing new starts and the rest are deferred. Cancelling stops new
 * starts and cancels the migrations in flight, which roll back; finished ones stay migrated. A long batch continues
 * as new between migrations, carrying its state.
 */
export async function migrateFleet(input: FleetInput): Promise<FleetReport> {
  const carried = input.carried as FleetCarry | undefined;
  const track = new FleetTracker(input, carried, { concurrency: input.concurrency ?? CONCURRENCY_DEFAULT });
  refuseBadInput(input);
  track.windowEnd ??= windowEndOf(input);
  // The VPC's shared data is read again before the next start after a wait (approval, a pause, continue-as-new).
  const vpcSharedStale = { value: carried !== undefined };
  handleControls(track, vpcSharedStale);
  track.open();

  const windowEndMs = track.windowEnd ? Date.parse(track.windowEnd) : undefined;
  // One timer for the whole window (not one per wait): the history holds it once.
  let windowOver = windowEndMs !== undefined && Date.now() >= windowEndMs;
  if (windowEndMs !== undefined && !windowOver) {
    void CancellationScope.nonCancellable(() => sleep(windowEndMs - Date.now())).then(
      () => (windowOver = true),
    );
  }
  const windowClosed = () => windowOver;
  let vpcShared: VpcShared | undefined;

  // 1–2. Discover, plan, approval. Cancelled here, nothing has changed: the batch ends with its report.
  try {
    if (!carried) {
      const refusal = await otherBatchOf(input);
      if (refusal) return track.finish('refused', refusal);
      const found = await reads(
        'discoverFleet',
        `Discover the instances of ${input.vpcId}, and its vSwitches, NAT gateways and SNAT entries (read-only)`,
        { regionId: input.regionId, vpcId: input.vpcId, select: input.select },
      );
      track.apiCalls += found.apiCalls;
      vpcShared = found.vpcShared;
      track.instances.push(...found.instances.map(toEntry));
      // Nothing found is a wrong VPC id or a filter that matches nothing, not a VPC that is done: say so.
      if (track.instances.length === 0) {
        return track.finish(
          'refused',
          `no instance of ${input.vpcId} in region ${input.regionId} matches the batch's filters: check the VPC id, the region and the filters`,
        );
      }
    }
    // A share of the instances to attempt, not of the VPC: already-migrated ones would inflate it.
    track.errorThreshold = errorThreshold(input.maxErrors ?? '0', track.attemptable());

    // The plan: what each migration would do, or why preflight refuses it. Nothing changes.
    if (!carried && (input.dryRun || !track.approved)) {
      track.setState('planning');
      await plan(input, track, vpcShared);
      if (input.dryRun) return track.finish('planned');
    }
    // Canaries among those the plan kept: an instance preflight refused cannot prove anything.
    if (!carried) markCanaries(track, input.canary ?? 1);
    if (!track.approved) {
      track.awaitingApproval = true;
      if (!track.paused) track.setState('awaiting-approval');
      await condition(() => track.approved || windowClosed());
      track.awaitingApproval = false;
      vpcSharedStale.value = true;
    }
  } catch (err) {
    track.awaitingApproval = false;
    if (isCancellation(err)) return endCancelled(track, err);
    // Only a Temporal failure ends the workflow; another error fails the task, which runs again.
    if (err instanceof TemporalFailure) track.abandon();
    throw err;
  }
  track.setState(track.paused ? 'paused' : 'running');

  // 3–4. The canary, then the rest in a sliding window.
  const inFlight = new Map<string, Promise<void>>();
  // Asked once, before the first start: a batch a 0.3 worker began (no marker) goes on starting as 0.3 did.
  const admission = patched(ADMISSION_V4);
  const starting = { count: 0 };
  const continueAsNewAfter = input.continueAsNewAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS;
  const timeToContinue = () =>
    workflowInfo().historyLength >= continueAsNewAfter || workflowInfo().continueAsNewSuggested;
  const next = (): FleetInstance | undefined => {
    if (track.paused || !track.approved || windowClosed() || timeToContinue()) return undefined;
    if (admission && starting.count >= STARTING_AT_ONCE) return undefined;
    const queued = track.queued();
    if (!track.canaryDone) {
      const canary = queued.find((i) => i.canary);
      // Canaries migrate alone: nothing else starts until every canary has verified.
      return canary && inFlight.size < Math.min(track.concurrency, canaryCount(track)) ? canary : undefined;
    }
    return inFlight.size < track.concurrency ? queued[0] : undefined;
  };
  const finished = () => track.queued().length === 0 && inFlight.size === 0;

  let cancelled: unknown;
  try {
    for (;;) {
      await condition(
        () =>
          next() !== undefined || finished() || (inFlight.size === 0 && (windowClosed() || timeToContinue())),
      );
      let entry = next();
      if (entry && vpcSharedStale.value) {
        vpcShared = await readVpcShared(input);
        vpcSharedStale.value = false;
        entry = next(); // the world may have moved during the read (a pause, the window)
      }
      if (entry) {
        const run = runMigration(input, track, entry, vpcShared, starting).finally(() => {
          inFlight.delete(entry.instanceId);
          afterMigration(track);
        });
        inFlight.set(entry.instanceId, run);
        continue;
      }
      if (finished() || windowClosed() || timeToContinue()) break;
    }
    // The window closed or the history is long: those in flight finish first.
    if (inFlight.size) {
      track.setState('draining');
      await condition(() => inFlight.size === 0);
    }
  } catch (err) {
    if (!isCancellation(err)) {
      if (err instanceof TemporalFailure) track.abandon();
      throw err;
    }
    cancelled = err;
  }
  if (cancelled) return endCancelled(track, cancelled, inFlight);

  if (!finished() && !windowClosed() && timeToContinue()) {
    await condition(() => true); // let update handlers that already started finish before the history moves on
    track.continuing();
    return continueAsNew<typeof migrateFleet>({ ...input, carried: track.carry() });
  }
  for (const entry of track.queued()) {
    track.done(entry, 'deferred', { cause: `the maintenance window ended at ${track.windowEnd}` });
  }
  return track.finish(track.outcome());
}

/** The VPC's vSwitches, NAT gateways and SNAT entries as they are now. */
async function readVpcShared(input: FleetInput): Promise<VpcShared> {
  const { vpcShared } = await reads(
    'readVpcShared',
    `Read the vSwitches, NAT gateways and SNAT entries of ${input.vpcId} again (read-only)`,
    { regionId: input.regionId, vpcId: input.vpcId },
  );
  return vpcShared;
}

/** Another batch of the VPC is running (a scheduled run and one started by hand have different ids): why not start. */
async function otherBatchOf(input: FleetInput): Promise<string | undefined> {
  const { batchIds } = await reads(
    'runningBatchesOf',
    `Look for another running batch of ${input.vpcId} (one batch per VPC)`,
    { regionId: input.regionId, vpcId: input.vpcId },
  );
  const others = batchIds;
  if (!others.length) return undefined;
  return `another batch is running for VPC ${input.vpcId}: ${others.join(', ')}; wait for it to end, or cancel it (eni-migrate batch cancel ${others[0]})`;
}

/** Operator controls, by update: pause, resume, concurrency, approval. */
function handleControls(track: FleetTracker, vpcSharedStale: { value: boolean }): void {
  // A pause keeps the reason it already has (a failed canary, the breaker): the operator sees why it stopped first.
  setHandler(pauseBatchUpdate, () => (track.paused ? undefined : track.pause('operator')), {
    validator: () => {
      if (track.state === 'done' || track.state === 'draining')
        throw new Error(`the batch is ${track.state === 'done' ? 'over' : 'ending'}: nothing to pause`);
    },
  });
  setHandler(
    resumeBatchUpdate,
    () => {
      track.resume();
      vpcSharedStale.value = true;
    },
    {
      validator: () => {
        if (track.state === 'done' || track.state === 'draining')
          throw new Error(`the batch is ${track.state === 'done' ? 'over' : 'ending'}: nothing to resume`);
        if (!track.paused) throw new Error(`the batch is not paused (it is ${track.state})`);
      },
    },
  );
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      track.concurrency = n;
      track.setState(track.state);
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1 || n > CONCURRENCY_MAX)
          throw new Error(`concurrency must be a whole number from 1 to ${CONCURRENCY_MAX}, got ${n}`);
        if (track.state === 'done') throw new Error('the batch has ended');
      },
    },
  );
  setHandler(
    approveBatchUpdate,
    () => {
      track.approved = true;
    },
    {
      validator: () => {
        if (track.approved) throw new Error('the batch needs no approval (or has it already)');
        // An approval is of a plan: there is none to approve before preflight has seen every instance.
        if (track.state === 'discovering' || track.state === 'planning')
          throw new Error(
            'its plan is not ready yet: approve once `batch status` shows it awaiting approval',
          );
      },
    },
  );
}

/** One instance's migration, as a child workflow; its end becomes the instance's outcome. */
async function runMigration(
  input: FleetInput,
  track: FleetTracker,
  entry: FleetInstance,
  vpcShared: VpcShared | undefined,
  starting: { count: number },
): Promise<void> {
  const workflowId = migrationWorkflowId(input.regionId, entry.instanceId);
  const startedAt = Date.now();
  Object.assign(entry, { state: 'running', workflowId, startedAt: new Date(startedAt).toISOString() });
  track.setState(track.state);
  let child: ChildWorkflowHandle<typeof migrateInstance>;
  const childInput: MigrationInput = {
    regionId: input.regionId,
    instanceId: entry.instanceId,
    ...input.migration,
    vpcShared: vpcShared && sharedFor(vpcShared, entry.vSwitchId),
  };
  // What the Web UI shows of the child: the same summary and details as a migration started by hand, plus its batch.
  const known = {
    publicIp: entry.publicIp,
    instanceName: entry.instanceName,
    vpcId: input.vpcId,
    batchId: track.batchId,
  };
  starting.count += 1;
  try {
    child = await startChild(migrateInstance, {
      workflowId,
      args: [childInput],
      // A batch that is terminated asks its migrations to roll back rather than leave them halfway.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: BATCH_ID, value: track.batchId },
        { key: INSTANCE_ID, value: entry.instanceId },
        { key: VPC_ID, value: input.vpcId },
        { key: REGION_ID, value: input.regionId },
      ],
      staticSummary: migrationSummary(childInput, known),
      staticDetails: migrationDetails(childInput, known),
    });
  } catch (err) {
    // Whatever went wrong, the instance gets an outcome: an unhandled rejection would fail workflow tasks forever.
    const [outcome, cause] =
      err instanceof WorkflowExecutionAlreadyStartedError
        ? ([
            'refused',
            `a migration or revert of ${entry.instanceId} is already running (${workflowId}): it was left alone`,
          ] as const)
        : isCancellation(err)
          ? (['not-started', 'the batch was cancelled'] as const)
          : (['failed', `its migration could not start: ${messageOf(err)}`] as const);
    track.done(entry, outcome, { cause, durationMs: Date.now() - startedAt });
    return;
  } finally {
    starting.count -= 1;
  }
  try {
    settle(track, entry, await child.result(), startedAt);
  } catch (err) {
    const report = reportOf(err);
    if (report) return settle(track, entry, report, startedAt);
    const type = failureType(err);
    const cancelled =
      isCancellation(err) || (err instanceof ChildWorkflowFailure && isCancellation(err.cause));
    track.done(
      entry,
      cancelled ? 'rolled-back' : type === 'PreflightFailed' || type === INVALID_INPUT ? 'refused' : 'failed',
      {
        cause: cancelled ? 'cancelled' : messageOf(err),
        durationMs: Date.now() - startedAt,
      },
    );
  }
}

function settle(track: FleetTracker, entry: FleetInstance, report: MigrationReport, startedAt: number): void {
  track.apiCalls += report.apiCalls;
  track.done(entry, report.outcome, {
    cause: report.cause,
    networkInterfaceId: report.networkInterfaceId,
    allocationId: report.allocationId,
    publicIp: report.publicIp ?? entry.publicIp,
    offlineMs: report.offlineMs,
    apiCalls: report.apiCalls,
    durationMs: Date.now() - startedAt,
  });
}

/** After each migration: the canary verdict, then the failure breaker. */
function afterMigration(track: FleetTracker): void {
  if (!track.canaryDone) {
    // A canary preflight refused proves nothing: the next instance in line takes its place.
    for (const refused of track.instances.filter((i) => i.canary && i.outcome === 'refused')) {
      refused.canary = false;
      const stand = track.queued().find((i) => !i.canary);
      if (stand) stand.canary = true;
    }
    const canaries = track.instances.filter((i) => i.canary);
    if (canaries.every((i) => i.state === 'done')) {
      // The verdict is in, whatever else happened meanwhile: the canary phase is over, and a failure pauses.
      track.canaryDone = true;
      if (canaries.some((i) => !FLEET_SUCCESS.includes(i.outcome ?? 'failed'))) {
        track.pause('canary-failed');
        return;
      }
    }
  }
  if (!track.paused && track.breakerTripped()) track.pause('max-errors');
}

/** Dry run or approval: preflight every queued instance (read-only), a sliding window of `concurrency`. */
async function plan(input: FleetInput, track: FleetTracker, vpcShared: VpcShared | undefined): Promise<void> {
  const queue = [...track.queued()];
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      const target = entry;
      try {
        const r = await reads('preflight', `Plan: preflight ${target.instanceId} (read-only)`, {
          regionId: input.regionId,
          instanceId: target.instanceId,
          verify: input.migration?.verify ?? true,
          allowChargeTypeChange: input.migration?.allowChargeTypeChange ?? false,
          ...(input.migration?.allowPayByTraffic ? { allowPayByTraffic: true } : {}),
          egressCheckScript: input.migration?.egressCheckScript,
          guestPrepareScript: input.migration?.guestPrepareScript,
          ...(input.migration?.guestSetup ? { guestSetup: input.migration.guestSetup } : {}),
          vpcShared: vpcShared && sharedFor(vpcShared, target.vSwitchId),
        });
        track.apiCalls += r.apiCalls;
        const failed = r.checks.filter((c) => !c.ok);
        if (r.alreadyMigrated && patched(RELEASE_V5)) {
          // Moved since discovery (by hand, or by a migration of its own): nothing left to do.
          const moved = r.alreadyMigrated;
          track.done(target, 'already-migrated', {
            cause: `EIP ${moved.publicIp} is on ENI ${moved.networkInterfaceId} already`,
            networkInterfaceId: moved.networkInterfaceId,
          });
        } else if (failed.length) {
          track.done(target, 'refused', { cause: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') });
        } else {
          const p = r.plan;
          target.plan = [
            p.convert ? `convert NAT public IP ${p.publicIp} to an EIP` : `move EIP ${p.publicIp}`,
            `create an ENI in ${p.vSwitchId} (${p.securityGroupId}) and attach it`,
            `bind the EIP to it in NAT mode`,
            input.migration?.verify === false
              ? 'no verification'
              : `verify egress via ${p.snatIps?.join(', ')}`,
          ].join('; ');
          if (input.dryRun) track.done(target, 'planned', { plan: target.plan });
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        track.done(target, 'refused', { cause: `preflight failed: ${messageOf(err)}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(track.concurrency, queue.length) }, worker));
}

/** Cancelled: no new start; those in flight are cancelled (they roll back) and awaited; the rest never start. */
async function endCancelled(
  track: FleetTracker,
  err: unknown,
  inFlight: Map<string, Promise<void>> = new Map(),
): Promise<never> {
  await CancellationScope.nonCancellable(async () => {
    track.setState('draining');
    await Promise.allSettled(inFlight.values());
    for (const entry of track.queued())
      track.done(entry, 'not-started', { cause: 'the batch was cancelled' });
    track.finish('cancelled', 'cancelled');
  });
  throw err;
}

/**
 * The part of the VPC's shared data one instance's preflight reads: its vSwitch, and the SNAT entries for that vSwitch
 * or for an address block (which may cover its address). Keeps each child's input, and the batch's history, small.
 */
function sharedFor(shared: VpcShared, vSwitchId: string | undefined): VpcShared {
  if (!vSwitchId) return shared;
  return {
    vpcId: shared.vpcId,
    vSwitches: shared.vSwitches.filter((v) => v.vSwitchId === vSwitchId),
    natGateways: shared.natGateways.map((gw) => ({
      ...gw,
      entries: gw.entries.filter((e) => e.sourceVSwitchId === vSwitchId || e.sourceCidr !== undefined),
    })),
  };
}

function toEntry(d: DiscoveredInstance): FleetInstance {
  const base: FleetInstance = {
    instanceId: d.instanceId,
    ...(d.instanceName ? { instanceName: d.instanceName } : {}),
    ...(d.zoneId ? { zoneId: d.zoneId } : {}),
    ...(d.vSwitchId ? { vSwitchId: d.vSwitchId } : {}),
    ...(d.publicIp ? { publicIp: d.publicIp } : {}),
    state: 'queued',
  };
  switch (d.found) {
    case 'nat-public-ip':
    case 'eip':
      return base;
    case 'already-migrated':
      return {
        ...base,
        state: 'done',
        outcome: 'already-migrated',
        networkInterfaceId: d.networkInterfaceId,
        cause: d.detail,
      };
    case 'no-public-address':
      return { ...base, state: 'done', outcome: 'no-public-address', cause: d.detail };
    case 'not-in-selection':
      return { ...base, state: 'done', outcome: 'refused', cause: d.detail };
  }
}

function markCanaries(track: FleetTracker, canary: number): void {
  const queued = track.queued();
  queued.slice(0, canary).forEach((i) => (i.canary = true));
  if (canary === 0 || queued.length === 0) track.canaryDone = true;
}

function canaryCount(track: FleetTracker): number {
  return track.instances.filter((i) => i.canary).length;
}

function reportOf(err: unknown): MigrationReport | undefined {
  if (!(err instanceof ChildWorkflowFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === MIGRATION_FAILED) {
    return cause.details?.[0] as MigrationReport | undefined;
  }
  return undefined;
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function windowEndOf(input: FleetInput): string | undefined {
  if (input.windowEnd) return new Date(Date.parse(input.windowEnd)).toISOString();
  if (input.windowSeconds !== undefined)
    return new Date(Date.now() + input.windowSeconds * 1000).toISOString();
  return undefined;
}

/** Refused before anything is read or changed, each with what to do. */
function refuseBadInput(input: FleetInput): void {
  const bad = (message: string) => ApplicationFailure.nonRetryable(message, INVALID_INPUT);
  if (!/^vpc-[a-z0-9]+$/.test(input.vpcId ?? ''))
    throw bad(`vpcId must look like vpc-…, got ${JSON.stringify(input.vpcId)}`);
  const c = input.concurrency;
  if (c !== undefined && (!Number.isInteger(c) || c < 1 || c > CONCURRENCY_MAX))
    throw bad(`concurrency must be a whole number from 1 to ${CONCURRENCY_MAX}, got ${c}`);
  const k = input.canary;
  if (k !== undefined && (!Number.isInteger(k) || k < 0))
    throw bad(`canary must be a whole number ≥ 0, got ${k}`);
  try {
    errorThreshold(input.maxErrors ?? '0', 0);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (input.windowEnd !== undefined && Number.isNaN(Date.parse(input.windowEnd)))
    throw bad(
      `windowEnd must be an ISO 8601 time such as 2026-12-01T06:00:00Z, got ${JSON.stringify(input.windowEnd)}`,
    );
  if (input.windowSeconds !== undefined && !(input.windowSeconds > 0))
    throw bad(`windowSeconds must be a positive number of seconds, got ${input.windowSeconds}`);
  const n = input.continueAsNewAfterEvents;
  if (n !== undefined && (!Number.isInteger(n) || n < 50))
    throw bad(`continueAsNewAfterEvents must be a whole number ≥ 50, got ${n}`);
}
