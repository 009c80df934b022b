import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MigrationReport } from '../src/shared/migration';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

const SNAT_IP = '47.96.180.23'; // the default topology's NAT gateway address
const EGRESS = 'curl -s -m 5 https://myip.ipip.net';

describe('migrateInstance: the runbook end to end', () => {
  let env: MigrationEnv;
  before(async () => {
    env = await startMigrationEnv({ instances: 2 });
  });
  after(() => env?.stop());

  it('moves the public IP onto a secondary ENI and verifies it from outside', async () => {
    const { instanceId, publicIp } = env.instances[0];
    const hostKeyBefore = await env.ssh.hostKeyFingerprint(publicIp);

    const report = await env.migrate({ instanceId });

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
    assert.ok(report.apiCalls > 0 && report.apiCalls === report.steps.reduce((n, s) => n + s.apiCalls, 0));

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
    const instance = view.instance(instanceId);
    assert.deepEqual(instance.PublicIpAddress, []);
    assert.equal(instance.EipAddress, '');

    // From outside: the same machine answers on the EIP, and its traffic leaves through the SNAT IP.
    const r = await env.ssh.run(publicIp, EGRESS);
    assert.equal(r.hostKeyFingerprint, hostKeyBefore);
    assert.match(r.stdout, new RegExp(SNAT_IP.replace(/\./g, '\\.')));
  });

  it('answers the progress query and keeps the search attributes current', async () => {
    const { instanceId } = env.instances[1];
    const handle = await env.start({ instanceId, dryRun: true });
    const report: MigrationReport = await handle.result();
    assert.equal(report.outcome, 'planned');
    const progress = await handle.query('progress');
    assert.equal(progress.currentStep, 'done');
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get({ name: 'InstanceId', type: 'KEYWORD' } as never), instanceId);
  });
});
