/**
 * No shell text in workflow inputs or histories: migrations through the real workflow name their guest scripts
 * (built-in and the operator's, run as a non-root SSH user through sudo), and neither the workflow's input, any
 * activity's input nor anything else in the history carries the text of any script the worker knows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { commandLine, loadGuestScripts, type GuestScriptRegistry } from '../src/guest-scripts';
import type { MigrationInput } from '../src/shared/migration';
import type { migrateInstance } from '../src/workflows';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { allText } from './helpers/history';

const SSH_USER = 'ecs-user';
/** An image whose guest answers on a secondary NIC only after its set-up script ran. */
const MANUAL_NIC_IMAGE = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';
const MUTATING = /^(Convert|Create|Attach|Detach|Delete|Associate|Unassociate|Modify)/;

/** The operator's own scripts, from a file as the worker reads it (ENI_MIGRATE_GUEST_SCRIPTS). */
function operatorScripts(): GuestScriptRegistry {
  const path = join(mkdtempSync(join(tmpdir(), 'guest-scripts-history-')), 'scripts.json');
  writeFileSync(
    path,
    JSON.stringify({
      scripts: [
        {
          name: 'operator-nic-setup',
          description: 'our image: bring up the secondary NIC and say so',
          command: "systemctl restart eni.service && echo 'operator: secondary NIC up'",
          root: true,
        },
      ],
    }),
  );
  return loadGuestScripts(path);
}

interface Decoded {
  /** The event's attributes key, e.g. activityTaskScheduledEventAttributes. */
  event: string;
  activity?: string;
  value: unknown;
}

/** Every payload of an `input` in the history (the workflow's and each activity's), decoded from base64 JSON. */
function inputsOf(json: string): Decoded[] {
  const out: Decoded[] = [];
  for (const e of (JSON.parse(json) as { events: Array<Record<string, unknown>> }).events) {
    for (const [key, attrs] of Object.entries(e)) {
      if (!key.endsWith('EventAttributes') || !attrs || typeof attrs !== 'object') continue;
      const a = attrs as {
        input?: { payloads?: Array<{ data?: string }> };
        activityType?: { name?: string };
      };
      for (const p of a.input?.payloads ?? []) {
        if (!p.data) continue;
        out.push({
          event: key,
          activity: a.activityType?.name,
          value: JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')),
        });
      }
    }
  }
  return out;
}

/** Keys anywhere in a value whose name speaks of a command (release 0.1's fields were *Command / command). */
function commandKeys(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => commandKeys(x, `${path}[${i}]`));
  if (!v || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [
    ...(/command/i.test(k) ? [`${path}.${k}`] : []),
    ...commandKeys(x, `${path}.${k}`),
  ]);
}

describe('no shell text in workflow inputs or histories', () => {
  let env: MigrationEnv;
  let scripts: GuestScriptRegistry;
  const histories = new Map<string, string>();
  const outcomes = new Map<string, unknown>();

  before(async () => {
    scripts = operatorScripts();
    env = await startMigrationEnv({
      instances: 5,
      sshUser: SSH_USER,
      guestScripts: scripts,
      topology: (t) => {
        for (const i of t.instances) i.imageId = MANUAL_NIC_IMAGE;
      },
    });
    const [a, b, c, d, e] = env.instances;
    const record = async (name: string, input: Partial<MigrationInput> & { instanceId: string }) => {
      const handle: WorkflowHandle<typeof migrateInstance> = await env.start(input);
      outcomes.set(name, await handle.result().catch((err: unknown) => err));
      histories.set(name, historyToJSON(await handle.fetchHistory()));
    };
    await Promise.all([
      record('built-in preparation', { instanceId: a.instanceId, guestPrepareScript: 'secondary-nic-setup' }),
      record("the operator's preparation", {
        instanceId: b.instanceId,
        guestPrepareScript: 'operator-nic-setup',
      }),
      record('dry run', {
        instanceId: c.instanceId,
        dryRun: true,
        guestPrepareScript: 'secondary-nic-setup',
        egressCheckScript: 'egress-check-global',
      }),
      record('unknown egress check', { instanceId: d.instanceId, egressCheckScript: 'no-such-check' }),
      record('unknown preparation', { instanceId: e.instanceId, guestPrepareScript: 'no-such-script' }),
    ]);
  });
  after(() => env?.stop());

  it('the named scripts ran: through sudo for the non-root SSH user, the migrations verify', () => {
    assert.equal(env.ssh.user(env.instances[0].publicIp), SSH_USER);
    for (const name of ['built-in preparation', "the operator's preparation"]) {
      const report = outcomes.get(name) as {
        outcome?: string;
        cause?: string;
        steps?: Array<{ name: string; state: string }>;
      };
      assert.equal(report.outcome, 'verified', `${name}: ${report.cause ?? String(report)}`);
      assert.equal(report.steps?.find((s) => s.name === 'prepareGuest')?.state, 'done');
    }
    const plan = outcomes.get('dry run') as { outcome: string; checks: Array<{ name: string; ok: boolean }> };
    assert.equal(plan.outcome, 'planned');
    assert.ok(
      plan.checks.every((c) => c.ok),
      JSON.stringify(plan.checks),
    );
  });

  it('an unknown script name is refused by preflight, before anything changes', async () => {
    for (const [name, unknown] of [
      ['unknown egress check', 'no-such-check'],
      ['unknown preparation', 'no-such-script'],
    ]) {
      const err = outcomes.get(name);
      assert.ok(err instanceof WorkflowFailedError, `${name}: ${JSON.stringify(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'PreflightFailed', `${name}: ${err.cause.message}`);
      assert.match(err.cause.message, new RegExp(`unknown guest script "${unknown}"`));
    }
    const mutating = (await env.cloud.admin.calls()).filter(
      (c) =>
        MUTATING.test(c.action) &&
        [env.instances[3], env.instances[4]].some(
          (i) => c.params.InstanceId === i.instanceId || c.params.PublicIpAddress === i.publicIp,
        ),
    );
    assert.deepEqual(
      mutating.map((c) => c.action),
      [],
    );
  });

  it('workflow and activity inputs name scripts and carry no command', () => {
    assert.equal(histories.size, 5);
    for (const [name, json] of histories) {
      const inputs = inputsOf(json);
      const started = inputs.find((i) => i.event === 'workflowExecutionStartedEventAttributes');
      assert.ok(started, `${name}: the workflow input is in the history`);
      assert.ok(
        inputs.some((i) => i.activity === 'preflight'),
        `${name}: preflight's input is in the history`,
      );
      for (const input of inputs) {
        assert.deepEqual(commandKeys(input.value), [], `${name}: ${input.activity ?? input.event} input`);
      }
    }
    const prepare = inputsOf(histories.get("the operator's preparation")!).find(
      (i) => i.activity === 'prepareGuest',
    );
    assert.equal((prepare?.value as { script?: string }).script, 'operator-nic-setup');
  });

  it("no script's text appears anywhere in any history", () => {
    const texts = scripts
      .all()
      .flatMap((s) => [s.command, commandLine(s, SSH_USER)])
      .filter((t, i, all) => all.indexOf(t) === i);
    assert.ok(texts.length >= 4);
    for (const [name, json] of histories) {
      const text = allText(json);
      // The scan reads the decoded payloads: the script names are there, the texts are not.
      assert.match(text, /egress-check|secondary-nic-setup|operator-nic-setup|no-such/, `${name}: decoded`);
      for (const t of texts)
        assert.ok(!text.includes(t), `${name} history contains the shell text ${JSON.stringify(t)}`);
      assert.doesNotMatch(text, /\bcurl\b|systemctl|sudo/, `${name} history contains shell text`);
    }
  });
});
