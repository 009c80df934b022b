/**
 * Guest scripts: the operator's file and its validation, the egress check's IPv4 answer, sudo for a non-root SSH user,
 * the built-in scripts running over the product's SSH client on the local cloud's instances, and the activities
 * refusing release 0.1's shell text and unknown names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as $Ecs from '@alicloud/ecs20140526';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type Activities } from '../src/activities';
import { ConfigError, loadConfig } from '../src/config';
import {
  BUILTIN_GUEST_SCRIPTS,
  commandLine,
  ipv4Answer,
  loadGuestScripts,
  runGuestScript,
  type GuestScript,
} from '../src/guest-scripts';
import { defaultTopology } from '../src/local-cloud/model';
import { createSshRunner, type SshRunner } from '../src/ssh';
import { createMigrationWorker } from '../src/worker';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';
import { productCloudApis } from './helpers/migration';

const QUIET = new DefaultLogger('ERROR', () => undefined);
const dir = mkdtempSync(join(tmpdir(), 'guest-scripts-'));
let files = 0;
/** Writes `content` (an object as JSON, a string as is) to a new file and returns its path. */
function file(content: unknown): string {
  const path = join(dir, `scripts-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const builtin = (name: string): GuestScript => {
  const found = BUILTIN_GUEST_SCRIPTS.find((s) => s.name === name);
  assert.ok(found, `built-in ${name}`);
  return found;
};

describe('the guest script file (ENI_MIGRATE_GUEST_SCRIPTS)', () => {
  it('adds the operator scripts to the built-in ones, and replaces a built-in by name', () => {
    const registry = loadGuestScripts(
      file({
        scripts: [
          {
            name: 'flush-arp',
            description: 'flush the neighbour table',
            command: 'ip neigh flush all',
            root: true,
          },
          {
            name: 'egress-check',
            description: 'our echo service',
            command: 'curl -4 -sS https://echo.example.com',
            answer: 'ipv4',
          },
        ],
      }),
    );
    assert.deepEqual(registry.names(), [
      'egress-check',
      'egress-check-global',
      'flush-arp',
      'secondary-nic-setup',
      // Release 0.5's built-in set-up for Ubuntu/Debian (policy routing with iproute2, no multi-nic-util).
      'secondary-nic-setup-iproute2',
    ]);
    assert.equal(registry.find('flush-arp')?.root, true);
    assert.equal(registry.find('egress-check')?.command, 'curl -4 -sS https://echo.example.com');
    // Without a file: the built-in ones.
    assert.deepEqual(loadGuestScripts(undefined).names(), BUILTIN_GUEST_SCRIPTS.map((s) => s.name).sort());
  });

  it('refuses a bad file, naming the variable, the file, the script and what is wrong', () => {
    const refused = (content: unknown, ...expected: RegExp[]) => {
      const path = file(content);
      assert.throws(
        () => loadGuestScripts(path),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(err.message.startsWith(`ENI_MIGRATE_GUEST_SCRIPTS=${path}: `), err.message);
          for (const e of expected) assert.match(err.message, e);
          return true;
        },
      );
    };
    refused('{"scripts": [', /not valid JSON/);
    refused({ script: [] }, /Unrecognized key.*"script"/, /scripts: must be a list of scripts/);
    refused(
      { scripts: [{ name: 'Bad Name!', description: 'x', command: 'true' }] },
      /script "Bad Name!": name: must be lowercase letters, digits/,
    );
    refused(
      { scripts: [{ name: 'empty', description: 'nothing to run', command: '  ' }] },
      /script "empty": command: must not be empty/,
    );
    refused(
      { scripts: [{ name: 'typo', description: 'x', command: 'true', sudo: true }] },
      /script "typo": Unrecognized key: "sudo"/,
    );
    refused(
      { scripts: [{ name: 'rooted', description: 'x', command: 'true', root: 'yes' }] },
      /script "rooted": root: must be true or false/,
    );
    refused({ scripts: [{ description: 'x', command: 'true' }] }, /scripts\[0\]: name: must be a string/);
    refused(
      {
        scripts: [
          { name: 'twice', description: 'a', command: 'true' },
          { name: 'twice', description: 'b', command: 'false' },
        ],
      },
      /script "twice" is defined twice \(scripts\[0\] and scripts\[1\]\)/,
    );
    refused(
      { scripts: [{ name: 'egress-check', description: 'x', command: 'echo 1.2.3.4' }] },
      /script "egress-check" replaces the built-in egress check, so it must declare "answer": "ipv4"/,
    );
    assert.throws(
      () => loadGuestScripts(join(dir, 'missing.json')),
      /ENI_MIGRATE_GUEST_SCRIPTS=.*missing\.json: ENOENT/,
    );
  });

  it('the worker does not start with a bad file, and says why', async () => {
    const path = file({ scripts: [{ name: 'x', description: 'y', command: '' }] });
    const config = loadConfig({ ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou', ENI_MIGRATE_GUEST_SCRIPTS: path });
    assert.equal(config.guestScriptsPath, path);
    await assert.rejects(
      createMigrationWorker({ config, log: () => undefined, registerSearchAttributes: false }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /ENI_MIGRATE_GUEST_SCRIPTS=.*script "x": command: must not be empty/.test(err.message),
    );
  });
});

describe('what the guest runs', () => {
  it("an egress check's answer is the first address in it, and it must be IPv4", () => {
    assert.deepEqual(ipv4Answer('47.96.180.23'), { ip: '47.96.180.23' });
    assert.deepEqual(ipv4Answer('当前 IP：47.96.180.23  来自于：中国 浙江 杭州  阿里云\n'), {
      ip: '47.96.180.23',
    });
    assert.deepEqual(ipv4Answer('Current IP: 47.96.180.23.'), { ip: '47.96.180.23' });
    assert.match(
      ipv4Answer('当前 IP：240e:3b7:3272:d8d0::1  来自于：中国 1.2.3.4').problem ?? '',
      /IPv6 address 240e/,
    );
    assert.match(
      ipv4Answer('47.96.180.300').problem ?? '',
      /"47\.96\.180\.300", which is not an IPv4 address/,
    );
    assert.equal(ipv4Answer('').problem, 'answered no address');
    assert.equal(ipv4Answer('<html>Service Unavailable</html>').problem, 'answered no address');
  });

  it('a root script runs through `sudo -n sh -c` for a user other than root, quoted whole', () => {
    const script: GuestScript = {
      name: 'x',
      description: 'x',
      command: "systemctl restart eni.service && echo 'done'",
      root: true,
    };
    assert.equal(commandLine(script, 'root'), script.command);
    assert.equal(
      commandLine(script, 'ecs-user'),
      `sudo -n sh -c 'systemctl restart eni.service && echo '\\''done'\\'''`,
    );
    assert.equal(commandLine({ ...script, root: false }, 'ecs-user'), script.command);
  });
});

/** A manual-NIC image: a secondary NIC answers only after the set-up script ran. */
const MANUAL_NIC_IMAGE = 'centos_7_9_x64_20G_alibase_20240628.vhd';

/** A local cloud whose instances answer SSH as `user`, all on an image that needs its secondary NIC set up. */
async function cloudWithSshUser(user: string): Promise<TestCloud> {
  const t = defaultTopology({ instances: 2 });
  for (const i of t.instances) i.imageId = MANUAL_NIC_IMAGE;
  const topologyFile = file(t);
  return startTestCloud({ ssh: true, sshUser: user, topologyFile });
}

function publicIps(tc: TestCloud): string[] {
  return (tc.cloud.info().instances as Array<{ publicIp: string }>).map((i) => i.publicIp);
}

/** Attaches a new secondary ENI to the instance behind `index` and waits until it is InUse; returns its id. */
async function attachEni(tc: TestCloud, index: number): Promise<string> {
  const regionId = tc.cloud.regionId;
  const { instanceId } = (tc.cloud.info().instances as Array<{ instanceId: string }>)[index];
  const d = await tc.ecs.describeInstances(
    new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify([instanceId]) }),
  );
  const inst = d.body!.instances!.instance![0];
  const created = await tc.ecs.createNetworkInterface(
    new $Ecs.CreateNetworkInterfaceRequest({
      regionId,
      vSwitchId: inst.vpcAttributes!.vSwitchId!,
      securityGroupId: inst.securityGroupIds!.securityGroupId![0],
    }),
  );
  const networkInterfaceId = created.body!.networkInterfaceId!;
  for (let i = 0; ; i++) {
    const eni = await eniState(tc, networkInterfaceId);
    if (eni?.Status === 'Available') break;
    assert.ok(i < 100, `ENI ${networkInterfaceId} never became Available`);
    await sleep(20);
  }
  await tc.ecs.attachNetworkInterface(
    new $Ecs.AttachNetworkInterfaceRequest({ regionId, networkInterfaceId, instanceId }),
  );
  for (let i = 0; ; i++) {
    if ((await eniState(tc, networkInterfaceId))?.Status === 'InUse') return networkInterfaceId;
    assert.ok(i < 100, `ENI ${networkInterfaceId} never became InUse`);
    await sleep(20);
  }
}

async function eniState(
  tc: TestCloud,
  id: string,
): Promise<{ Status: string; GuestNetworkConfigured: boolean } | undefined> {
  const state = await tc.admin.state();
  return (
    state.NetworkInterfaces as Array<{
      NetworkInterfaceId: string;
      Status: string;
      GuestNetworkConfigured: boolean;
    }>
  ).find((e) => e.NetworkInterfaceId === id);
}

describe("the built-in guest scripts on the local cloud's instances, over the product's SSH client", () => {
  let asRoot: TestCloud;
  let asUser: TestCloud;
  let rootSsh: SshRunner;
  let userSsh: SshRunner;

  before(async () => {
    [asRoot, asUser] = await Promise.all([cloudWithSshUser('root'), cloudWithSshUser('ecs-user')]);
    rootSsh = createSshRunner({ sshConfigPath: asRoot.cloud.sshConfig, connectTimeoutMs: 3000 });
    userSsh = createSshRunner({ sshConfigPath: asUser.cloud.sshConfig, connectTimeoutMs: 3000 });
  });
  after(() => Promise.all([asRoot?.cloud.stop(), asUser?.cloud.stop()]));

  it('the egress checks answer the IPv4 address the instance leaves from, as root and as another user', async () => {
    for (const [tc, ssh] of [
      [asRoot, rootSsh],
      [asUser, userSsh],
    ] as const) {
      const ip = publicIps(tc)[0];
      for (const name of ['egress-check', 'egress-check-global']) {
        const r = await runGuestScript(ssh, ip, builtin(name));
        assert.equal(r.exitCode, 0, r.stderr);
        assert.deepEqual(ipv4Answer(r.stdout), { ip }, `${name}: ${r.stdout}`);
      }
    }
  });

  it('secondary-nic-setup brings up an attached secondary NIC (as root)', async () => {
    const eni = await attachEni(asRoot, 0);
    assert.equal((await eniState(asRoot, eni))?.GuestNetworkConfigured, false);
    const r = await runGuestScript(rootSsh, publicIps(asRoot)[0], builtin('secondary-nic-setup'));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await eniState(asRoot, eni))?.GuestNetworkConfigured, true);
  });

  it('a non-root SSH user runs a root script through sudo; without it the same command is refused', async () => {
    const ip = publicIps(asUser)[1];
    assert.equal(userSsh.user(ip), 'ecs-user');
    const whoami: GuestScript = {
      name: 'whoami',
      description: 'who runs it',
      command: 'whoami',
      root: false,
    };
    assert.equal((await runGuestScript(userSsh, ip, whoami)).stdout, 'ecs-user\n');
    assert.equal((await runGuestScript(userSsh, ip, { ...whoami, root: true })).stdout, 'root\n');

    const eni = await attachEni(asUser, 1);
    const setup = builtin('secondary-nic-setup');
    const denied = await runGuestScript(userSsh, ip, { ...setup, root: false });
    assert.equal(denied.exitCode, 1);
    assert.match(denied.stderr, /Interactive authentication required/);
    assert.equal((await eniState(asUser, eni))?.GuestNetworkConfigured, false);

    const r = await runGuestScript(userSsh, ip, setup);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await eniState(asUser, eni))?.GuestNetworkConfigured, true);
  });

  describe('the activities take script names, never shell text', () => {
    let acts: Activities;
    const run = {
      workflowId: 'eni-migration/test/guest-scripts',
      runId: '11111111-2222-3333-4444-555555555555',
    };

    before(() => {
      const { ecs, vpc } = productCloudApis(asUser, asUser.cloud.regionId);
      acts = createActivities({ ecs, vpc, ssh: userSsh, pollIntervalMs: 20 });
    });

    /** Runs one activity with an input of any shape (as an old workflow would schedule it). */
    function act<K extends keyof Activities>(
      name: K,
      input: Record<string, unknown>,
    ): Promise<Awaited<ReturnType<Activities[K]>>> {
      // Refusals are what these tests are about: keep the SDK's "Activity failed" warnings out of the output.
      const env = new MockActivityEnvironment({ workflowExecution: run } as never, { logger: QUIET });
      const fn = acts[name] as unknown as (
        i: Record<string, unknown>,
      ) => Promise<Awaited<ReturnType<Activities[K]>>>;
      return env.run(fn, input);
    }

    async function refusedAs(promise: Promise<unknown>, type: string, message: RegExp): Promise<void> {
      await assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, type, err.message);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, message);
        return true;
      });
    }

    const REFUSED =
      /shell text in workflow input is no longer run.*define a named guest script in the worker's configuration/;

    it("refuses release 0.1's inputs that carry shell text", async () => {
      const [ip] = publicIps(asUser);
      const { instanceId } = (asUser.cloud.info().instances as Array<{ instanceId: string }>)[0];
      const preflight = {
        regionId: asUser.cloud.regionId,
        instanceId,
        verify: true,
        allowChargeTypeChange: false,
      };
      await refusedAs(
        act('prepareGuest', { address: ip, command: 'touch /tmp/pwned' }),
        'GuestCommandRefused',
        REFUSED,
      );
      await refusedAs(
        act('preflight', { ...preflight, egressCheckCommand: 'touch /tmp/pwned' }),
        'GuestCommandRefused',
        REFUSED,
      );
      await refusedAs(
        act('verifyMigration', {
          address: ip,
          hostKeyFingerprint: await userSsh.hostKeyFingerprint(ip),
          snatIps: [ip],
          timeoutSeconds: 1,
          egressCheckCommand: 'echo 1.2.3.4',
        }),
        'GuestCommandRefused',
        REFUSED,
      );
      // A 0.1 input without a command of its own used the default check then, and still does.
      for (const old of [preflight, { ...preflight, egressCheckCommand: '' }]) {
        const result = await act('preflight', old);
        const scripts = result.checks.find((c) => c.name === 'guest scripts');
        assert.deepEqual(scripts, {
          name: 'guest scripts',
          ok: true,
          detail: 'egress check egress-check; guest preparation (none)',
        });
        assert.match(
          result.checks.find((c) => c.name.startsWith('SSH reaches'))?.detail ?? '',
          new RegExp(`egress now via ${ip.replace(/\./g, '\\.')}$`),
        );
      }
    });

    it('refuses a script name the worker does not know, naming the ones it knows', async () => {
      const [ip] = publicIps(asUser);
      const known = /egress-check, egress-check-global, secondary-nic-setup/;
      await refusedAs(act('prepareGuest', { address: ip, script: 'rm-rf' }), 'UnknownGuestScript', known);
      await refusedAs(
        act('verifyMigration', {
          address: ip,
          hostKeyFingerprint: await userSsh.hostKeyFingerprint(ip),
          snatIps: [ip],
          timeoutSeconds: 1,
          egressCheckScript: 'no-such-check',
        }),
        'UnknownGuestScript',
        /unknown guest script "no-such-check"/,
      );
      // Preflight reports it as a failed check, so the workflow refuses the migration before any change.
      const { instanceId } = (asUser.cloud.info().instances as Array<{ instanceId: string }>)[0];
      const result = await act('preflight', {
        regionId: asUser.cloud.regionId,
        instanceId,
        verify: true,
        allowChargeTypeChange: false,
        egressCheckScript: 'secondary-nic-setup',
        guestPrepareScript: 'rm-rf',
      });
      assert.equal(result.ok, false);
      const check = result.checks.find((c) => c.name === 'guest scripts');
      assert.equal(check?.ok, false);
      assert.match(check?.detail ?? '', /"secondary-nic-setup" cannot be the egress check/);
      assert.match(check?.detail ?? '', /unknown guest script "rm-rf" \(the worker knows egress-check, /);
    });

    it('prepareGuest runs the named script, through sudo for the non-root user', async () => {
      const ip = publicIps(asUser)[0];
      const r = await act('prepareGuest', {
        address: ip,
        script: 'secondary-nic-setup',
        hostKeyFingerprint: await userSsh.hostKeyFingerprint(ip),
      });
      assert.equal(r.exitCode, 0);
    });
  });
});
