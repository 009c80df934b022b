/**
 * What the workflow history holds: the report, resource ids, error messages... and never a secret.
 * Run with RECORD_HISTORIES=1 to (re)write the replay fixtures in test/fixtures/histories/ from these real runs.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createActivities } from '../src/activities';
import { FAST_TIMINGS } from '../src/local-cloud';
import { progressQuery, type migrateInstance } from '../src/workflows';
import { productCloudApis, startMigrationEnv, type MigrationEnv } from './helpers/migration';

// Each release records into its own folder; earlier releases' histories stay as they were.
const FIXTURES = join(__dirname, 'fixtures', 'histories', require('../package.json').version as string);
const WRONG_SECRET = 'wrong-secret-Zq7u4vXk2p9';

/** Every string in the history, with base64 payload data decoded too (payloads are base64 JSON in the export). */
function allText(json: string): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v);
      if (/^[A-Za-z0-9+/=]{8,}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(json));
  return parts.join('\n');
}

describe('workflow histories', () => {
  let env: MigrationEnv;
  const histories = new Map<string, string>();

  before(async () => {
    env = await startMigrationEnv({ instances: 5 });
    const record = async (name: string, handle: WorkflowHandle<typeof migrateInstance>) => {
      await handle.result().catch(() => undefined);
      histories.set(name, historyToJSON(await handle.fetchHistory()));
    };
    const [a, b, c, d, e] = env.instances;

    await record('verified', await env.start({ instanceId: a.instanceId }));
    await record('dry-run', await env.start({ instanceId: b.instanceId, dryRun: true }));

    await env.cloud.admin.fault({
      action: 'AssociateEipAddress',
      code: 'InvalidAssociation.Duplicated',
      count: 1,
    });
    await record('rolled-back', await env.start({ instanceId: b.instanceId }));
    await env.cloud.admin.clearFaults();

    await env.cloud.admin.timings({ attachMs: 1500 });
    const cancelled = await env.start({ instanceId: c.instanceId });
    while ((await cancelled.query(progressQuery)).currentStep !== 'attachEni') await sleep(25);
    await cancelled.cancel();
    await record('cancelled', cancelled);
    await env.cloud.admin.timings(FAST_TIMINGS);

    // A worker with a wrong secret: the refusal's message travels in the history, the secret must not.
    const { ecs, vpc } = productCloudApis(env.cloud, env.regionId, WRONG_SECRET);
    const wrong = createActivities({ ecs, vpc, ssh: env.ssh, pollIntervalMs: 50 });
    await env.withWorker(wrong, async (queue) =>
      record('refused', await env.start({ instanceId: d.instanceId }, queue)),
    );

    await record('approved', await approvedRun(env, e.instanceId));

    if (process.env.RECORD_HISTORIES) {
      for (const [name, json] of histories) writeFileSync(join(FIXTURES, `${name}.json`), json + '\n');
    }
  });
  after(() => env?.stop());

  it('never contain a credential or a private key', () => {
    const key = readFileSync(env.cloud.cloud.sshPrivateKey!, 'utf8');
    const keyBody = key
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const secrets = {
      'AccessKey secret': env.cloud.cloud.accessKeySecret,
      'AccessKey ID': env.cloud.cloud.accessKeyId,
      'wrong secret': WRONG_SECRET,
      'private key': keyBody.slice(20, 60),
      'private key marker': 'PRIVATE KEY',
    };
    assert.equal(histories.size, 6);
    for (const [name, json] of histories) {
      const text = allText(json);
      assert.match(text, /eni-migration/, `${name}: the decoded history is searchable`);
      for (const [what, secret] of Object.entries(secrets)) {
        assert.ok(!text.includes(secret), `${name} history contains the ${what}`);
      }
    }
  });

  it('carry the migration facts a person needs', () => {
    const verified = allText(histories.get('verified')!);
    assert.match(verified, /"outcome":"verified"/);
    assert.match(verified, /SHA256:/); // the host key fingerprint is public and is the verification's anchor
    assert.match(allText(histories.get('refused')!), /SignatureDoesNotMatch/);
    assert.match(allText(histories.get('rolled-back')!), /"outcome":"rolled-back"/);
  });
});

async function approvedRun(
  env: MigrationEnv,
  instanceId: string,
): Promise<WorkflowHandle<typeof migrateInstance>> {
  const { approveUpdate } = await import('../src/workflows');
  const handle = await env.start({ instanceId, requireApproval: true });
  while (!(await handle.query(progressQuery)).awaitingApproval) await sleep(25);
  await handle.executeUpdate(approveUpdate);
  return handle;
}
