/**
 * Cloud Assistant: the local cloud's actions through the unmodified SDK (agent status, RunCommand, invocation states,
 * output, exit code), and the product's guest step at activity level: the preflight refusal for a missing agent, the
 * per-OS set-up script configuring the secondary NIC so that the EIP answers through the ENI, and a failing script.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { ApplicationFailure } from '@temporalio/common';
// The mock alone, not @temporalio/testing's index (which loads the test server's client too).
import { MockActivityEnvironment } from '@temporalio/testing/lib/mocking-activity-environment';
import { createActivities, type Activities } from '../src/activities';
import { defaultTopology } from '../src/local-cloud/model';
import { createSshRunner } from '../src/ssh';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { activitiesOn, productCloudApis } from './helpers/cloud-apis';

const UBUNTU = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';

describe('Cloud Assistant', () => {
  let tc: TestCloud;
  let acts: Activities;
  let regionId: string;
  let ids: string[];

  before(async () => {
    const topology = defaultTopology({ instances: 4 });
    topology.instances[1].imageId = UBUNTU;
    topology.instances[2].cloudAssistant = 'not-installed';
    topology.instances[3].cloudAssistant = 'stopped';
    const file = join(mkdtempSync(join(tmpdir(), 'ca-')), 'region.json');
    writeFileSync(file, JSON.stringify(topology));
    tc = await startTestCloud({ topologyFile: file });
    regionId = tc.cloud.regionId;
    ids = topology.instances.map((i) => i.instanceId);
    acts = activitiesOn(tc);
  });
  after(() => tc?.cloud.stop());

  let runs = 0;
  /** Runs the activity as one attempt of a migration of its own (`runId`: another attempt of the same migration). */
  function run<K extends keyof Activities>(
    name: K,
    input: Parameters<Activities[K]>[0],
    runId = `11111111-2222-3333-4444-${String(++runs).padStart(12, '0')}`,
  ): Promise<Awaited<ReturnType<Activities[K]>>> {
    const env = new MockActivityEnvironment({
      workflowExecution: { workflowId: `eni-migration/test/${String(name)}`, runId },
    } as never);
    return env.run(acts[name] as (i: typeof input) => Promise<Awaited<ReturnType<Activities[K]>>>, input);
  }

  async function results(invokeId: string, contentEncoding?: string) {
    const r = await tc.ecs.describeInvocationResults(
      new $Ecs.DescribeInvocationResultsRequest({ regionId, invokeId, contentEncoding }),
    );
    return r.body!.invocation!.invocationResults!.invocationResult!;
  }

  async function until(invokeId: string, done: (s: string) => boolean) {
    for (let i = 0; i < 100; i++) {
      const [r] = await results(invokeId);
      if (done(r.invocationStatus!)) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`invocation ${invokeId} never settled`);
  }

  it('DescribeCloudAssistantStatus reports the agent of each instance', async () => {
    const r = await tc.ecs.describeCloudAssistantStatus(
      new $Ecs.DescribeCloudAssistantStatusRequest({ regionId, instanceId: ids }),
    );
    const byId = new Map(
      r.body!.instanceCloudAssistantStatusSet!.instanceCloudAssistantStatus!.map((s) => [s.instanceId, s]),
    );
    assert.equal(byId.get(ids[0])!.cloudAssistantStatus, 'true');
    assert.equal(byId.get(ids[2])!.cloudAssistantStatus, 'false');
    assert.equal(byId.get(ids[2])!.cloudAssistantVersion, '');
    assert.equal(byId.get(ids[3])!.cloudAssistantStatus, 'false');
    assert.ok(byId.get(ids[3])!.cloudAssistantVersion, 'installed, not running');
  });

  it('RunCommand runs a Base64 script: Pending, Running, then Success with its output and exit code', async () => {
    const r = await tc.ecs.runCommand(
      new $Ecs.RunCommandRequest({
        regionId,
        type: 'RunShellScript',
        commandContent: Buffer.from('hostname && whoami').toString('base64'),
        contentEncoding: 'Base64',
        instanceId: [ids[0]],
        timeout: 60,
      }),
    );
    assert.match(r.body!.invokeId!, /^t-/);
    assert.match(r.body!.commandId!, /^c-/);
    const [first] = await results(r.body!.invokeId!);
    assert.equal(first.invocationStatus, 'Pending');
    const done = await until(r.body!.invokeId!, (s) => s === 'Success');
    assert.equal(done.exitCode, 0);
    assert.match(Buffer.from(done.output!, 'base64').toString(), /\nroot\n$/);
    const [plain] = await results(r.body!.invokeId!, 'PlainText');
    assert.match(plain.output!, /root/);
    const inv = await tc.ecs.describeInvocations(
      new $Ecs.DescribeInvocationsRequest({ regionId, invokeId: r.body!.invokeId!, includeOutput: true }),
    );
    const i = inv.body!.invocations!.invocation![0];
    assert.equal(i.invocationStatus, 'Success');
    assert.equal(i.invokeInstances!.invokeInstance![0].instanceId, ids[0]);
  });

  it('a script that exits non-zero is Failed with ExitCodeNonzero; a silent agent Aborts with ClientNotRunning', async () => {
    const send = (instanceId: string, commandContent: string) =>
      tc.ecs.runCommand(
        new $Ecs.RunCommandRequest({
          regionId,
          type: 'RunShellScript',
          commandContent,
          instanceId: [instanceId],
        }),
      );
    const failed = await until(
      (await send(ids[0], 'false')).body!.invokeId!,
      (s) => s !== 'Pending' && s !== 'Running',
    );
    assert.deepEqual(
      [failed.invocationStatus, failed.exitCode, failed.errorCode],
      ['Failed', 1, 'ExitCodeNonzero'],
    );
    const aborted = await until((await send(ids[3], 'true')).body!.invokeId!, (s) => s !== 'Pending');
    assert.deepEqual([aborted.invocationStatus, aborted.errorCode], ['Aborted', 'ClientNotRunning']);
  });

  it('RunCommand refuses an instance without the agent (InvalidInstance.NotMatch, 403) and a wrong type', async () => {
    const call = (instanceId: string, type = 'RunShellScript') =>
      tc.ecs.runCommand(
        new $Ecs.RunCommandRequest({ regionId, type, commandContent: 'true', instanceId: [instanceId] }),
      );
    await assert.rejects(
      call(ids[2]),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInstance.NotMatch' && e.statusCode === 403,
    );
    await assert.rejects(
      call(ids[0], 'RunBatScript'),
      (e: { code?: string }) => e.code === 'InvalidCmdType.NotFound',
    );
    await assert.rejects(
      call('i-bp1nosuchinstance000'),
      (e: { code?: string; statusCode?: number }) =>
        e.code === 'InvalidInstance.NotFound' && e.statusCode === 404,
    );
  });

  it('preflight refuses an instance without the agent, or with it stopped, with cause and fix and no change', async () => {
    await tc.admin.clearCalls();
    for (const [instanceId, why] of [
      [ids[2], /not installed.*InstallCloudAssistant.*--guest-setup ssh/],
      [ids[3], /no heartbeat.*--guest-setup ssh/],
    ] as const) {
      const r = await run('preflight', {
        regionId,
        instanceId,
        verify: false,
        allowChargeTypeChange: false,
        guestSetup: 'cloud-assistant',
      });
      assert.equal(r.ok, false);
      const c = r.checks.find((x) => x.name === 'Cloud Assistant agent running')!;
      assert.equal(c.ok, false);
      assert.match(c.detail, why);
    }
    const ok = await run('preflight', {
      regionId,
      instanceId: ids[1],
      verify: false,
      allowChargeTypeChange: false,
      guestSetup: 'cloud-assistant',
    });
    assert.equal(ok.plan.guestSetupScript, 'secondary-nic-setup-iproute2', 'Ubuntu gets the iproute2 script');
    const calls = await tc.admin.calls();
    const mutating = calls.filter((c) => !/^Describe/.test(c.action));
    assert.deepEqual(mutating, [], 'preflight made no mutating call');
    // The SSH route does not need the agent.
    const ssh = await run('preflight', {
      regionId,
      instanceId: ids[2],
      verify: false,
      allowChargeTypeChange: false,
      guestPrepareScript: 'secondary-nic-setup',
    });
    assert.ok(!ssh.checks.some((x) => x.name === 'Cloud Assistant agent running'));
  });

  it('the Ubuntu script through Cloud Assistant sets up policy routing: the EIP answers through the ENI only then', async () => {
    const instanceId = ids[1];
    const model = tc.cloud.model;
    const inst = (
      await tc.ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
      )
    ).body!.instances!.instance![0];
    const eni = await tc.ecs.createNetworkInterface(
      new $Ecs.CreateNetworkInterfaceRequest({
        regionId,
        vSwitchId: inst.vpcAttributes!.vSwitchId!,
        securityGroupId: inst.securityGroupIds!.securityGroupId![0],
      }),
    );
    const eniId = eni.body!.networkInterfaceId!;
    await tc.ecs.attachNetworkInterface(
      new $Ecs.AttachNetworkInterfaceRequest({ regionId, networkInterfaceId: eniId, instanceId }),
    );
    await new Promise((res) => setTimeout(res, 200));
    // Move the address to the ENI as steps 1, 4 and 5 do.
    await tc.ecs.convertNatPublicIpToEip(new $Ecs.ConvertNatPublicIpToEipRequest({ regionId, instanceId }));
    await new Promise((res) => setTimeout(res, 250));
    const publicIp = inst.publicIpAddress!.ipAddress![0];
    const eip = (
      await tc.vpc.describeEipAddresses(
        new $Vpc.DescribeEipAddressesRequest({ regionId, eipAddress: publicIp }),
      )
    ).body!.eipAddresses!.eipAddress![0];
    await tc.vpc.unassociateEipAddress(
      new $Vpc.UnassociateEipAddressRequest({ regionId, allocationId: eip.allocationId, instanceId }),
    );
    await new Promise((res) => setTimeout(res, 200));
    await tc.vpc.associateEipAddress(
      new $Vpc.AssociateEipAddressRequest({
        regionId,
        allocationId: eip.allocationId,
        instanceId: eniId,
        instanceType: 'NetworkInterface',
        privateIpAddress: eni.body!.privateIpAddress,
        mode: 'NAT',
      }),
    );
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(
      model.routePublicAddress(publicIp),
      undefined,
      'without NIC set-up the EIP gets no answer through the ENI',
    );

    const r = await run('setUpGuestByCloudAssistant', {
      instanceId,
      script: 'secondary-nic-setup-iproute2',
      networkInterfaceId: eniId,
    });
    assert.deepEqual([r.status, r.exitCode, r.script], ['Success', 0, 'secondary-nic-setup-iproute2']);
    assert.equal(
      model.routePublicAddress(publicIp)?.instanceId,
      instanceId,
      'the EIP answers through the ENI',
    );
  });

  it('a RunCommand whose response was lost runs the script once: the retry sends the same ClientToken', async () => {
    const instanceId = ids[0];
    const input = { instanceId, script: 'secondary-nic-setup', networkInterfaceId: 'eni-unused' };
    const runId = '99999999-2222-3333-4444-555555555555';
    const callsBefore = (await tc.admin.calls()).length;
    // The cloud starts the invocation, then the response is lost on the way back.
    await tc.admin.fault({ action: 'RunCommand', code: 'ServiceUnavailable', count: 1, when: 'after' });
    await assert.rejects(run('setUpGuestByCloudAssistant', input, runId), /ServiceUnavailable/);
    // Temporal's retry: the same migration, no invocation id checkpointed.
    const r = await run('setUpGuestByCloudAssistant', input, runId);
    assert.equal(r.status, 'Success');
    const runs = (await tc.admin.calls()).slice(callsBefore).filter((c) => c.action === 'RunCommand');
    assert.equal(runs.length, 2, 'RunCommand was sent twice');
    const listed = await tc.ecs.describeInvocations(
      new $Ecs.DescribeInvocationsRequest({ regionId, instanceId }),
    );
    const invocations = listed.body!.invocations!.invocation!.filter(
      (i) => i.commandName === 'eni-migration-secondary-nic-setup',
    );
    assert.deepEqual(
      invocations.map((i) => i.invokeId),
      [r.invokeId],
      'one invocation: the second RunCommand answered the first',
    );
  });

  it('a set-up script Cloud Assistant cannot run fails the step, saying why and what to do', async () => {
    await assert.rejects(
      run('setUpGuestByCloudAssistant', {
        instanceId: ids[3],
        script: 'secondary-nic-setup',
        networkInterfaceId: 'eni-unused',
      }),
      (e: Error) =>
        /status Aborted, ClientNotRunning.*aliyun\.service/.test(e.message) &&
        e instanceof ApplicationFailure &&
        e.type === 'GuestPrepareFailed' &&
        e.nonRetryable === true,
    );
  });

  it('a run that ended for a passing reason fails the attempt retryably; the retry starts a new run', async () => {
    const instanceId = ids[0];
    const input = { instanceId, script: 'secondary-nic-setup', networkInterfaceId: 'eni-unused' };
    const { ecs, vpc } = productCloudApis(tc, regionId);
    // The local cloud's agent always answers: the first run is reported as one the agent never answered.
    let firstRun: string | undefined;
    const flaky = createActivities({
      ecs: {
        ...ecs,
        async invocationResult(invokeId, id) {
          const r = await ecs.invocationResult(invokeId, id);
          firstRun ??= invokeId;
          if (invokeId !== firstRun || !r) return r;
          return {
            ...r,
            status: 'Failed',
            exitCode: undefined,
            errorCode: 'ClientNotResponse',
            errorInfo: 'no answer',
          };
        },
      },
      vpc,
      ssh: createSshRunner({}),
      pollIntervalMs: 20,
      transitionMs: tc.cloud.model.timings,
    });
    let lastBeat: unknown;
    const attempt = (n: number, heartbeatDetails?: unknown) => {
      const env = new MockActivityEnvironment({
        workflowExecution: {
          workflowId: 'eni-migration/test/passing-ca-failure',
          runId: '99999999-2222-3333-4444-666666666666',
        },
        attempt: n,
        heartbeatDetails,
      } as never);
      env.on('heartbeat', (d: unknown) => (lastBeat = d));
      return env.run(flaky.setUpGuestByCloudAssistant, input) as ReturnType<
        typeof flaky.setUpGuestByCloudAssistant
      >;
    };
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const err: unknown = await attempt(1).then(
      () => assert.fail('expected the first attempt to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'ClientNotResponse');
    assert.equal(err.nonRetryable, false);
    const r = await attempt(2, lastBeat);
    assert.equal(r.status, 'Success');
    assert.notEqual(r.invokeId, firstRun, 'a new run, not a wait for the one that failed');
    const runs = await tc.admin.calls({ action: 'RunCommand', since });
    assert.equal(runs.length, 2);
    assert.notEqual(runs[0].params.ClientToken, runs[1].params.ClientToken, 'a new ClientToken');
  });
});
