/**
 * Waits that follow the cloud and the fewest calls (issue 9): a transition's first check comes when it can first be
 * done (its typical duration, configured or learned), not at a multiple of the poll interval; a first attempt acts
 * without a look-before-act read, a retry or a resumed attempt looks first. Asserted on the local cloud's call log
 * and on computed delays, never on how long something took.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as $Ecs from '@alicloud/ecs20140526';
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Activities } from '../src/activities';
import { ConfigError, describeConfig, loadConfig } from '../src/config';
import { createMigrationWorker } from '../src/worker';
import { execute, Execution, TransitionEstimates, TYPICAL_TRANSITION_MS } from '../src/activities/execution';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { activitiesOn } from './helpers/cloud-apis';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';

const run = () => ({ workflowId: `eni-migration/test/speed-${randomUUID()}`, runId: randomUUID() });

describe('waits that follow the cloud', () => {
  it('the first check of a transition comes after its typical duration, not 1.5 poll intervals', async () => {
    const env = new MockActivityEnvironment({ workflowExecution: run() } as never);
    const delays: { none: number; first: number } = await env.run(async () => {
      const transitions = new TransitionEstimates({ attachMs: 5000 });
      const x = new Execution({}, { intervalMs: 2000, transitions });
      const none = x.nextDelay(); // nothing requested: the poll interval (±25%), not 1.5 times it
      x.requested('attach');
      return { none, first: x.nextDelay() };
    });
    assert.ok(delays.none >= 1500 && delays.none <= 2500, `without a transition: ${delays.none} ms`);
    // 5000 ms after the request, up to 2% later; never earlier (a slow machine only makes it shorter by its delay).
    assert.ok(delays.first >= 4000 && delays.first <= 5100, `first check after ${delays.first} ms`);
  });

  it('learns per action: slower than expected moves the estimate up, done at once probes slowly down', () => {
    const t = new TransitionEstimates({ associateMs: 1000 });
    assert.equal(t.expectedMs('associate'), 1000);
    assert.equal(t.expectedMs('attach'), TYPICAL_TRANSITION_MS.attachMs);
    t.observe('associate', 1600, 3); // not done at the first check: seen done after 1.6 s
    assert.ok(t.expectedMs('associate') > 1200, String(t.expectedMs('associate')));
    const up = t.expectedMs('associate');
    t.observe('associate', up, 1); // done at the first check
    assert.ok(t.expectedMs('associate') < up && t.expectedMs('associate') > 0.98 * up);
    for (let i = 0; i < 50; i++) t.observe('associate', 60_000, 2); // an outlier does not run away
    assert.ok(t.expectedMs('associate') <= 4000);
    assert.equal(t.expectedMs('attach'), TYPICAL_TRANSITION_MS.attachMs, 'other actions unaffected');
  });
});

describe('heartbeats: none before the first checkpoint, which is sent as the first heartbeat', () => {
  /**
   * Runs `body` as an activity and returns the details of every heartbeat call. The mock passes each on; the SDK
   * sends the first at once and holds the rest (8 s), so the first call is the one that reaches the server at once.
   */
  async function beats(body: Parameters<typeof execute>[2]): Promise<unknown[]> {
    const env = new MockActivityEnvironment({ workflowExecution: run() } as never);
    const sent: unknown[] = [];
    env.on('heartbeat', (d: unknown) => sent.push(d));
    await env.run(() => execute({}, { intervalMs: 2000 }, body));
    return sent;
  }

  it('an activity done before the keep-alive tick sends none', async () => {
    assert.deepEqual(await beats(async () => ({})), []);
  });

  it('the first checkpoint (here: a request sent) is the first heartbeat, with its transition', async () => {
    const sent = await beats(async (x) => {
      x.requested('attach', { issued: 1 });
      return {};
    });
    assert.equal(sent.length, 1);
    const [first] = sent as Array<{ state: { issued?: number }; transition?: { action: string } }>;
    assert.equal(first.transition?.action, 'attach');
    assert.equal(first.state.issued, 1);
  });
});

describe('the fewest calls: look before acting only on a retry', () => {
  let tc: TestCloud;
  let acts: Activities;
  let regionId: string;
  let instances: Array<{ instanceId: string; publicIp: string }>;
  /** The vSwitch and security group of an instance (instances are spread over zones). */
  let networkOf: (instanceId: string) => Promise<{ vSwitchId: string; securityGroupId: string }>;

  before(async () => {
    tc = await startTestCloud({ instances: 4 });
    regionId = tc.cloud.regionId;
    acts = activitiesOn(tc);
    instances = tc.cloud.info().instances as typeof instances;
    networkOf = async (instanceId) => {
      const i = await tc.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
      );
      const instance = i.body!.instances!.instance![0];
      return {
        vSwitchId: instance.vpcAttributes!.vSwitchId!,
        securityGroupId: instance.securityGroupIds!.securityGroupId![0],
      };
    };
  });
  after(() => tc?.cloud.stop());

  /** Runs one activity as attempt `attempt` (with heartbeat details: resumed) and returns the actions it called. */
  async function actions<K extends keyof Activities>(
    name: K,
    input: Parameters<Activities[K]>[0],
    opts: { attempt?: number; heartbeatDetails?: unknown; workflow?: ReturnType<typeof run> } = {},
  ): Promise<{ result: Awaited<ReturnType<Activities[K]>>; calls: string[]; at: number[] }> {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const env = new MockActivityEnvironment({
      workflowExecution: opts.workflow ?? run(),
      attempt: opts.attempt ?? 1,
      heartbeatDetails: opts.heartbeatDetails,
    } as never);
    const result = (await env.run(
      acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>,
      input,
    )) as Awaited<ReturnType<Activities[K]>>;
    const log = await tc.admin.calls({ since });
    return { result, calls: log.map((c) => c.action), at: log.map((c) => Date.parse(c.time)) };
  }

  it('a first attempt acts at once and checks once, when the transition is over: one migration in 16 calls', async () => {
    const { instanceId, publicIp } = instances[0];
    await tc.admin.timings({ attachMs: 400 });
    try {
      const convert = await actions('convertNatPublicIpToEip', { instanceId, publicIp });
      assert.deepEqual(convert.calls, ['ConvertNatPublicIpToEip', 'DescribeEipAddresses']);
      const { allocationId } = convert.result;

      const create = await actions('createNetworkInterface', {
        instanceId,
        ...(await networkOf(instanceId)),
      });
      assert.deepEqual(create.calls, ['CreateNetworkInterface'], "the create's answer says Available");
      assert.ok(create.result.privateIpAddress);
      const { networkInterfaceId, privateIpAddress } = create.result;

      // The activities expect 100 ms (their configuration); this attach takes 400: short polls follow the first check.
      const attach = await actions('attachNetworkInterface', { networkInterfaceId, instanceId });
      assert.deepEqual(attach.calls.slice(0, 2), ['AttachNetworkInterface', 'DescribeNetworkInterfaces']);
      assert.ok(attach.at[1] - attach.at[0] >= 90, 'first check after the typical duration');
      // Learned: the next attach is expected to take longer, so its first check comes later.

      const unbind = await actions('unassociateEipFromInstance', { allocationId, instanceId });
      assert.deepEqual(unbind.calls, ['UnassociateEipAddress', 'DescribeEipAddresses']);
      const bind = await actions('associateEipToEni', { allocationId, networkInterfaceId, privateIpAddress });
      assert.deepEqual(bind.calls, ['AssociateEipAddress', 'DescribeEipAddresses']);
      assert.equal(bind.result.apiCalls, 2);
    } finally {
      await tc.admin.timings({ attachMs: 100 });
    }
  });

  it('a retry looks before it acts, and finds what the first attempt did', async () => {
    const { instanceId, publicIp } = instances[1];
    const workflow = run();
    // Attempt 1's convert took effect, its answer was lost.
    await tc.admin.fault({
      action: 'ConvertNatPublicIpToEip',
      code: 'InternalError',
      count: 1,
      when: 'after',
    });
    await assert.rejects(actions('convertNatPublicIpToEip', { instanceId, publicIp }, { workflow }));
    const convert = await actions(
      'convertNatPublicIpToEip',
      { instanceId, publicIp },
      { attempt: 2, workflow },
    );
    assert.equal(convert.calls[0], 'DescribeEipAddresses', 'looks first');
    assert.ok(!convert.calls.includes('ConvertNatPublicIpToEip'), convert.calls.join(' '));
    const { allocationId } = convert.result;

    const create = { instanceId, ...(await networkOf(instanceId)) };
    const first = await actions('createNetworkInterface', create, { workflow });
    const again = await actions('createNetworkInterface', create, { attempt: 2, workflow });
    assert.equal(
      again.result.networkInterfaceId,
      first.result.networkInterfaceId,
      'same ClientToken, same ENI',
    );
    assert.deepEqual(again.calls, ['CreateNetworkInterface', 'DescribeNetworkInterfaces'], 'a retry looks');
    const { networkInterfaceId, privateIpAddress } = first.result;

    const attach = await actions(
      'attachNetworkInterface',
      { networkInterfaceId, instanceId },
      { attempt: 2 },
    );
    assert.deepEqual(attach.calls.slice(0, 2), ['DescribeNetworkInterfaces', 'AttachNetworkInterface']);

    // Attempt 1's unbind took effect, its answer was lost: the retry sees it and sends nothing.
    await tc.admin.fault({ action: 'UnassociateEipAddress', code: 'InternalError', count: 1, when: 'after' });
    await assert.rejects(actions('unassociateEipFromInstance', { allocationId, instanceId }, { workflow }));
    const unbind = await actions(
      'unassociateEipFromInstance',
      { allocationId, instanceId },
      { attempt: 2, workflow },
    );
    assert.ok(
      unbind.calls.every((c) => c === 'DescribeEipAddresses'),
      unbind.calls.join(' '),
    );

    // A worker restart: attempt 1 again, but resumed from a checkpoint of the previous release (no new fields).
    const bind = await actions(
      'associateEipToEni',
      { allocationId, networkInterfaceId, privateIpAddress },
      { heartbeatDetails: { apiCalls: 1, polls: 0, deadline: 0, state: { issued: 0, issuedAt: 0 } } },
    );
    assert.deepEqual(bind.calls.slice(0, 2), ['DescribeEipAddresses', 'AssociateEipAddress']);
    assert.equal(bind.result.apiCalls, 1 + bind.calls.length);
  });

  it('a rollback round looks before it acts on its first attempt', async () => {
    const { instanceId, publicIp } = instances[2];
    const { result } = await actions('convertNatPublicIpToEip', { instanceId, publicIp });
    const bindBack = await actions('associateEipToInstance', {
      allocationId: result.allocationId,
      instanceId,
      tokenScope: 'r1',
    });
    assert.deepEqual(bindBack.calls, ['DescribeEipAddresses'], 'already home: nothing to send');
  });

  it('a request the cloud refuses on a first attempt is looked into, not sent twice', async () => {
    const { instanceId } = instances[3];
    const eni = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({ regionId, ...(await networkOf(instanceId)) }),
    );
    const networkInterfaceId = eni.body!.networkInterfaceId!;
    await tc.admin.fault({
      action: 'AttachNetworkInterface',
      code: 'InvalidOperation.AvailabilityZoneMismatch',
      count: 1,
    });
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    await assert.rejects(
      actions('attachNetworkInterface', { networkInterfaceId, instanceId }),
      /AvailabilityZoneMismatch/,
    );
    const calls = (await tc.admin.calls({ since })).map((c) => c.action);
    assert.deepEqual(calls, ['AttachNetworkInterface', 'DescribeNetworkInterfaces']);
  });
});

describe('ENI_MIGRATE_TRANSITION_MS: the typical durations a worker starts from', () => {
  it('sets the named transitions, keeps the others, and the worker says what it uses', () => {
    const { transitionMs } = loadConfig({
      ENI_MIGRATE_TRANSITION_MS: 'attach=10000, convert = 0,command=2500',
    });
    assert.deepEqual(transitionMs, { attachMs: 10_000, convertMs: 0, commandMs: 2500 });
    // The largest a wait can use, and milliseconds written as such.
    assert.deepEqual(loadConfig({ ENI_MIGRATE_TRANSITION_MS: 'attach=120000,convert=3000ms' }).transitionMs, {
      attachMs: 120_000,
      convertMs: 3000,
    });
    assert.equal(loadConfig({}).transitionMs, undefined);
    // Shown as the variable takes it: every transition, the named one changed.
    const shown = describeConfig(loadConfig({ ENI_MIGRATE_TRANSITION_MS: 'attach=10000' })).transitionMs;
    assert.match(String(shown), /^convert=1000,create=0,attach=10000,detach=3000,/);
    const again = loadConfig({ ENI_MIGRATE_TRANSITION_MS: String(shown) }).transitionMs;
    assert.deepEqual(again, { ...TYPICAL_TRANSITION_MS, attachMs: 10_000 });
  });

  it('refuses what it cannot use, naming the entry and the fix', () => {
    for (const [value, why] of [
      ['attachMs=3000', /"attachMs=3000": write attach=3000 \(the transition's name, milliseconds\)/],
      [
        'attached=3000',
        /names attached, which is not a transition the worker waits for: use one of convert, create, /,
      ],
      ['attach=3s', /"attach=3s": write attach=3000 \(the transition's name, milliseconds\)/],
      ['attach=1.5s', /"attach=1\.5s": write attach=1500 /],
      ['attachMs=3s', /"attachMs=3s": write attach=3000 /],
      [
        'attach=180s',
        /"attach=180s" is more than 120000 ms, the ENI waits' budget \(2 minutes\): .*; at most attach=120000$/,
      ],
      ['attach=120001', /"attach=120001" is more than 120000 ms/],
      ['attach=3m', /"attach=3m" is not <transition>=<milliseconds>, e\.g\. attach=10000/],
      ['attach=1.5', /"attach=1\.5" is not <transition>=<milliseconds>/],
      ['attach=-1', /is not <transition>=<milliseconds>/],
      ['attach=1000,attach=2000', /attach is given twice: keep one/],
    ] as const)
      assert.throws(
        () => loadConfig({ ENI_MIGRATE_TRANSITION_MS: value }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes('ENI_MIGRATE_TRANSITION_MS=') &&
          why.test(err.message),
        value,
      );
  });

  describe("the product's worker waits by it", () => {
    let temporal: TestTemporal;
    let tc: TestCloud;
    before(async () => {
      [temporal, tc] = await Promise.all([startTestTemporal(), startTestCloud({ instances: 2 })]);
    });
    after(async () => {
      await tc?.cloud.stop();
      await temporal?.stop();
    });

    /** The delay from a conversion to its first check, in the activities of a worker built from `env`. */
    async function firstCheckAfter(env: NodeJS.ProcessEnv, instance: number): Promise<number> {
      const config = loadConfig({
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        ALIBABA_CLOUD_REGION_ID: tc.cloud.regionId,
        ALIBABA_CLOUD_ECS_ENDPOINT: tc.cloud.url,
        ALIBABA_CLOUD_VPC_ENDPOINT: tc.cloud.url,
        ...env,
      });
      const credential = new Credential(
        new CredentialConfig({
          type: 'access_key',
          accessKeyId: tc.cloud.accessKeyId,
          accessKeySecret: tc.cloud.accessKeySecret,
        }),
      );
      const built = await createMigrationWorker({
        config,
        credential,
        log: () => undefined,
        registerSearchAttributes: false,
      });
      try {
        const activities = built.worker.workers[0].options.activities as Map<
          string,
          Activities[keyof Activities]
        >;
        const convert = activities.get('convertNatPublicIpToEip') as Activities['convertNatPublicIpToEip'];
        const { instanceId, publicIp } = (
          tc.cloud.info().instances as Array<{ instanceId: string; publicIp: string }>
        )[instance];
        const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
        await new MockActivityEnvironment({ workflowExecution: run() } as never).run(convert, {
          instanceId,
          publicIp,
        });
        const calls = await tc.admin.calls({ since });
        assert.deepEqual(
          calls.map((c) => c.action),
          ['ConvertNatPublicIpToEip', 'DescribeEipAddresses'],
        );
        return Date.parse(calls[1].time) - Date.parse(calls[0].time);
      } finally {
        await built.worker.runUntil(Promise.resolve());
        await built.close();
      }
    }

    it("takes the local cloud's own timings as the cloud prints them", () => {
      const { transitionMs } = loadConfig({
        ENI_MIGRATE_TRANSITION_MS: String(tc.cloud.info().transitionMs),
      });
      const { attachMs, detachMs, deleteMs, associateMs, unassociateMs, convertMs, commandMs } =
        tc.cloud.model.timings;
      const timings = { attachMs, detachMs, deleteMs, associateMs, unassociateMs, convertMs, commandMs };
      assert.deepEqual(transitionMs, timings);
    });

    it('a conversion configured to take 2.5 s is first checked then, not after the typical 1 s', async () => {
      const configured = await firstCheckAfter({ ENI_MIGRATE_TRANSITION_MS: 'convert=2500' }, 0);
      // Lower bounds only: a wait never looks early, and a loaded machine only makes it later. Unwired, it is ~1 s.
      assert.ok(configured >= 2400, `first check ${configured} ms after the conversion`);
      const typical = await firstCheckAfter({}, 1);
      assert.ok(typical >= 900, `without it: ${typical} ms`);
    });
  });
});
