import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { progressQuery } from '../src/workflows';
import { guestScriptRegistry } from '../src/guest-scripts';
import { INSTANCE_ID, MIGRATION_OUTCOME, MIGRATION_STEP, VPC_ID } from '../src/shared/search-attributes';
import { assertAsAfterStep1, startMigrationEnv, type MigrationEnv } from './helpers/migration';

const SNAT_IP = '47.96.180.23'; // the default topology's NAT gateway address
const EGRESS = 'curl -s -m 5 https://myip.ipip.net';
/** An image whose guest answers on a secondary NIC only after `systemctl restart eni.service`. */
const MANUAL_NIC_IMAGE = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';

describe('migrateInstance: the runbook end to end', () => {
  let env: MigrationEnv;
  before(async () => {
    env = await startMigrationEnv({
      instances: 13,
      topology: (t) => {
        t.instances[12].imageId = MANUAL_NIC_IMAGE;
        t.instances[6].imageId = MANUAL_NIC_IMAGE;
        t.instances[7].imageId = MANUAL_NIC_IMAGE;
        t.instances[9].imageId = MANUAL_NIC_IMAGE;
      },
      // An egress check of the operator's that names another address than the guest's.
      guestScripts: guestScriptRegistry([
        {
          name: 'egress-elsewhere',
          description: 'answers an address that is not the SNAT IP',
          command: 'echo 198.51.100.7',
          root: false,
          answer: 'ipv4',
        },
      ]),
    });
  });
  after(() => env?.stop());

  it('moves the public IP onto a secondary ENI and verifies it from outside', async () => {
    const { instanceId, publicIp } = env.instances[0];
    const hostKeyBefore = await env.ssh.hostKeyFingerprint(publicIp);
    const callsBefore = (await env.cloud.admin.calls()).length;

    const handle = await env.start({ instanceId });
    const report = await handle.result();

    assert.equal(report.outcome, 'verified', report.cause);
    assert.equal(report.publicIp, publicIp);
    assert.equal(report.snatIp, SNAT_IP);
    assert.ok(report.networkInterfaceId?.startsWith('eni-'));
    assert.ok(report.allocationId?.startsWith('eip-'));
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['preflight', 'done'],
        ['convertToEip', 'done'],
        ['createEni', 'done'],
        ['attachEni', 'done'],
        ['prepareGuest', 'skipped'],
        ['unassociateEip', 'done'],
        ['associateEipToEni', 'done'],
        ['verify', 'done'],
      ],
    );
    // The report's API call count is the cloud's own count of the calls it received.
    const calls = (await env.cloud.admin.calls()).slice(callsBefore);
    assert.equal(report.apiCalls, calls.length);
    assert.equal(
      report.apiCalls,
      report.steps.reduce((n, s) => n + s.apiCalls, 0),
    );

    const view = await env.view();
    const eip = view.eipByAddress(publicIp);
    assert.equal(eip?.Status, 'InUse');
    assert.equal(eip?.InstanceType, 'NetworkInterface');
    assert.equal(eip?.InstanceId, report.networkInterfaceId);
    assert.equal(eip?.Mode, 'NAT');
    const eni = view.eniById(report.networkInterfaceId!);
    assert.equal(eni?.Status, 'InUse');
    assert.equal(eni?.InstanceId, instanceId);
    assert.equal(eip?.PrivateIpAddress, eni?.PrimaryIpAddress);
    assert.equal(report.eniPrivateIp, eni?.PrimaryIpAddress);
    assert.equal(view.secondaryEnisOf(instanceId).length, 1);
    const instance = view.instance(instanceId);
    assert.deepEqual(instance.PublicIpAddress, []);
    assert.equal(instance.EipAddress, '');

    // From outside: the same machine answers on the EIP, and its traffic leaves through the SNAT IP.
    const r = await env.ssh.run(publicIp, EGRESS);
    assert.equal(r.hostKeyFingerprint, hostKeyBefore);
    assert.match(r.stdout, /47\.96\.180\.23/);

    // Visible in the Web UI's list by instance, step and outcome.
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(INSTANCE_ID), instanceId);
    assert.ok(sa.get(VPC_ID)?.startsWith('vpc-'));
    assert.equal(sa.get(MIGRATION_STEP), 'done');
    assert.equal(sa.get(MIGRATION_OUTCOME), 'verified');
    const progress = await handle.query(progressQuery);
    assert.equal(progress.currentStep, 'done');
    assert.equal(progress.resources.networkInterfaceId, report.networkInterfaceId);
    assert.equal(progress.resources.hostKeyFingerprint, hostKeyBefore);
  });

  it('a dry run evaluates every check and changes nothing', async () => {
    const { instanceId, publicIp } = env.instances[1];
    const callsBefore = (await env.cloud.admin.calls()).length;
    const report = await env.migrate({ instanceId, dryRun: true });
    assert.equal(report.outcome, 'planned');
    assert.ok(report.checks.length >= 10);
    assert.ok(
      report.checks.every((c) => c.ok),
      JSON.stringify(report.checks),
    );
    const actions = (await env.cloud.admin.calls()).slice(callsBefore).map((c) => c.action);
    assert.ok(
      actions.every((a) => a.startsWith('Describe')),
      actions.join(' '),
    );
    assert.deepEqual((await env.view()).instance(instanceId).PublicIpAddress, [publicIp]);
  });

  // The quotas of the real cloud (issue 8) fail for good, with their fix, and leave nothing behind.
  const failures = [
    { step: 'createEni', action: 'CreateNetworkInterface', code: 'MaxEniCountExceeded', fix: /Quota Center/ },
    {
      step: 'attachEni',
      action: 'AttachNetworkInterface',
      code: 'InvalidOperation.Ipv4CountExceeded',
      fix: /fewer secondary private IPs/,
    },
    { step: 'unassociateEip', action: 'UnassociateEipAddress', code: 'Forbidden.RAM' },
    { step: 'associateEipToEni', action: 'AssociateEipAddress', code: 'InvalidAssociation.Duplicated' },
  ] as const;
  failures.forEach(({ step, action, code, ...rest }, n) => {
    it(`a ${code} at ${step} rolls back to the state after step 1`, async () => {
      const instance = env.instances[2 + n];
      const enisBefore = (await env.view()).secondaryEnis().length;
      await env.cloud.admin.fault({ action, code, count: 1 });
      try {
        const report = await env.migrate({ instanceId: instance.instanceId });
        assert.equal(report.outcome, 'rolled-back', JSON.stringify(report));
        assert.match(report.cause ?? '', new RegExp(code.replace(/\./g, '\\.')));
        const failed = report.steps.find((s) => s.name === step);
        assert.match(failed?.error ?? '', new RegExp(code.replace(/\./g, '\\.')));
        if ('fix' in rest) assert.match(report.cause ?? '', rest.fix);
        assert.equal(report.leftovers, undefined);
        await assertAsAfterStep1(env, instance, report, enisBefore);
      } finally {
        await env.cloud.admin.clearFaults();
      }
    });
  });

  it('a guest that cannot answer on the new NIC fails verification and is rolled back', async () => {
    const instance = env.instances[6];
    const enisBefore = (await env.view()).secondaryEnis().length;
    // Told to leave the guest alone (as an input of 0.4 without a guest script does too).
    const report = await env.migrate({
      instanceId: instance.instanceId,
      guestSetup: 'none',
      verifyTimeoutSeconds: 1,
    });
    assert.equal(report.outcome, 'rolled-back');
    assert.match(report.cause ?? '', /verification failed/);
    assert.equal(report.steps.find((s) => s.name === 'prepareGuest')?.state, 'skipped');
    assert.equal(report.guestSetup, undefined);
    assert.deepEqual(
      report.steps.filter((s) => s.state === 'compensated').map((s) => s.name),
      ['createEni', 'attachEni', 'unassociateEip', 'associateEipToEni'],
    );
    await assertAsAfterStep1(env, instance, report, enisBefore);
  });

  it('keeps the new state when asked to (a failed workflow), and says what to do about it', async () => {
    const { instanceId, publicIp } = env.instances[9];
    const report = await env.migrate({ instanceId, verifyTimeoutSeconds: 1, keepOnVerifyFailure: true });
    assert.equal(report.outcome, 'failed');
    assert.match(report.cause ?? '', /verification failed/);
    assert.match(report.leftovers?.[0] ?? '', /kept as asked: EIP .* is on ENI eni-/);
    const eip = (await env.view()).eipByAddress(publicIp);
    assert.equal(eip?.InstanceId, report.networkInterfaceId);
  });

  it('with the secondary-nic-setup guest script the same image verifies', async () => {
    const { instanceId, publicIp } = env.instances[7];
    const report = await env.migrate({ instanceId, guestPrepareScript: 'secondary-nic-setup' });
    assert.equal(report.outcome, 'verified', report.cause);
    assert.equal(report.steps.find((s) => s.name === 'prepareGuest')?.state, 'done');
    const r = await env.ssh.run(publicIp, EGRESS);
    assert.match(r.stdout, /47\.96\.180\.23/);
  });

  it('through Cloud Assistant the same image verifies: the built-in script for its OS, its result in the report', async () => {
    const { instanceId, publicIp } = env.instances[12];
    const callsBefore = (await env.cloud.admin.calls()).length;
    const report = await env.migrate({ instanceId, guestSetup: 'cloud-assistant' });
    assert.equal(report.outcome, 'verified', report.cause);
    assert.equal(report.steps.find((s) => s.name === 'prepareGuest')?.state, 'done');
    // Ubuntu: no multi-nic-util, the iproute2 policy routing script.
    assert.equal(report.guestSetup?.script, 'secondary-nic-setup-iproute2');
    assert.equal(report.guestSetup?.via, 'cloud-assistant');
    assert.equal(report.guestSetup?.status, 'Success');
    assert.equal(report.guestSetup?.exitCode, 0);
    assert.ok(report.guestSetup?.invokeId.startsWith('t-'), report.guestSetup?.invokeId);
    const actions = (await env.cloud.admin.calls()).slice(callsBefore).map((c) => c.action);
    assert.ok(actions.includes('DescribeCloudAssistantStatus'), actions.join(' '));
    // One run of the script, however often its result was asked for.
    assert.equal(actions.filter((a) => a === 'RunCommand').length, 1, actions.join(' '));
    const r = await env.ssh.run(publicIp, EGRESS);
    assert.match(r.stdout, /47\.96\.180\.23/);
  });

  it('checks egress with the named script: ifconfig.me (a bare IP) verifies, another address does not', async () => {
    const [ifconfig, elsewhere] = [env.instances[10], env.instances[11]];
    const [verified, refuted] = await Promise.all([
      env.migrate({ instanceId: ifconfig.instanceId, egressCheckScript: 'egress-check-global' }),
      // The same script in preflight and in verification: what it answers is what they judge.
      env.migrate({
        instanceId: elsewhere.instanceId,
        egressCheckScript: 'egress-elsewhere',
        verifyTimeoutSeconds: 1,
      }),
    ]);
    assert.equal(verified.outcome, 'verified', verified.cause);
    assert.equal(verified.snatIp, SNAT_IP);
    assert.equal(refuted.outcome, 'rolled-back');
    assert.match(
      refuted.checks.find((c) => c.name.startsWith('SSH reaches'))?.detail ?? '',
      /egress now via 198\.51\.100\.7/,
    );
    assert.match(refuted.cause ?? '', /traffic leaves via 198\.51\.100\.7, not the SNAT IP 47\.96\.180\.23/);
  });
});
