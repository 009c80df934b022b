/**
 * What the workflow history holds: the report, resource ids, error messages... and never a secret or shell text.
 * The runs below cover every path of this release's workflows; with RECORD_HISTORIES=1 they are written to
 * test/fixtures/histories/<package version>/ as the replay corpus (test/replay.test.ts), refusing to replace a file
 * already there (RECORD_HISTORIES=overwrite replaces them, for a version not released yet).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createActivities } from '../src/activities';
import { guestScriptRegistry } from '../src/guest-scripts';
import { FAST_TIMINGS } from '../src/local-cloud';
import { taskQueueFor } from '../src/config';
import {
  migrationWorkflowId,
  type MigrationProgress,
  type RevertInput,
  type StepName,
} from '../src/shared/migration';
import {
  approveUpdate,
  progressQuery,
  rollForwardUpdate,
  type migrateInstance,
  type revertInstance,
} from '../src/workflows';
import { productCloudApis, startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { allText, saveHistories } from './helpers/history';

const WRONG_SECRET = 'wrong-secret-Zq7u4vXk2p9';
/** An image whose guest answers on a secondary NIC only after set-up: verification fails on it without a script. */
const MANUAL_NIC_IMAGE = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';

type Handle = WorkflowHandle<typeof migrateInstance> | WorkflowHandle<typeof revertInstance>;

async function until(handle: Handle, ok: (p: MigrationProgress) => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok(await handle.query(progressQuery))) {
    assert.ok(Date.now() < deadline, 'the migration never got there');
    await sleep(25);
  }
}

const inStep = (step: StepName) => (p: MigrationProgress) =>
  p.currentStep === step && p.steps.find((s) => s.name === step)?.state === 'running';

describe('workflow histories', () => {
  let env: MigrationEnv;
  const histories = new Map<string, string>();

  before(async () => {
    env = await startMigrationEnv({
      instances: 30,
      topology: (t) => {
        for (const n of [7, 16, 17, 18, 20, 22, 24, 26]) t.instances[n].imageId = MANUAL_NIC_IMAGE;
        t.instances[19].instanceChargeType = 'PrePaid';
        Object.assign(t.instances[25], {
          instanceChargeType: 'PrePaid',
          internetChargeType: 'PayByBandwidth',
        });
      },
      // An egress check that never answers the expected address: verification fails on any image.
      guestScripts: guestScriptRegistry([
        {
          name: 'egress-elsewhere',
          description: 'answers an address that is neither the SNAT IP nor the instance address',
          command: 'echo 198.51.100.7',
          root: false,
          answer: 'ipv4',
        },
      ]),
    });
    const record = async (name: string, handle: Handle) => {
      await handle.result().catch(() => undefined);
      histories.set(name, historyToJSON(await handle.fetchHistory()));
    };
    const id = (n: number) => env.instances[n].instanceId;
    const faulted = async (
      fault: Parameters<MigrationEnv['cloud']['admin']['fault']>[0],
      fn: () => Promise<void>,
    ) => {
      await env.cloud.admin.fault(fault);
      try {
        await fn();
      } finally {
        await env.cloud.admin.clearFaults();
      }
    };
    const revert = (input: Partial<RevertInput> & { instanceId: string }) =>
      env.temporal.client.workflow.start<typeof revertInstance>('revertInstance', {
        taskQueue: taskQueueFor(env.regionId, env.taskQueue),
        workflowId: migrationWorkflowId(env.regionId, input.instanceId),
        args: [{ regionId: env.regionId, verifyTimeoutSeconds: 5, ...input }],
      });

    await record('verified', await env.start({ instanceId: id(0) }));
    await record('migrated-no-verify', await env.start({ instanceId: id(1), verify: false }));
    await record('dry-run', await env.start({ instanceId: id(2), dryRun: true }));
    await record(
      'guest-prepare-script',
      await env.start({ instanceId: id(16), guestPrepareScript: 'secondary-nic-setup' }),
    );
    await record('prepaid-switch', await env.start({ instanceId: id(19), allowChargeTypeChange: true }));
    // Release 0.5: the guest set up through Cloud Assistant (and a refusal there, rolled back), a subscription billed
    // by fixed bandwidth switched to pay-by-traffic, a re-run of a migrated instance.
    await record(
      'cloud-assistant-setup',
      await env.start({ instanceId: id(24), guestSetup: 'cloud-assistant' }),
    );
    await faulted({ action: 'RunCommand', code: 'InvalidInstance.NotMatch', count: 1 }, async () =>
      record(
        'rolled-back-at-cloud-assistant',
        await env.start({ instanceId: id(26), guestSetup: 'cloud-assistant' }),
      ),
    );
    await record(
      'bandwidth-pay-by-traffic',
      await env.start({ instanceId: id(25), allowPayByTraffic: true }),
    );
    await record('already-migrated', await env.start({ instanceId: id(0) }));

    // A non-retryable error at each step, then its rollback.
    const failures: Array<[StepName, string, string]> = [
      ['createEni', 'CreateNetworkInterface', 'InvalidVSwitchId.IpNotEnough'],
      ['attachEni', 'AttachNetworkInterface', 'InvalidOperation.AvailabilityZoneMismatch'],
      ['unassociateEip', 'UnassociateEipAddress', 'Forbidden.RAM'],
      ['associateEipToEni', 'AssociateEipAddress', 'InvalidAssociation.Duplicated'],
    ];
    for (const [n, [step, action, code]] of failures.entries()) {
      await faulted({ action, code, count: 1 }, async () =>
        record(`rolled-back-at-${step}`, await env.start({ instanceId: id(3 + n) })),
      );
    }
    await record('rolled-back-at-verify', await env.start({ instanceId: id(7), verifyTimeoutSeconds: 1 }));

    // The rollback's own troubles: stuck then recovered, impossible (rolled forward), an operator's roll-forward,
    // a compensation that leaves the ENI (failed), and the offline budget.
    {
      const h = await env.start({
        instanceId: id(17),
        verifyTimeoutSeconds: 1,
        rollbackRetryMaxIntervalSeconds: 1,
      });
      await until(h, (p) => p.currentStep === 'verify');
      await faulted({ action: 'AssociateEipAddress', code: 'Forbidden.RAM', rate: 1 }, () =>
        until(h, (p) => (p.rollbackStuck?.rounds ?? 0) >= 3),
      );
      await record('rollback-stuck-then-recovered', h);
    }
    {
      const h = await env.start({ instanceId: id(18), verifyTimeoutSeconds: 1 });
      await until(h, (p) => p.currentStep === 'verify');
      await faulted({ action: 'AssociateEipAddress', code: 'InvalidAssociation.Duplicated', count: 1 }, () =>
        record('rolled-forward-impossible-bind-back', h),
      );
    }
    {
      await env.cloud.admin.fault({ action: 'AttachNetworkInterface', code: 'InvalidParameter', count: 1 });
      const h = await env.start({ instanceId: id(8), rollbackRetryMaxIntervalSeconds: 3600 });
      await faulted({ action: 'DeleteNetworkInterface', code: 'Forbidden.RAM', rate: 1 }, () =>
        record('failed-compensation', h),
      );
    }
    {
      const h = await env.start({
        instanceId: id(20),
        verifyTimeoutSeconds: 1,
        rollbackRetryMaxIntervalSeconds: 3600,
      });
      await until(h, (p) => p.currentStep === 'verify');
      await faulted({ action: 'UnassociateEipAddress', code: 'Forbidden.RAM', rate: 1 }, async () => {
        await until(h, (p) => p.rollbackStuck !== undefined);
        await h.executeUpdate(rollForwardUpdate);
        await record('rolled-forward-by-operator', h);
      });
    }
    await env.cloud.admin.timings({ associateMs: 4000 });
    await record('offline-budget-exceeded', await env.start({ instanceId: id(21), offlineBudgetSeconds: 1 }));
    await env.cloud.admin.timings(FAST_TIMINGS);

    // Cancelled in each step: each is slowed so that the cancellation lands inside it.
    const cancels: Array<[StepName, () => Promise<unknown>]> = [
      ['createEni', () => env.cloud.admin.latency('CreateNetworkInterface', 1200)],
      ['attachEni', () => env.cloud.admin.timings({ attachMs: 1200 })],
      ['unassociateEip', () => env.cloud.admin.timings({ unassociateMs: 1200 })],
      ['associateEipToEni', () => env.cloud.admin.timings({ associateMs: 1200 })],
    ];
    for (const [n, [step, slow]] of cancels.entries()) {
      await slow();
      const h = await env.start({ instanceId: id(9 + n) });
      await until(h, inStep(step));
      await h.cancel();
      await record(`cancelled-at-${step}`, h);
      await env.cloud.admin.clearLatency();
      await env.cloud.admin.timings(FAST_TIMINGS);
    }
    {
      const h = await env.start({ instanceId: id(22), verifyTimeoutSeconds: 60 });
      await until(h, inStep('verify'));
      await h.cancel();
      await record('cancelled-at-verify', h);
    }

    // A worker with a wrong secret: the refusal's message travels in the history, the secret must not.
    const { ecs, vpc } = productCloudApis(env.cloud, env.regionId, WRONG_SECRET);
    const wrong = createActivities({
      ecs,
      vpc,
      ssh: env.ssh,
      pollIntervalMs: 50,
      guestScripts: guestScriptRegistry(),
    });
    await env.withWorker(wrong, async (queue) =>
      record('refused', await env.start({ instanceId: id(13) }, queue)),
    );

    {
      const h = await env.start({ instanceId: id(14), requireApproval: true });
      await until(h, (p) => p.awaitingApproval);
      await h.executeUpdate(approveUpdate);
      await record('approved', h);
    }

    {
      const h = await env.start({ instanceId: id(23), requireApproval: true });
      await until(h, (p) => p.awaitingApproval);
      await h.cancel();
      await record('cancelled-awaiting-approval', h);
    }

    // The way back: reverted, a revert that fails and puts the EIP back on the ENI, and one rolled forward.
    await record('revert-reverted', await revert({ instanceId: id(0) }));
    await faulted({ action: 'AssociateEipAddress', code: 'InvalidParameter', count: 1 }, async () =>
      record('revert-rolled-back', await revert({ instanceId: id(1), verify: false })),
    );

    {
      const h = await revert({
        instanceId: id(14),
        egressCheckScript: 'egress-elsewhere',
        verifyTimeoutSeconds: 1,
        rollbackRetryMaxIntervalSeconds: 3600,
      });
      await until(h, (p) => p.currentStep === 'verify');
      await faulted({ action: 'UnassociateEipAddress', code: 'Forbidden.RAM', rate: 1 }, async () => {
        await until(h, (p) => p.rollbackStuck !== undefined);
        await h.executeUpdate(rollForwardUpdate);
        await record('revert-rolled-forward', h);
      });
    }

    saveHistories(histories);
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
    assert.ok(histories.size >= 24, String(histories.size));
    for (const [name, json] of histories) {
      const text = allText(json);
      assert.match(text, /eni-migration/, `${name}: the decoded history is searchable`);
      for (const [what, secret] of Object.entries(secrets)) {
        assert.ok(!text.includes(secret), `${name} history contains the ${what}`);
      }
    }
  });

  it('never contain shell text: inputs name guest scripts, the worker holds their commands', () => {
    const commands = guestScriptRegistry()
      .all()
      .map((s) => s.command);
    assert.ok(commands.length >= 2);
    for (const [name, json] of histories) {
      const text = allText(json);
      for (const command of commands) assert.ok(!text.includes(command), `${name} history holds ${command}`);
      assert.doesNotMatch(text, /curl |systemctl |sudo /, `${name} history holds shell text`);
    }
  });

  it('say what happened: the outcome of each path', () => {
    const outcome = (name: string) => /"outcome":"([a-z-]+)"/.exec(allText(histories.get(name)!))?.[1];
    assert.equal(outcome('verified'), 'verified');
    assert.equal(outcome('migrated-no-verify'), 'migrated');
    assert.equal(outcome('rolled-back-at-verify'), 'rolled-back');
    assert.equal(outcome('rollback-stuck-then-recovered'), 'rolled-back');
    assert.equal(outcome('rolled-forward-impossible-bind-back'), 'rolled-forward');
    assert.equal(outcome('rolled-forward-by-operator'), 'rolled-forward');
    assert.equal(outcome('failed-compensation'), 'failed');
    assert.equal(outcome('revert-reverted'), 'reverted');
    assert.equal(outcome('revert-rolled-forward'), 'rolled-forward');
    assert.match(allText(histories.get('verified')!), /SHA256:/); // the host key is public: verification's anchor
    assert.match(allText(histories.get('refused')!), /SignatureDoesNotMatch/);
    assert.match(allText(histories.get('rollback-stuck-then-recovered')!), /rollback-stuck:unassociateEip/);
    assert.match(
      allText(histories.get('offline-budget-exceeded')!),
      /without a public address for the whole offline budget/,
    );
    for (const step of ['createEni', 'attachEni', 'unassociateEip', 'associateEipToEni']) {
      assert.match(
        allText(histories.get(`cancelled-at-${step}`)!),
        /WorkflowExecutionCanceled|WORKFLOW_EXECUTION_CANCELED/i,
      );
    }
  });
});
