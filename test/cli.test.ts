// The `eni-migrate` CLI as users run it: a child process, against a real Temporal dev server, a real worker and the
// local cloud (SDK over HTTP, instances answering SSH). Flags, exit codes, the one JSON document, progress on stderr.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { formatReport } from '../src/cli/report';
import { REVERT_STEP_ORDER, STEP_ORDER, type MigrationReport, type StepState } from '../src/shared/migration';
import { missingSearchAttributes, startDevServer, type DevServer } from '../src/temporal';
import { SEARCH_ATTRIBUTES } from '../src/shared/search-attributes';
import { ENV_VARS } from '../src/config';
import { eventually } from './helpers/eventually';
import type { TestCloud } from './helpers/local-cloud';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { CLI_ARGV } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
/** How long a test polls the CLI for what is eventually so: each poll starts a process, which takes a while on CI. */
const CLI_POLL_MS = 60_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGV, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`eni-migrate ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not one JSON document:\n${stdout}\n--- stderr:\n${stderr}`);
          }
        },
      });
    });
  });
}

/** A long-running command (`worker`, `cloud`): its output as it comes, and its exit. */
function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [...CLI_ARGV, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = async (
    stream: 'stdout' | 'stderr',
    pattern: RegExp,
    timeoutMs = 60_000,
  ): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(out[stream]);
      if (match) return match;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`eni-migrate ${args[0]}: no ${pattern} on ${stream}\n${out.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, out, exited, waitFor };
}

/** The environment of a user's shell: no Temporal or cloud settings unless a test adds them. */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

// Each case is its own short-lived process: run them side by side.
describe(
  'eni-migrate: bad input is refused before anything is touched (exit 2)',
  { concurrency: true },
  () => {
    const env = bareEnv({ ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou', TEMPORAL_ADDRESS: '127.0.0.1:1' });

    it('an unknown flag names the flag', async () => {
      const run = await runCli(['migrate', '--instance', 'i-bp1abcdef', '--bogus'], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /unknown option '--bogus'/);
      assert.equal(run.stdout, '');
    });

    it('a usage error with --json still prints one JSON document on stdout', async () => {
      const run = await runCli(['migrate', '--instance', 'i-bp1abcdef', '--bogus', '--json'], env);
      assert.equal(run.code, 2, run.stderr);
      const doc = run.json<{ error: string; exitCode: number }>();
      assert.deepEqual(Object.keys(doc).sort(), ['error', 'exitCode']);
      assert.match(doc.error, /^unknown option '--bogus'/);
      assert.equal(doc.exitCode, 2);
      const missing = await runCli(['migrate', '--json'], env);
      assert.equal(missing.code, 2);
      assert.match(missing.json<{ error: string }>().error, /required option '--instance <id>'/);
    });

    it('a malformed instance id names --instance and the expected shape', async () => {
      const run = await runCli(['migrate', '--instance', 'web-01', '--json'], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--instance <id>/);
      assert.match(run.stderr, /ECS instance id such as i-/);
    });

    it('a malformed primary IP names --primary-ip', async () => {
      const run = await runCli(['migrate', '--instance', 'i-bp1abcdef', '--primary-ip', '10.0.0.300'], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--primary-ip <ipv4>.*IPv4/s);
    });

    it('a missing --instance is a usage error', async () => {
      const run = await runCli(['migrate'], env);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /required option '--instance <id>'/);
    });

    it('no region anywhere says what to set', async () => {
      const run = await runCli(
        ['migrate', '--instance', 'i-bp1abcdef', '--json'],
        bareEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--region.*ALIBABA_CLOUD_REGION_ID/);
      assert.deepEqual(run.json(), { error: run.json<{ error: string }>().error, exitCode: 2 });
    });

    it('a malformed environment variable is named', async () => {
      const run = await runCli(['list'], bareEnv({ TEMPORAL_ADDRESS: 'no-port-here' }));
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /TEMPORAL_ADDRESS="no-port-here" must be host:port/);
    });

    it('an unreachable Temporal is exit 5 with what to set', async () => {
      const run = await runCli(['migrate', '--instance', 'i-bp1abcdef', '--json'], env);
      assert.equal(run.code, 5, run.stderr);
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:1.*TEMPORAL_ADDRESS/);
      assert.equal(run.json<{ exitCode: number }>().exitCode, 5);
    });

    it('a worker that cannot reach Temporal is exit 5 with the address and what to set', async () => {
      const run = await runCli(['worker'], env);
      assert.equal(run.code, 5, run.stderr);
      assert.match(
        run.stderr,
        /cannot reach Temporal at 127\.0\.0\.1:1 \(namespace default\).*TEMPORAL_ADDRESS/,
      );
    });

    it("release 0.1's shell-text flags are refused, saying what to use instead; a script name is only a name", async () => {
      for (const [flag, replacement] of [
        ['--guest-prepare-command', '--guest-prepare-script <name>'],
        ['--egress-check-command', '--egress-check-script <name>'],
      ]) {
        const run = await runCli(
          ['migrate', '--instance', 'i-bp1abcdef', flag, 'systemctl restart eni.service', '--json'],
          env,
        );
        assert.equal(run.code, 2, run.stderr);
        const { error } = run.json<{ error: string }>();
        assert.match(error, new RegExp(`${flag} <cmd>.*this flag was removed`, 's'));
        assert.match(error, /define a named guest script in the worker's configuration/i);
        assert.ok(error.includes(`pass ${replacement}`), error);
      }
      const help = await runCli(['migrate', '--help'], env);
      assert.match(help.stdout, /--guest-prepare-script <name>/);
      assert.match(help.stdout, /--egress-check-script <name>/);
      assert.doesNotMatch(help.stdout, /-command/);
      const shell = await runCli(
        ['migrate', '--instance', 'i-bp1abcdef', '--guest-prepare-script', 'curl x | sh'],
        env,
      );
      assert.equal(shell.code, 2, shell.stderr);
      assert.match(shell.stderr, /--guest-prepare-script <name>.*name of a guest script of the worker/s);
    });

    it('--help lists the exit codes and exits 0', async () => {
      const run = await runCli(['migrate', '--help'], env);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /--dry-run/);
      assert.match(run.stdout, /3 +rolled back/);
    });

    it("worker --help lists every variable the worker reads, glibc's and V8's flag, wrapped at 80 columns", async () => {
      const run = await runCli(['worker', '--help'], env);
      assert.equal(run.code, 0, run.stderr);
      for (const name of [
        ...ENV_VARS.map((v) => v.name),
        'MALLOC_ARENA_MAX',
        'MALLOC_MMAP_THRESHOLD_',
        '--heap-growing-percent=50',
      ])
        assert.match(run.stdout, new RegExp(`^  ${name} `, 'm'), name);
      // Node's flag is no variable: it has its own heading.
      assert.match(run.stdout, /^Node flags:\n {2}--heap-growing-percent=50 /m);
      // Wider only where one word is (an example value).
      const wide = run.stdout.split('\n').filter((line) => line.length > 80 && line.trim().includes(' '));
      assert.deepEqual(wide, [], 'commander wraps a help that is not on a terminal at 80 columns');
    });
  },
);

describe('eni-migrate against Temporal, a worker and the local cloud', () => {
  let migration: MigrationEnv;
  let tc: TestCloud;
  let env: NodeJS.ProcessEnv;
  let instances: string[];
  let doneWorkflowId: string | undefined;

  before(async () => {
    migration = await startMigrationEnv({ instances: 4 });
    tc = migration.cloud;
    instances = migration.instances.map((i) => i.instanceId);
    // The CLI gets what a user's shell has: where Temporal is, and the region. No cloud credentials.
    const { server } = migration.temporal;
    env = bareEnv({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: migration.taskQueue,
      ALIBABA_CLOUD_REGION_ID: migration.regionId,
    });
  });

  after(() => migration?.stop());

  it('migrate --dry-run --json prints the plan and makes no mutating call', async () => {
    const [instance] = instances;
    const before = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const run = await runCli(['migrate', '--instance', instance, '--dry-run', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const doc = run.json<{ workflowId: string; report: MigrationReport }>();
    assert.equal(doc.report.outcome, 'planned');
    assert.ok(doc.workflowId.endsWith(instance));
    assert.ok(
      doc.report.checks.length > 0 && doc.report.checks.every((c) => c.ok),
      JSON.stringify(doc.report.checks),
    );
    const calls = await tc.admin.calls({ since: before });
    const mutating = calls.filter((c) => !/^Describe/.test(c.action));
    assert.deepEqual(
      mutating.map((c) => c.action),
      [],
    );
    assert.ok(calls.length > 0, 'preflight read the cloud');
  });

  it('a dry run whose checks fail exits 2, so `migrate --dry-run && migrate` stops there', async () => {
    const [instance] = instances;
    const run = await runCli(
      ['migrate', '--instance', instance, '--dry-run', '--vswitch', 'vsw-bp1doesnotexist0000', '--json'],
      env,
    );
    assert.equal(run.code, 2, run.stderr);
    const { report } = run.json<{ report: MigrationReport }>();
    assert.equal(report.outcome, 'planned');
    const vSwitch = report.checks.find((c) => c.name === 'vSwitch');
    assert.equal(vSwitch?.ok, false, JSON.stringify(report.checks));
    assert.match(vSwitch?.detail ?? '', /vsw-bp1doesnotexist0000 not found/);
  });

  it('guest scripts are named by flag; a name the worker does not know fails the dry run (exit 2)', async () => {
    const [instance] = instances;
    const named = await runCli(
      [
        'migrate',
        '--instance',
        instance,
        '--dry-run',
        '--guest-prepare-script',
        'secondary-nic-setup',
        '--egress-check-script',
        'egress-check-global',
        '--json',
      ],
      env,
    );
    assert.equal(named.code, 0, named.stderr);
    const scripts = named
      .json<{ report: MigrationReport }>()
      .report.checks.find((c) => c.name === 'guest scripts');
    assert.deepEqual(scripts, {
      name: 'guest scripts',
      ok: true,
      detail: 'egress check egress-check-global; guest preparation secondary-nic-setup',
    });
    const unknown = await runCli(
      ['migrate', '--instance', instance, '--dry-run', '--egress-check-script', 'no-such-check', '--json'],
      env,
    );
    assert.equal(unknown.code, 2, unknown.stderr);
    const check = unknown
      .json<{ report: MigrationReport }>()
      .report.checks.find((c) => c.name === 'guest scripts');
    assert.equal(check?.ok, false);
    assert.match(
      check?.detail ?? '',
      /unknown guest script "no-such-check" \(the worker knows egress-check, /,
    );
  });

  it('migrate --wait --json verifies, with progress on stderr and one JSON document on stdout', async () => {
    const [instance] = instances;
    const run = await runCli(['migrate', '--instance', instance, '--wait', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const doc = run.json<{ workflowId: string; runId: string; report: MigrationReport }>();
    doneWorkflowId = doc.workflowId;
    assert.equal(doc.report.outcome, 'verified', JSON.stringify(doc.report));
    assert.equal(doc.report.instanceId, instance);
    assert.match(doc.report.networkInterfaceId ?? '', /^eni-/);
    assert.match(doc.report.allocationId ?? '', /^eip-/);
    assert.match(run.stderr, /✓ .*create secondary ENI/);

    // status of the finished migration carries its report.
    const status = await runCli(['status', doc.workflowId, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const s = status.json<{ status: string; report: MigrationReport }>();
    assert.equal(s.status, 'COMPLETED');
    assert.equal(s.report.outcome, 'verified');

    // list finds it by instance and by outcome (visibility is eventually consistent: poll briefly).
    const listed = await eventually(
      async () => {
        const list = await runCli(['list', '--instance', instance, '--outcome', 'verified', '--json'], env);
        assert.equal(list.code, 0, list.stderr);
        const { migrations } = list.json<{ migrations: Array<{ workflowId: string; outcome?: string }> }>();
        return migrations.some((m) => m.outcome === 'verified') && migrations;
      },
      'the verified migration in list',
      CLI_POLL_MS,
    );
    assert.ok(
      listed.some((m) => m.workflowId === doc.workflowId && m.outcome === 'verified'),
      JSON.stringify(listed),
    );
    const table = await runCli(['list', '--instance', instance], env);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`WORKFLOW ID.*\\n.*${instance}`));
  });

  it('a second start for a running instance is refused (exit 6); --attach follows it; approve lets it finish', async () => {
    const instance = instances[1];
    const first = await runCli(['migrate', '--instance', instance, '--require-approval', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const { workflowId, attached } = first.json<{ workflowId: string; attached: boolean }>();
    assert.equal(attached, false);

    const second = await runCli(['migrate', '--instance', instance, '--json'], env);
    assert.equal(second.code, 6, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`a migration of ${instance} is already running: ${workflowId}; use --attach`),
    );
    assert.equal(second.json<{ workflowId: string }>().workflowId, workflowId);

    // status shows it waiting for approval (the worker may need a moment to reach the gate).
    await eventually(
      async () => {
        const status = await runCli(['status', instance, '--json'], env);
        assert.equal(status.code, 0, status.stderr);
        return status.json<{ progress?: { awaitingApproval: boolean } }>().progress?.awaitingApproval;
      },
      'status to show the approval gate',
      CLI_POLL_MS,
    );

    // --attach follows the running migration (it cannot finish before approval, so this is not a race).
    const attach = await runCli(['migrate', '--instance', instance, '--attach', '--json'], env);
    assert.equal(attach.code, 0, attach.stderr);
    const followed = attach.json<{ workflowId: string; attached: boolean }>();
    assert.equal(followed.workflowId, workflowId);
    assert.equal(followed.attached, true);

    // approve on a migration that has finished is refused, saying so.
    const late = await runCli(['approve', doneWorkflowId!, '--json'], env);
    assert.equal(late.code, 1, late.stderr);
    assert.match(
      late.json<{ error: string }>().error,
      /cannot approve .*: the migration has already ended \(COMPLETED\)/,
    );

    const approve = await runCli(['approve', workflowId], env);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, /approved/);

    const report = await eventually(
      async () => {
        const status = await runCli(['status', workflowId, '--json'], env);
        assert.equal(status.code, 0, status.stderr);
        return status.json<{ report?: MigrationReport }>().report;
      },
      'the report in status',
      CLI_POLL_MS,
    );
    assert.equal(report?.outcome, 'verified');
  });

  it('a failure after the irreversible step rolls back: exit 3, the report says why', async () => {
    const instance = instances[2];
    await tc.admin.fault({ action: 'AttachNetworkInterface', code: 'Forbidden.RAM', status: 403, count: 1 });
    try {
      const run = await runCli(['migrate', '--instance', instance, '--wait', '--json'], env);
      assert.equal(run.code, 3, run.stderr);
      const { report } = run.json<{ report: MigrationReport }>();
      assert.equal(report.outcome, 'rolled-back');
      assert.match(report.cause ?? '', /Forbidden\.RAM/);
      assert.match(run.stderr, /↶ undone: create secondary ENI/);
    } finally {
      await tc.admin.clearFaults();
    }
  });

  it('cancel --wait rolls the migration back and exits 4', async () => {
    const instance = instances[3];
    const start = await runCli(['migrate', '--instance', instance, '--require-approval', '--json'], env);
    assert.equal(start.code, 0, start.stderr);
    const { workflowId } = start.json<{ workflowId: string }>();
    const run = await runCli(['cancel', instance, '--wait', '--json'], env);
    assert.equal(run.code, 4, run.stderr);
    const doc = run.json<{ workflowId: string; cancelRequested: boolean; report?: MigrationReport }>();
    assert.equal(doc.workflowId, workflowId);
    assert.equal(doc.cancelRequested, true);
    assert.equal(doc.report?.outcome, 'rolled-back');
    assert.equal(doc.report?.cause, 'cancelled');
  });

  it('an instance that does not exist is refused by preflight: exit 2, nothing changed', async () => {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const run = await runCli(['migrate', '--instance', 'i-bp1doesnotexist0000', '--wait'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /i-bp1doesnotexist0000/);
    assert.match(run.stderr, /preflight/);
    const calls = await tc.admin.calls({ since });
    assert.deepEqual(
      calls.filter((c) => !/^Describe/.test(c.action)).map((c) => c.action),
      [],
    );
  });

  it('status of an unknown workflow id is exit 2', async () => {
    const run = await runCli(['status', 'eni-migration/cn-hangzhou/i-doesnotexist', '--json'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.json<{ error: string }>().error, /no migration with workflow id/);
  });
});

describe('eni-migrate worker and cloud, configured only by the environment', () => {
  let server: DevServer;
  const started: Array<ReturnType<typeof startCli>> = [];

  before(async () => {
    // A server without the project's search attributes, like a plain `temporal server start-dev`.
    server = await startDevServer();
    const connection = await Connection.connect({ address: server.address });
    try {
      await connection.operatorService.removeSearchAttributes({
        namespace: server.namespace,
        searchAttributes: SEARCH_ATTRIBUTES.map((k) => k.name),
      });
      assert.equal(
        (await missingSearchAttributes(connection, server.namespace)).length,
        SEARCH_ATTRIBUTES.length,
      );
    } finally {
      await connection.close();
    }
  });

  after(async () => {
    for (const { child, exited } of started) {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
    await server?.stop();
  });

  it('the worker registers the search attributes, migrates with credentials from the default chain, never logs a secret, stops on SIGINT', async () => {
    const cloud = startCli(['cloud', '--fast', '--instances', '1'], bareEnv());
    started.push(cloud);
    const line = await cloud.waitFor('stdout', /^\{.*\}$/m);
    const info = JSON.parse(line[0]) as {
      url: string;
      regionId: string;
      accessKeyId: string;
      accessKeySecret: string;
      sshConfig: string;
      instances: Array<{ instanceId: string }>;
    };
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const env = bareEnv({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      ALIBABA_CLOUD_REGION_ID: info.regionId,
      ALIBABA_CLOUD_ECS_ENDPOINT: info.url,
      ALIBABA_CLOUD_VPC_ENDPOINT: info.url,
      // Read by @alicloud/credentials' default chain, not by our configuration.
      ALIBABA_CLOUD_ACCESS_KEY_ID: info.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: info.accessKeySecret,
      ENI_MIGRATE_SSH_CONFIG: info.sshConfig,
      ENI_MIGRATE_POLL_INTERVAL_MS: '100',
    });
    const worker = startCli(['worker'], env);
    started.push(worker);
    // One queue per region: a migration started for this region runs only on this region's worker.
    await worker.waitFor('stderr', new RegExp(`polling task queue eni-migration-${info.regionId}\\b`));
    assert.match(worker.out.stderr, /registered search attributes in namespace default/);

    const run = await runCli(
      ['migrate', '--instance', info.instances[0].instanceId, '--wait', '--json'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json<{ report: MigrationReport }>().report.outcome, 'verified');

    worker.child.kill('SIGINT');
    assert.equal(await worker.exited, 0, worker.out.stderr);
    assert.match(worker.out.stderr, /received SIGINT, shutting down[\s\S]*stopped/);
    for (const text of [worker.out.stdout, worker.out.stderr, run.stdout, run.stderr]) {
      assert.ok(!text.includes(info.accessKeySecret), 'the AccessKey secret never appears in output');
    }

    cloud.child.kill('SIGINT');
    assert.equal(await cloud.exited, 0, cloud.out.stderr);
  });
});

describe('the human report', () => {
  const report = (convertToEip: StepState, publicIp?: string): MigrationReport => ({
    workflowId: 'eni-migration/cn-hangzhou/i-bp1abcdef',
    regionId: 'cn-hangzhou',
    instanceId: 'i-bp1abcdef',
    outcome: 'rolled-back',
    cause: 'cancelled',
    durationMs: 1200,
    apiCalls: 7,
    checks: [],
    publicIp,
    allocationId: convertToEip === 'done' ? 'eip-bp1abcdef' : undefined,
    steps: STEP_ORDER.map((name) => ({
      name,
      state: name === 'preflight' ? 'done' : name === 'convertToEip' ? convertToEip : 'pending',
      apiCalls: 0,
    })),
  });

  it('a rollback mentions the EIP only when step 1 converted the public IP', () => {
    assert.match(
      formatReport(report('done', '47.96.1.2')),
      /keeps its public IP 47\.96\.1\.2 as EIP eip-bp1abcdef/,
    );
    for (const state of ['pending', 'failed'] as const) {
      const text = formatReport(report(state, '47.96.1.2'));
      assert.doesNotMatch(text, /as EIP/, text);
      assert.match(text, /the instance was not changed/);
    }
  });

  it('says how long the instance was offline, why it was not verified, and what a roll-forward left', () => {
    const migrated = formatReport({
      ...report('done', '47.96.1.2'),
      outcome: 'migrated',
      cause: undefined,
      offlineMs: 4321,
      verificationSkipped: 'verification is off (--no-verify)',
    });
    assert.match(migrated, /without a public address for 4\.3 ?s/);
    assert.match(migrated, /not verified: verification is off \(--no-verify\)/);
    const forward = formatReport({
      ...report('done', '47.96.1.2'),
      outcome: 'rolled-forward',
      cause: 'verification failed: no answer',
      rolledForward: 'bind the EIP back to the instance is impossible: InvalidAssociation.Duplicated',
      steps: STEP_ORDER.map((name) => ({ name, state: name === 'verify' ? 'failed' : 'done', apiCalls: 0 })),
    });
    assert.match(forward, /rolled forward: bind the EIP back to the instance is impossible/);
    assert.match(forward, /is now EIP eip-bp1abcdef on ENI/);
    assert.match(forward, /not verified: verification failed/);
    const reverted = formatReport({
      ...report('done', '47.96.1.2'),
      outcome: 'rolled-back',
      cause: 'verification failed',
      networkInterfaceId: 'eni-bp1abc',
      steps: REVERT_STEP_ORDER.map((name) => ({ name, state: 'compensated', apiCalls: 0 })),
    });
    assert.match(reverted, /back as migrated: EIP 47\.96\.1\.2 on ENI eni-bp1abc/);
  });
});
