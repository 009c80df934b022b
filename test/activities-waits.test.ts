/**
 * The activities' waits, one at a time, against the local cloud through the real SDK clients, with Temporal's
 * MockActivityEnvironment standing in for the worker: resuming from heartbeat details, a failed attach, failing fast
 * on states that cannot lead to success, cancellation, and the API call count.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities } from '../src/activities';
import { MAX_EIP_REQUESTS } from '../src/activities/eip';
import { MAX_DETACH_REISSUES, TAG_CLIENT_TOKEN } from '../src/activities/network-interface';
import { defaultTopology } from '../src/local-cloud/model';
import { createSshRunner } from '../src/ssh';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { activitiesOn, productCloudApis } from './helpers/cloud-apis';

const RUN = { workflowId: 'eni-migration/test/activities', runId: '11111111-2222-3333-4444-555555555555' };
/** Another run of the same workflow: ClientTokens derive from the run, so its tokens are its own. */
const ownRun = () => ({ workflowId: RUN.workflowId, runId: randomUUID() });

describe('activity waits', () => {
  let tc: TestCloud;
  let acts: Activities;
  let regionId: string;
  let instances: Array<{ instanceId: string; publicIp: string; zoneId: string }>;
  let vSwitchId: string;
  let securityGroupId: string;

  before(async () => {
    tc = await startTestCloud({ instances: 4 });
    regionId = tc.cloud.regionId;
    acts = activitiesOn(tc);
    instances = tc.cloud.info().instances as typeof instances;
    const i = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instances[0].instanceId]) }),
    );
    vSwitchId = i.body!.instances!.instance![0].vpcAttributes!.vSwitchId!;
    securityGroupId = i.body!.instances!.instance![0].securityGroupIds!.securityGroupId![0];
  });
  after(() => tc?.cloud.stop());

  const env = (heartbeatDetails?: unknown, run = RUN) =>
    new MockActivityEnvironment({ workflowExecution: run, heartbeatDetails } as never);

  /** Runs one activity in a fresh mock context (the SDK's `run` does not infer the result type). */
  function runAct<K extends keyof Activities>(
    name: K,
    input: Parameters<Activities[K]>[0],
    heartbeatDetails?: unknown,
    run = RUN,
  ): Promise<Awaited<ReturnType<Activities[K]>>> {
    return env(heartbeatDetails, run).run(
      acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>,
      input,
    );
  }

  /** The next create acts but its answer is lost: a 500 after it acted, or (drop) a connection reset. */
  const createAnswerLost = (opts: { drop?: boolean } = {}) =>
    tc.admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InternalError',
      count: 1,
      when: 'after',
      ...opts,
    });

  async function newEni(): Promise<string> {
    const r = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({ regionId, vSwitchId, securityGroupId }),
    );
    return r.body!.networkInterfaceId!;
  }

  /** Ids of the ENIs in the cloud (Describe lag or not) that are not in `known`. */
  async function newEnis(known: Iterable<string>): Promise<string[]> {
    const state = await tc.admin.state();
    const ids = (state.NetworkInterfaces as Array<{ NetworkInterfaceId: string }>).map(
      (e) => e.NetworkInterfaceId,
    );
    const old = new Set(known);
    return ids.filter((id) => !old.has(id));
  }

  it('counts its API calls exactly as the cloud does', async () => {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await runAct('createNetworkInterface', {
      instanceId: instances[0].instanceId,
      vSwitchId,
      securityGroupId,
    });
    const calls = await tc.admin.calls({ since });
    assert.equal(r.apiCalls, calls.length);
    assert.ok(
      calls.some((c) => c.action === 'CreateNetworkInterface' && c.params[`Tag.3.Key`] === TAG_CLIENT_TOKEN),
    );
  });

  it('a retried create resumes from its heartbeat: no second ENI', async () => {
    const existing = await newEni();
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await runAct(
      'createNetworkInterface',
      { instanceId: instances[0].instanceId, vSwitchId, securityGroupId },
      { apiCalls: 3, polls: 1, state: { networkInterfaceId: existing, invisiblePolls: 0 } },
    );
    assert.equal(r.networkInterfaceId, existing);
    assert.deepEqual((await tc.admin.calls({ action: 'CreateNetworkInterface', since })).length, 0);
    assert.equal(r.apiCalls, 3 + 1, 'calls of earlier attempts carry over');
  });

  it('an attach that falls back to Available fails retryably, and the next attempt attaches', async () => {
    const eni = await newEni();
    const ref = { networkInterfaceId: eni, instanceId: instances[0].instanceId };
    await tc.admin.behaviours({ attachFallbacks: 1 });
    const err = await env()
      .run(acts.attachNetworkInterface, ref)
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'AttachFellBack');
    assert.equal(err.nonRetryable, false);
    await env().run(acts.attachNetworkInterface, ref);
    const d = await tc.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eni] }),
    );
    assert.equal(d.body!.networkInterfaceSets!.networkInterfaceSet![0].status, 'InUse');
    // Detaching (the compensation) twice is the same as once; deleting an ENI that is gone is done.
    await env().run(acts.detachNetworkInterface, ref);
    await env().run(acts.detachNetworkInterface, ref);
    const create = { instanceId: ref.instanceId, vSwitchId, securityGroupId };
    await runAct('deleteNetworkInterface', { networkInterfaceId: eni, create });
    await runAct('deleteNetworkInterface', { networkInterfaceId: eni, create });
  });

  it('a delete without the id re-sends the create (same ClientToken) to learn it, though Describe lags', async () => {
    const create = { instanceId: instances[1].instanceId, vSwitchId, securityGroupId };
    const run = ownRun(); // its own ClientToken
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const before = await newEnis(new Set());
    await tc.admin.behaviours({ describeLagMs: 5000 });
    try {
      // Step 2's answer is lost: the ENI exists, the caller never learns its id.
      await createAnswerLost();
      await assert.rejects(runAct('createNetworkInterface', create, undefined, run));
      const created = await newEnis(before);
      assert.equal(created.length, 1);
      const r = await runAct('deleteNetworkInterface', { create }, undefined, run);
      assert.equal(r.networkInterfaceId, created[0]);
      assert.deepEqual(await newEnis(before), [], 'the ENI is gone');
      const creates = await tc.admin.calls({ action: 'CreateNetworkInterface', since });
      assert.equal(creates.length, 2);
      assert.equal(creates[1].params.ClientToken, creates[0].params.ClientToken);
    } finally {
      await tc.admin.clearFaults();
      await tc.admin.behaviours({ describeLagMs: 0 });
    }
  });

  it('a delete without the id, when the cloud refuses the create as such: nothing was created, nothing to do', async () => {
    const taken = await newEni();
    const d = await tc.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [taken] }),
    );
    const primaryIpAddress = d.body!.networkInterfaceSets!.networkInterfaceSet![0].privateIpAddress!;
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const r = await runAct(
      'deleteNetworkInterface',
      { create: { instanceId: instances[1].instanceId, vSwitchId, securityGroupId, primaryIpAddress } },
      undefined,
      ownRun(),
    );
    assert.equal(r.networkInterfaceId, undefined);
    const calls = await tc.admin.calls({ since });
    // The refused token is looked up by its tag first (an earlier send of it may have made an ENI): none.
    assert.deepEqual(
      calls.map((c) => [c.action, c.code]),
      [
        ['CreateNetworkInterface', 'InvalidPrivateIpAddress.Duplicated'],
        ['DescribeNetworkInterfaces', undefined],
      ],
    );
  });

  it('a delete without the id finds the ENI by its token tag when the re-sent create is refused (a conflict)', async () => {
    const create = { instanceId: instances[2].instanceId, vSwitchId, securityGroupId };
    const run = ownRun();
    const before = await newEnis(new Set());
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    try {
      // Step 2 made the ENI; its answer was lost on the way (a reset).
      await createAnswerLost({ drop: true });
      await assert.rejects(runAct('createNetworkInterface', create, undefined, run));
      const created = await newEnis(before);
      assert.equal(created.length, 1);
      // The undo's repeat of step 2's token is answered with a failure: it does not prove that nothing was made.
      await tc.admin.fault({ action: 'CreateNetworkInterface', code: 'OperationConflict', count: 1 });
      const r = await runAct('deleteNetworkInterface', { create }, undefined, run);
      assert.equal(r.networkInterfaceId, created[0]);
      assert.deepEqual(await newEnis(before), [], 'the ENI is gone, and no other was made');
      const creates = await tc.admin.calls({ action: 'CreateNetworkInterface', since });
      assert.equal(creates.length, 2, 'no create with a new token');
    } finally {
      await tc.admin.clearFaults();
    }
  });

  it('fails fast when the EIP is bound elsewhere instead of waiting for a state that will not come', async () => {
    const [a, b] = instances;
    await tc.ecs.convertNatPublicIpToEip(
      new $Ecs.ConvertNatPublicIpToEipRequest({ regionId, instanceId: a.instanceId }),
    );
    const { allocationId } = await runAct('convertNatPublicIpToEip', {
      instanceId: a.instanceId,
      publicIp: a.publicIp,
    });
    const started = Date.now();
    const err = await env()
      .run(acts.associateEipToInstance, { allocationId, instanceId: b.instanceId })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'EipBoundElsewhere');
    assert.equal(err.nonRetryable, true);
    assert.ok(Date.now() - started < 1000);
    // Unbinding from an instance it is not on is the same refusal; binding where it already is, a no-op.
    await env().run(acts.associateEipToInstance, { allocationId, instanceId: a.instanceId });
    const eips = await tc.vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }),
    );
    assert.equal(eips.body!.eipAddresses!.eipAddress![0].instanceId, a.instanceId);
  });

  it('ClientTokens follow the seed the workflow passes: a reset (new run, same seed) gets the same ENI', async () => {
    const create = {
      instanceId: instances[2].instanceId,
      vSwitchId,
      securityGroupId,
      tokenSeed: randomUUID(),
    };
    const before = await newEnis(new Set());
    const first = await runAct('createNetworkInterface', create, undefined, ownRun());
    const afterReset = await runAct('createNetworkInterface', create, undefined, ownRun());
    assert.equal(afterReset.networkInterfaceId, first.networkInterfaceId);
    assert.deepEqual(await newEnis(before), [first.networkInterfaceId]);
    // Another migration (another seed) gets an ENI of its own.
    const next = await runAct('createNetworkInterface', { ...create, tokenSeed: randomUUID() });
    assert.notEqual(next.networkInterfaceId, first.networkInterfaceId);
  });

  it('an EIP binding that did not take is requested again with a new ClientToken', async () => {
    const { instanceId, publicIp } = instances[3];
    const { allocationId } = await runAct('convertNatPublicIpToEip', { instanceId, publicIp });
    const eip = { allocationId, instanceId, tokenSeed: randomUUID() };
    const someoneElse = ownRun();
    await runAct('unassociateEipFromInstance', { allocationId, instanceId }, undefined, someoneElse);
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    await runAct('associateEipToInstance', eip);
    // Undone behind the activity's back; its retry (resumed from its checkpoint) must not reuse the token, which
    // would only get the first request's success back while the EIP stays Available.
    await runAct('unassociateEipFromInstance', { allocationId, instanceId }, undefined, someoneElse);
    const retried = runAct('associateEipToInstance', eip, {
      apiCalls: 0,
      polls: 0,
      state: { issued: 1, issuedAt: Date.now() - 60_000 },
    });
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('never bound')), 5000).unref(),
    );
    await Promise.race([retried, timeout]);
    const tokens = (await tc.admin.calls({ action: 'AssociateEipAddress', since })).map(
      (c) => c.params.ClientToken,
    );
    assert.equal(tokens.length, 2);
    assert.notEqual(tokens[0], tokens[1]);
    const eips = await tc.vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }),
    );
    assert.equal(eips.body!.eipAddresses!.eipAddress![0].status, 'InUse');
  });

  it('refuses to detach or delete an ENI that still carries the EIP', async () => {
    const { instanceId, publicIp } = instances[3];
    const { allocationId } = await runAct('convertNatPublicIpToEip', { instanceId, publicIp });
    // An ENI in the instance's own vSwitch (this instance is in another zone than the others).
    const i = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
    );
    const own = i.body!.instances!.instance![0];
    const create = {
      instanceId,
      vSwitchId: own.vpcAttributes!.vSwitchId!,
      securityGroupId: own.securityGroupIds!.securityGroupId![0],
    };
    const { networkInterfaceId: eni } = await runAct('createNetworkInterface', create, undefined, ownRun());
    await runAct('attachNetworkInterface', { networkInterfaceId: eni, instanceId });
    const d = await tc.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eni] }),
    );
    const privateIpAddress = d.body!.networkInterfaceSets!.networkInterfaceSet![0].privateIpAddress!;
    const run = ownRun();
    await runAct('unassociateEipFromInstance', { allocationId, instanceId }, undefined, run);
    await runAct(
      'associateEipToEni',
      { allocationId, networkInterfaceId: eni, privateIpAddress },
      undefined,
      run,
    );
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    for (const attempt of [
      runAct('detachNetworkInterface', { networkInterfaceId: eni, instanceId }),
      runAct('deleteNetworkInterface', { networkInterfaceId: eni, create }),
    ]) {
      const err = await attempt.catch((e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'EniHasEip');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, new RegExp(`carries EIP ${publicIp.replace(/\./g, '\\.')}`));
    }
    const changes = (await tc.admin.calls({ since })).filter((c) => !c.action.startsWith('Describe'));
    assert.deepEqual(changes, []);
    // Once the EIP is back on the instance, the same compensations go through.
    await runAct(
      'unassociateEipFromEni',
      { allocationId, networkInterfaceId: eni, privateIpAddress },
      undefined,
      run,
    );
    await runAct('associateEipToInstance', { allocationId, instanceId }, undefined, run);
    await runAct('detachNetworkInterface', { networkInterfaceId: eni, instanceId });
    await runAct('deleteNetworkInterface', { networkInterfaceId: eni, create });
  });

  it('a detach issued moments ago is not issued again while the ENI still shows InUse', async () => {
    const eni = await newEni();
    const ref = { networkInterfaceId: eni, instanceId: instances[0].instanceId };
    await runAct('attachNetworkInterface', ref);
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const started = Date.now();
    // A retry resumed right after an attempt that issued the detach, before Describe shows Detaching.
    await runAct('detachNetworkInterface', ref, {
      apiCalls: 0,
      polls: 0,
      state: { detachIssuedAt: started },
    });
    const detaches = await tc.admin.calls({ action: 'DetachNetworkInterface', since });
    assert.equal(detaches.length, 1);
    // Issued only once the earlier detach counted as stuck (15 poll intervals, at least 500 ms).
    assert.ok(Date.parse(String(detaches[0].time)) - started >= 450, JSON.stringify(detaches[0]));
  });

  it('an attach that stays Attaching past its wait budget fails retryably; the retry gets a fresh budget', async () => {
    const eni = await newEni();
    const ref = { networkInterfaceId: eni, instanceId: instances[0].instanceId };
    const { ecs, vpc } = productCloudApis(tc, regionId);
    const budgetMs = 300;
    const impatient = createActivities({
      ecs,
      vpc,
      ssh: createSshRunner({}),
      pollIntervalMs: 20,
      waitBudgetMs: budgetMs,
    });
    await tc.admin.timings({ attachMs: 1500 });
    try {
      const e = env();
      let lastBeat: unknown;
      e.on('heartbeat', (d: unknown) => (lastBeat = d));
      const started = Date.now();
      const err = await e.run(impatient.attachNetworkInterface, ref).catch((x: unknown) => x);
      const took = Date.now() - started;
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'WaitBudgetExceeded');
      assert.equal(err.nonRetryable, false);
      assert.match(
        err.message,
        new RegExp(`ENI ${eni} \\(attach to ${ref.instanceId}\\): still Attaching after 0\\.\\d s`),
      );
      assert.ok(took >= budgetMs && took < budgetMs + 700, `failed after ${took} ms`);
      // The retry resumes from the last checkpoint, whose deadline has passed: it waits anew, until InUse.
      assert.ok((lastBeat as { deadline: number }).deadline <= Date.now());
      await runAct('attachNetworkInterface', ref, lastBeat);
      const d = await tc.ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eni] }),
      );
      assert.equal(d.body!.networkInterfaceSets!.networkInterfaceSet![0].status, 'InUse');
    } finally {
      await tc.admin.timings({ attachMs: 100 });
    }
    await runAct('detachNetworkInterface', ref);
  });

  it('a cancelled wait stops at once', async () => {
    const eni = await newEni();
    await tc.admin.timings({ attachMs: 5000 });
    try {
      const e = env();
      let beats = 0;
      e.on('heartbeat', () => {
        if (++beats === 3) e.cancel();
      });
      const started = Date.now();
      await assert.rejects(
        e.run(acts.attachNetworkInterface, { networkInterfaceId: eni, instanceId: instances[2].instanceId }),
        CancelledFailure,
      );
      assert.ok(Date.now() - started < 2000);
    } finally {
      await tc.admin.timings({ attachMs: 100 });
    }
  });
});

/**
 * The real cloud's rules (issue 8) as the activities meet them: quotas fail for good with their fix and leave nothing;
 * a create without an id is called again; an EIP change refused while the ENI is Attaching gets through on a retry; an
 * association that falls back is requested again, but not forever; a detach stuck for good fails saying to restart the
 * instance; a stuck delete is issued again; the switch to pay-as-you-go pays its order (AutoPay).
 */
describe("activities under the real cloud's rules", () => {
  const SPARE_EIP = 'eip-bp1spare0000000001';
  const ENI_QUOTA = 2;
  let tc: TestCloud;
  let acts: Activities;
  let dir: string;
  let regionId: string;
  let instanceIds: string[];
  let vSwitchId: string;
  let securityGroupId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acts-rules-'));
    const topology = defaultTopology({ instances: 2 });
    // Both instances in one vSwitch; the second is a subscription instance with its bandwidth billed by bandwidth.
    topology.instances[1].vSwitchId = topology.instances[0].vSwitchId;
    Object.assign(topology.instances[1], {
      instanceChargeType: 'PrePaid',
      internetChargeType: 'PayByBandwidth',
    });
    topology.eips = [{ allocationId: SPARE_EIP, ipAddress: '47.96.1.2' }];
    topology.quotas = { maxEnis: ENI_QUOTA };
    const topologyFile = join(dir, 'region.json');
    writeFileSync(topologyFile, JSON.stringify(topology));
    tc = await startTestCloud({ topologyFile });
    regionId = tc.cloud.regionId;
    acts = activitiesOn(tc);
    instanceIds = topology.instances.map((i) => i.instanceId);
    vSwitchId = topology.instances[0].vSwitchId;
    securityGroupId = topology.vpcs[0].securityGroups[0].securityGroupId;
  });
  after(async () => {
    await tc?.cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one activity as attempt `attempt` of a fresh mock context. */
  // The last heartbeat of the previous run of an activity: Temporal hands it to the next attempt, which finds the
  // ClientToken generation there (a token the cloud answered with a failure is not sent again).
  let lastBeat: unknown;
  function runAct<K extends keyof Activities>(
    name: K,
    input: Parameters<Activities[K]>[0],
    attempt = 1,
    run = RUN,
    heartbeatDetails?: unknown,
  ): Promise<Awaited<ReturnType<Activities[K]>>> {
    lastBeat = undefined;
    const env = new MockActivityEnvironment({ workflowExecution: run, attempt, heartbeatDetails } as never);
    env.on('heartbeat', (d: unknown) => (lastBeat = d));
    return env.run(acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>, input);
  }
  async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => assert.fail('expected the activity to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    return err;
  }
  async function secondaryEnis(): Promise<string[]> {
    const state = await tc.admin.state();
    return (state.NetworkInterfaces as Array<{ NetworkInterfaceId: string; Type: string }>)
      .filter((e) => e.Type === 'Secondary')
      .map((e) => e.NetworkInterfaceId);
  }
  async function newEni(secondaryPrivateIpAddressCount?: number): Promise<string> {
    const r = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId,
        vSwitchId,
        securityGroupId,
        secondaryPrivateIpAddressCount,
      }),
    );
    return r.body!.networkInterfaceId!;
  }
  const eniStatus = async (id: string) => {
    const d = await tc.ecs.describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [id] }),
    );
    return d.body!.networkInterfaceSets!.networkInterfaceSet![0]?.status;
  };
  const remove = (networkInterfaceId: string) => runAct('deleteNetworkInterface', { networkInterfaceId });
  const since = async () => (await tc.admin.calls()).at(-1)?.seq ?? 0;
  const create = () => ({ instanceId: instanceIds[0], vSwitchId, securityGroupId });

  it('an ENI quota used up fails step 2 for good, with its fix, and makes nothing', async () => {
    const made = [await newEni(), await newEni()];
    const err = await failure(runAct('createNetworkInterface', create()));
    assert.equal(err.type, 'MaxEniCountExceeded');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /fix: .*release unused ENIs.*Quota Center/);
    assert.deepEqual((await secondaryEnis()).sort(), [...made].sort());
    for (const id of made) await remove(id);
    assert.deepEqual(await secondaryEnis(), []);
  });

  it('an attach refused for its private IPs fails for good; the compensation deletes the ENI', async () => {
    const eni = await newEni(6); // 7 private IPs; ecs.g7.large takes 6 per ENI
    const err = await failure(
      runAct('attachNetworkInterface', { networkInterfaceId: eni, instanceId: instanceIds[0] }),
    );
    assert.equal(err.type, 'InvalidOperation.Ipv4CountExceeded');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /fix: /);
    await remove(eni);
    assert.deepEqual(await secondaryEnis(), []);
  });

  it('a create answered without an ENI id is not taken as success: the retry calls again, one ENI is made', async () => {
    await tc.admin.behaviours({ emptyCreates: 1 });
    const from = await since();
    const run = ownRun(); // the first test's create was answered MaxEniCountExceeded: that token is spent
    const err = await failure(runAct('createNetworkInterface', create(), 1, run));
    assert.equal(err.type, 'NoNetworkInterfaceId');
    assert.equal(err.nonRetryable, false);
    const r = await runAct('createNetworkInterface', create(), 2, run, lastBeat);
    assert.deepEqual(await secondaryEnis(), [r.networkInterfaceId]);
    const calls = await tc.admin.calls({ action: 'CreateNetworkInterface', since: from });
    assert.equal(calls.length, 2);
    // The empty answer spends the token: the cloud may give it again to a repeat of that token.
    assert.notEqual(calls[0].params.ClientToken, calls[1].params.ClientToken);
    await remove(r.networkInterfaceId);
  });

  it('a create whose answer was lost, then refused on its repeat, makes no second ENI: the retry takes the tagged one', async () => {
    const from = await since();
    const run = ownRun();
    // The cloud makes the ENI, and its answer is lost on the way (the connection is reset).
    await tc.admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InternalError',
      when: 'after',
      drop: true,
      count: 1,
    });
    const lost = await failure(runAct('createNetworkInterface', create(), 1, run));
    assert.equal(lost.nonRetryable, false);
    const made = await secondaryEnis();
    assert.equal(made.length, 1);
    // The repeat of the same token is answered with a failure (which spends the token).
    await tc.admin.fault({ action: 'CreateNetworkInterface', code: 'OperationConflict', count: 1 });
    const conflict = await failure(runAct('createNetworkInterface', create(), 2, run, lastBeat));
    assert.equal(conflict.type, 'OperationConflict');
    assert.equal(conflict.nonRetryable, false);
    // The next attempt would send a new token: it looks for the ENI tagged with the earlier one first, and takes it.
    const r = await runAct('createNetworkInterface', create(), 3, run, lastBeat);
    assert.equal(r.networkInterfaceId, made[0]);
    assert.deepEqual(await secondaryEnis(), made, 'one ENI');
    const creates = await tc.admin.calls({ action: 'CreateNetworkInterface', since: from });
    assert.equal(creates.length, 2, 'no create with a new token');
    assert.equal(creates[0].params.ClientToken, creates[1].params.ClientToken);
    await remove(r.networkInterfaceId);
    assert.deepEqual(await secondaryEnis(), []);
  });

  it('step 5 issued while the ENI is still Attaching gets through on the retry; unbinding names the ENI binding', async () => {
    const eni = await newEni();
    const attr = await tc.ecs.describeNetworkInterfaceAttribute(
      new $Ecs.DescribeNetworkInterfaceAttributeRequest({ regionId, networkInterfaceId: eni }),
    );
    const onEni = {
      allocationId: SPARE_EIP,
      networkInterfaceId: eni,
      privateIpAddress: attr.body!.privateIpAddress!,
    };
    await tc.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({
        regionId,
        networkInterfaceId: eni,
        instanceId: instanceIds[0],
      }),
    );
    const err = await failure(runAct('associateEipToEni', onEni));
    assert.equal(err.type, 'InvalidStatus.EniStatusNotSupport');
    assert.equal(err.nonRetryable, false, 'transitional: the retry policy tries again');
    await sleep(150); // the retry's backoff; the attach settles
    await runAct('associateEipToEni', onEni, 2, RUN, lastBeat);
    const from = await since();
    await runAct('unassociateEipFromEni', onEni);
    const [unbind] = await tc.admin.calls({ action: 'UnassociateEipAddress', since: from });
    assert.equal(unbind.params.InstanceType, 'NetworkInterface', 'the API defaults to EcsInstance');

    // An association that ends Available is requested again (a new ClientToken); one that never takes fails clearly.
    // (Another migration's step 5: the tokens of this run were used above.)
    await tc.admin.behaviours({ associateFallbacks: 1 });
    const again = await since();
    await runAct('associateEipToEni', onEni, 1, ownRun());
    const requests = await tc.admin.calls({ action: 'AssociateEipAddress', since: again });
    assert.equal(requests.length, 2);
    assert.notEqual(requests[0].params.ClientToken, requests[1].params.ClientToken);
    await runAct('unassociateEipFromEni', onEni);
    await tc.admin.behaviours({ associateFallbacks: 100 });
    try {
      // A retry resuming after MAX_EIP_REQUESTS - 1 requests that did not take (their waits are not worth the time here).
      const resumed = { apiCalls: 0, polls: 0, state: { issued: MAX_EIP_REQUESTS - 1, issuedAt: 0 } };
      const never = await failure(runAct('associateEipToEni', onEni, 2, ownRun(), resumed));
      assert.equal(never.type, 'EipMoveNotTakingEffect');
      assert.equal(never.nonRetryable, true);
      assert.match(never.message, new RegExp(`${MAX_EIP_REQUESTS} AssociateEipAddress requests`));
    } finally {
      await tc.admin.behaviours({ associateFallbacks: 0 });
    }

    // A detach stuck for good: re-issued a bounded number of times, then a failure that says to restart the instance.
    await tc.admin.behaviours({ stuckDetaches: 1, stuckDetachReissues: 100 });
    const ref = { networkInterfaceId: eni, instanceId: instanceIds[0] };
    try {
      await tc.ecs.detachNetworkInterface(new $Ecs.DetachNetworkInterfaceRequest({ regionId, ...ref }));
      // A retry resuming after MAX_DETACH_REISSUES - 1 re-issues, the last one long ago: it re-issues once more.
      const from = await since();
      const resumed = {
        apiCalls: 0,
        polls: 0,
        state: { detachIssuedAt: Date.now() - 60_000, reissued: MAX_DETACH_REISSUES - 1 },
      };
      const stuck = await failure(runAct('detachNetworkInterface', ref, 2, RUN, resumed));
      assert.equal(stuck.type, 'DetachStuck');
      assert.equal(stuck.nonRetryable, true);
      assert.match(
        stuck.message,
        new RegExp(`after ${MAX_DETACH_REISSUES} re-issued detaches; restart the instance`),
      );
      assert.equal((await tc.admin.calls({ action: 'DetachNetworkInterface', since: from })).length, 1);
      assert.equal(await eniStatus(eni), 'Detaching');
    } finally {
      await tc.admin.behaviours({ stuckDetachReissues: 0 });
    }
    await runAct('detachNetworkInterface', ref); // after the "restart": the next re-issue clears it

    // A stuck Deleting: the delete is issued again.
    await tc.admin.behaviours({ stuckDeletes: 1 });
    await remove(eni);
    assert.deepEqual(await secondaryEnis(), []);
    const deletes = await tc.admin.calls({ action: 'DeleteNetworkInterface', since: from });
    assert.equal(
      deletes.filter((c) => c.status === 200).length,
      2,
      'issued, then issued again while Deleting',
    );
  });

  it('the switch to pay-by-traffic draws a new ClientToken after the cloud answered a failure', async () => {
    const from = await since();
    const run = ownRun();
    await tc.admin.fault({ action: 'ModifyInstanceNetworkSpec', code: 'OperationConflict', count: 1 });
    const err = await failure(runAct('switchToPayByTraffic', { instanceId: instanceIds[1] }, 1, run));
    assert.equal(err.type, 'OperationConflict');
    const r = await runAct('switchToPayByTraffic', { instanceId: instanceIds[1] }, 2, run, lastBeat);
    assert.equal(r.internetChargeType, 'PayByTraffic');
    const modifies = await tc.admin.calls({ action: 'ModifyInstanceNetworkSpec', since: from });
    assert.equal(modifies.length, 2);
    assert.notEqual(modifies[0].params.ClientToken, modifies[1].params.ClientToken);
  });

  it('the switch to pay-as-you-go pays its order (AutoPay=true): the charge type changes', async () => {
    const from = await since();
    const r = await runAct('switchToPostPaid', { instanceId: instanceIds[1] });
    assert.equal(r.chargeType, 'PostPaid');
    const [modify] = await tc.admin.calls({ action: 'ModifyInstanceChargeType', since: from });
    assert.equal(modify.params.AutoPay, 'true');
  });
});
