/**
 * The activities' waits, one at a time, against the local cloud through the real SDK clients, with Temporal's
 * MockActivityEnvironment standing in for the worker: resuming from heartbeat details, a failed attach, failing fast
 * on states that cannot lead to success, cancellation, and the API call count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities } from '../src/activities';
import { TAG_CLIENT_TOKEN } from '../src/activities/network-interface';
import { createSshRunner } from '../src/ssh';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { productCloudApis } from './helpers/migration';

const RUN = { workflowId: 'eni-migration/test/activities', runId: '11111111-2222-3333-4444-555555555555' };

describe('activity waits', () => {
  let tc: TestCloud;
  let acts: Activities;
  let regionId: string;
  let instances: Array<{ instanceId: string; publicIp: string; zoneId: string }>;
  let vSwitchId: string;
  let securityGroupId: string;

  before(async () => {
    tc = await startTestCloud({ instances: 3 });
    regionId = tc.cloud.regionId;
    const { ecs, vpc } = productCloudApis(tc, regionId);
    acts = createActivities({ ecs, vpc, ssh: createSshRunner({}), pollIntervalMs: 20 });
    instances = tc.cloud.info().instances as typeof instances;
    const i = await tc.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instances[0].instanceId]) }),
    );
    vSwitchId = i.body!.instances!.instance![0].vpcAttributes!.vSwitchId!;
    securityGroupId = i.body!.instances!.instance![0].securityGroupIds!.securityGroupId![0];
  });
  after(() => tc?.cloud.stop());

  const env = (heartbeatDetails?: unknown) =>
    new MockActivityEnvironment({ workflowExecution: RUN, heartbeatDetails } as never);

  /** Runs one activity in a fresh mock context (the SDK's `run` does not infer the result type). */
  function runAct<K extends keyof Activities>(
    name: K,
    input: Parameters<Activities[K]>[0],
    heartbeatDetails?: unknown,
  ): Promise<Awaited<ReturnType<Activities[K]>>> {
    return env(heartbeatDetails).run(
      acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>,
      input,
    );
  }

  async function newEni(): Promise<string> {
    const r = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({ regionId, vSwitchId, securityGroupId }),
    );
    return r.body!.networkInterfaceId!;
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
    await env().run(acts.deleteNetworkInterface, { networkInterfaceId: eni });
    await env().run(acts.deleteNetworkInterface, { networkInterfaceId: eni });
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
