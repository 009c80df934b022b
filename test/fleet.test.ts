/**
 * Batches (migrateFleet) on a real Temporal dev server, with real children on a real worker, against the local cloud
 * over HTTP and its instances over SSH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatchClient, MigrationClient } from '../src/client';
import type { FleetInput, FleetReport } from '../src/shared/fleet';
import type { Topology } from '../src/local-cloud/model';
import { eventually } from './helpers/eventually';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

const MUTATING = new Set([
  'ConvertNatPublicIpToEip',
  'ModifyInstanceChargeType',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  'AssociateEipAddress',
  'UnassociateEipAddress',
]);

/** Adds a second VPC (its own vSwitch, security group, NAT gateway and SNAT entry) with `count` instances. */
function withSecondVpc(t: Topology, count: number): void {
  const first = t.vpcs[0];
  const vSwitchId = 'vsw-second0001';
  const zoneId = first.vSwitches[0].zoneId;
  t.vpcs.push({
    vpcId: 'vpc-second0001',
    vpcName: 'second',
    cidrBlock: '10.20.0.0/16',
    vSwitches: [{ vSwitchId, zoneId, cidrBlock: '10.20.1.0/24' }],
    securityGroups: [{ securityGroupId: 'sg-second0001' }],
    natGateways: [
      {
        natGatewayId: 'ngw-second0001',
        vSwitchId,
        snatTableId: 'stb-second0001',
        eips: [{ allocationId: 'eip-secondnat01', ipAddress: '47.99.200.1' }],
        snatEntries: [{ snatEntryId: 'snat-second0001', snatIp: '47.99.200.1', sourceVSwitchId: vSwitchId }],
      },
    ],
  });
  for (let n = 0; n < count; n++) {
    t.instances.push({
      instanceId: `i-second${String(n).padStart(4, '0')}`,
      instanceName: `api-${String(n + 1).padStart(2, '0')}`,
      vSwitchId,
      securityGroupIds: ['sg-second0001'],
      instanceType: 'ecs.g7.large',
      imageId: t.instances[0].imageId,
      internetMaxBandwidthOut: 5,
      publicIpAddress: `47.99.100.${n + 10}`,
      tags: [{ key: 'app', value: 'api' }],
    });
  }
}

async function batches(env: MigrationEnv): Promise<BatchClient> {
  const migrations = await MigrationClient.connect({
    client: env.temporal.client,
    temporal: { taskQueue: env.taskQueue },
  });
  return new BatchClient(migrations);
}

/** The VPC ids of the topology, as the cloud's state shows them. */
async function vpcIds(env: MigrationEnv): Promise<string[]> {
  return ((await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>).map((v) => v.VpcId);
}

function outcomes(report: FleetReport): Record<string, string> {
  return Object.fromEntries(report.instances.map((i) => [i.instanceId, i.outcome ?? i.state]));
}

async function mutatingCalls(env: MigrationEnv, since = 0) {
  return (await env.cloud.admin.calls({ since })).filter((c) => MUTATING.has(c.action));
}

describe('a batch over two VPCs', () => {
  let env: MigrationEnv;
  let client: BatchClient;
  before(async () => {
    env = await startMigrationEnv({ instances: 16, topology: (t) => withSecondVpc(t, 14) });
    client = await batches(env);
  });
  after(() => env?.stop());

  it('migrates 30 instances with concurrency 5, one ENI each; a second run finds every one already migrated', async () => {
    const vpcs = await vpcIds(env);
    assert.equal(vpcs.length, 2);
    const input = (vpcId: string): FleetInput => ({
      regionId: env.regionId,
      vpcId,
      concurrency: 5,
      migration: { verifyTimeoutSeconds: 10 },
    });
    const started = await Promise.all(vpcs.map((vpcId) => client.start(input(vpcId))));
    const reports = await Promise.all(started.map((s) => client.result(s.batchId)));
    const all = reports.flatMap((r) => r.instances);
    assert.equal(all.length, 30);
    for (const r of reports) {
      assert.equal(r.outcome, 'completed', JSON.stringify(r.instances.filter((i) => i.outcome !== 'verified')));
      assert.equal(r.counts.verified, r.total);
    }
    const view = await env.view();
    for (const i of all) {
      assert.equal(view.secondaryEnisOf(i.instanceId).length, 1, `${i.instanceId} has exactly one secondary ENI`);
    }
    assert.equal(view.secondaryEnis().length, 30);

    const seq = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const again = await Promise.all(vpcs.map(async (vpcId) => client.result((await client.start(input(vpcId))).batchId)));
    for (const r of again) {
      assert.equal(r.outcome, 'completed');
      assert.deepEqual(new Set(Object.values(outcomes(r))), new Set(['already-migrated']));
    }
    assert.deepEqual(await mutatingCalls(env, seq), [], 'the second run changes nothing');
    assert.equal((await env.view()).secondaryEnis().length, 30);
  });
});

describe('batch controls', () => {
  let env: MigrationEnv;
  let client: BatchClient;
  before(async () => {
    env = await startMigrationEnv({ instances: 8 });
    client = await batches(env);
  });
  after(() => env?.stop());

  let vpcId: () => string;
  before(async () => {
    const [first] = await vpcIds(env);
    vpcId = () => first;
  });

  it('a dry run plans every instance and makes no mutating call', async () => {
    const seq = (await env.cloud.admin.calls()).at(-1)?.seq ?? 0;
    const { batchId } = await client.start({ regionId: env.regionId, vpcId: vpcId(), dryRun: true });
    const report = await client.result(batchId);
    assert.equal(report.outcome, 'planned');
    assert.equal(report.counts.planned, 8);
    for (const i of report.instances) assert.match(i.plan ?? '', /convert NAT public IP .* to an EIP/);
    assert.deepEqual(await mutatingCalls(env, seq), []);
  });
});
