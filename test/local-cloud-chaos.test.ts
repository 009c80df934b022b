/**
 * The local cloud's chaos controls (what `npm run chaos` turns on), through the unmodified SDK clients over HTTP:
 * responses dropped after the action took effect, rate faults with a limit (an operator's fix after a while), spent
 * rules still counted, rates of failed attaches and stuck detaches with their counters, and an STS key whose token
 * every call must carry.
 */
import * as $Ecs from '@alicloud/ecs20140526';
import { ClientError } from '@alicloud/openapi-core';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromSdkError, classifyCode } from '../src/cloud/errors';
import type { BehaviourState } from '../src/local-cloud/contracts';
import type { FaultRule } from '../src/local-cloud/wire/faults';
import { sdkClients, startTestCloud, type TestCloud } from './helpers/local-cloud';

const REGION = 'cn-hangzhou';
const STS_TOKEN = 'CAIS-local-chaos-token-0123456789';

async function until<T>(get: () => Promise<T>, want: T, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const got = await get();
    if (got === want) return;
    if (Date.now() - start > timeoutMs) assert.fail(`still ${String(got)}, wanted ${String(want)}`);
    await sleep(20);
  }
}

describe('local cloud chaos controls', () => {
  let t: TestCloud;
  let instanceId: string;
  let vSwitchId: string;
  let securityGroupId: string;

  before(async () => {
    t = await startTestCloud({ instances: 2 });
    const inst = (
      await t.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION, pageSize: 10 }))
    ).body!.instances!.instance![0];
    instanceId = inst.instanceId!;
    vSwitchId = inst.vpcAttributes!.vSwitchId!;
    securityGroupId = inst.securityGroupIds!.securityGroupId![0];
  });
  after(() => t?.cloud.stop());

  const createEni = (clientToken?: string) =>
    t.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({ regionId: REGION, vSwitchId, securityGroupId, clientToken }),
    );
  const eniStatus = async (eniId: string) =>
    (
      await t.ecs.describeNetworkInterfaces(
        new $Ecs.DescribeNetworkInterfacesRequest({ regionId: REGION, networkInterfaceId: [eniId] }),
      )
    ).body!.networkInterfaceSets!.networkInterfaceSet![0]?.status ?? 'gone';
  const secondaryEnis = () =>
    (
      t.cloud.model.snapshot().NetworkInterfaces as Array<{ Type: string; NetworkInterfaceId: string }>
    ).filter((e) => e.Type === 'Secondary');
  const behaviours = () => t.admin.request<BehaviourState>('GET', 'behaviours');

  it('drop: the action takes effect, the client gets no answer (a reset it may retry)', async () => {
    await t.admin.clearFaults();
    const before = secondaryEnis().length;
    await t.admin.fault({
      action: 'CreateNetworkInterface',
      code: 'InternalError',
      count: 1,
      when: 'after',
      drop: true,
    });
    const err = await createEni('lost-1').then(
      () => assert.fail('a dropped call must not succeed'),
      (e: unknown) => e,
    );
    assert.ok(!(err instanceof ClientError), 'no error body came back: a transport failure');
    const failure = fromSdkError('CreateNetworkInterface', err);
    assert.equal(failure.code, 'ECONNRESET', String(err));
    assert.equal(classifyCode(failure.code).retryable, true);
    assert.equal(secondaryEnis().length, before + 1, 'the ENI was created all the same');
    const [call] = (await t.admin.calls({ action: 'CreateNetworkInterface' })).slice(-1);
    assert.equal(call.dropped, true);
    // The retry with the same ClientToken finds the ENI the lost response was about.
    const retried = await createEni('lost-1');
    assert.equal(secondaryEnis().length, before + 1);
    assert.ok(retried.body!.networkInterfaceId);
  });

  it('limit: a rate rule fails at most that many calls, then is spent and still listed with all=true', async () => {
    await t.admin.clearFaults();
    const rule = await t.admin.fault({
      action: 'DescribeInstances',
      code: 'Forbidden.RAM',
      status: 403,
      rate: 1,
      limit: 2,
    });
    assert.equal(rule.limit, 2);
    const describe = () =>
      t.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION, pageSize: 10 }));
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        describe(),
        (e: unknown) => e instanceof ClientError && e.code === 'Forbidden.RAM',
      );
    }
    assert.equal((await describe()).statusCode, 200, 'the limit is reached: calls go through');
    assert.deepEqual(await t.admin.faults(), [], 'a spent rule is no longer active');
    const all = await t.admin.request<FaultRule[]>('GET', 'faults?all=true');
    assert.deepEqual(
      all.map((r) => [r.id, r.hits, r.spent]),
      [[rule.id, 2, true]],
    );
    await assert.rejects(
      t.admin.fault({ action: 'X', code: 'Y', count: 1, limit: 1 }),
      /400 .*limit/,
      'limit only caps a rate rule',
    );
    await t.admin.clearFaults();
    assert.deepEqual(await t.admin.request('GET', 'faults?all=true'), [], 'DELETE clears spent rules too');
  });

  it('attachFallbackRate and stuckDetachRate fire on that fraction of calls, and GET /behaviours counts them', async () => {
    const start = await behaviours();
    await t.admin.behaviours({ attachFallbackRate: 1, describeLagMs: 50 });
    const eniId = (await createEni()).body!.networkInterfaceId!;
    await sleep(60);
    await t.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId, instanceId }),
    );
    await until(() => eniStatus(eniId), 'Available');
    await t.admin.behaviours({ attachFallbackRate: 0, stuckDetachRate: 1, describeLagMs: 0 });
    await t.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId, instanceId }),
    );
    await until(() => eniStatus(eniId), 'InUse');
    const detach = () =>
      t.ecs.detachNetworkInterface(
        new $Ecs.DetachNetworkInterfaceRequest({ regionId: REGION, networkInterfaceId: eniId, instanceId }),
      );
    await detach();
    await sleep(300);
    assert.equal(await eniStatus(eniId), 'Detaching', 'stuck until re-issued');
    await detach();
    await until(() => eniStatus(eniId), 'Available');
    await t.admin.behaviours({ stuckDetachRate: 0 });

    const now = await behaviours();
    assert.equal(now.attachFallbackRate, 0);
    assert.equal(now.stuckDetachRate, 0);
    assert.equal(now.fired.attachFallbacks - start.fired.attachFallbacks, 1);
    assert.equal(now.fired.stuckDetaches - start.fired.stuckDetaches, 1);
    assert.equal(now.fired.laggedEnis - start.fired.laggedEnis, 1);
    await assert.rejects(t.admin.behaviours({ stuckDetachRate: 1.5 }), /400 .*stuckDetachRate/);
  });
});

describe('local cloud with an STS key (requireSecurityToken)', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud({ instances: 1, stsTokens: [STS_TOKEN], requireSecurityToken: true });
  });
  after(() => t?.cloud.stop());

  const describe = (overrides: Parameters<typeof sdkClients>[1]) =>
    sdkClients(t.cloud, overrides).ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId: REGION }),
    );

  it('accepts a call carrying the token, refuses one without it or with another', async () => {
    assert.equal((await describe({ securityToken: STS_TOKEN })).statusCode, 200);
    await assert.rejects(
      describe({}),
      (e: unknown) => e instanceof ClientError && e.code === 'InvalidSecurityToken.MismatchWithAccessKey',
    );
    await assert.rejects(
      describe({ securityToken: 'STS.someone-else' }),
      (e: unknown) => e instanceof ClientError && e.code === 'InvalidSecurityToken.Malformed',
    );
  });
});
