// `eni-migrate batch …` and `eni-migrate schedule …` as users run them: child processes, against a real Temporal dev
// server, a real worker and the local cloud. Flags, exit codes, the one JSON document, progress on stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchEntry } from '../src/cli/batch/follow';
import { BatchProgressView, type ProgressOutput } from '../src/cli/batch/progress-view';
import type { BatchStatus } from '../src/cli/batch/status';
import type { BatchScheduleInfo } from '../src/client/schedules';
import type { BatchSummary } from '../src/client/batches';
import type { FleetProgress, FleetReport } from '../src/shared/fleet';
import { eventually } from './helpers/eventually';
import type { TestCloud } from './helpers/local-cloud';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { CLI_ARGV } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
/** How long a test polls the CLI for what is eventually so: each poll starts a process. */
const CLI_POLL_MS = 60_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliRun> {
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

/** The environment of a user's shell: no Temporal or cloud settings unless a test adds them. */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

const mutating = (calls: Array<{ action: string }>) =>
  calls.filter((c) => !/^Describe/.test(c.action)).map((c) => c.action);

describe(
  'eni-migrate batch/schedule: bad input is refused before anything starts (exit 2)',
  { concurrency: true },
  () => {
    // Temporal is unreachable: a refusal here cannot have started anything, and its code must be 2, not 5.
    const env = bareEnv({ ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const cases: Array<[string, string[], RegExp]> = [
      [
        '--max-errors abc',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--max-errors', 'abc'],
        /--max-errors <n\|n%>.*'abc' is invalid.*percentage/s,
      ],
      [
        '--max-errors 150%',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--max-errors', '150%'],
        /--max-errors.*at most 100%/s,
      ],
      [
        '--concurrency 0',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--concurrency', '0'],
        /--concurrency <n>.*'0' is invalid.*1 to 100/s,
      ],
      [
        '--canary -1',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--canary', 'x'],
        /--canary <n>.*whole number from 0/s,
      ],
      [
        '--window-end garbage',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--window-end', 'yesterday-ish'],
        /--window-end <time>.*ISO 8601.*duration from now/s,
      ],
      [
        '--window-end in the past',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--window-end', '2020-01-01T00:00:00Z'],
        /--window-end <time>.*has passed/s,
      ],
      [
        '--vpc not vpc-…',
        ['batch', 'start', '--vpc', 'web-vpc'],
        /--vpc <id>.*'web-vpc' is invalid.*VPC id such as vpc-/s,
      ],
      [
        '--tag without =',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--tag', 'app'],
        /--tag <key=value>.*key=value/s,
      ],
      [
        '--instances with a bad id',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--instances', 'i-bp1abc,web-01'],
        /--instances <ids>.*ECS instance id/s,
      ],
      [
        '--instances with two VPCs',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--vpc', 'vpc-bp1def', '--instances', 'i-bp1abc'],
        /--instances names instances of one VPC/,
      ],
      [
        '--dry-run with --require-approval',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--dry-run', '--require-approval'],
        /--dry-run.*cannot be used with.*--require-approval/s,
      ],
      ['a missing --vpc', ['batch', 'start'], /required option '--vpc <id>'/],
      [
        '--guest-setup ssh without a script',
        ['batch', 'start', '--vpc', 'vpc-bp1abc', '--guest-setup', 'ssh'],
        /--guest-setup ssh needs --guest-prepare-script <name>/,
      ],
      [
        '--guest-setup unknown',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc', '--interval', '1h', '--guest-setup', 'winrm'],
        /--guest-setup <how>.*'winrm' is invalid.*cloud-assistant, ssh, none/s,
      ],
      [
        'batch concurrency 0',
        ['batch', 'concurrency', 'eni-fleet/cn-hangzhou/vpc-bp1abc', '0'],
        /'0' is invalid for argument 'n'.*1 to 100/s,
      ],
      [
        'a schedule without --cron or --interval',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc'],
        /needs --cron <expr> or --interval <duration>/,
      ],
      [
        '--interval without its unit',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc', '--interval', '10'],
        /--interval <duration>.*such as 90m, 2h/s,
      ],
      [
        '--cron and --interval',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc', '--cron', '@daily', '--interval', '1h'],
        /--cron <expr>' cannot be used with option '--interval/,
      ],
      [
        '--time-zone unknown',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc', '--interval', '1h', '--time-zone', 'Mars/Olympus'],
        /--time-zone <tz>.*IANA time zone/s,
      ],
      [
        '--window garbage',
        ['schedule', 'create', '--vpc', 'vpc-bp1abc', '--interval', '1h', '--window', 'soon'],
        /--window <duration>.*such as 90m/s,
      ],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const run = await runCli([...args, '--json'], env);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, message);
        const doc = run.json<{ error: string; exitCode: number }>();
        assert.equal(doc.exitCode, 2);
        assert.match(doc.error, message);
      });
    }

    it('a bare VPC id without any region says where to give one', async () => {
      const run = await runCli(
        ['batch', 'start', '--vpc', 'vpc-bp1abc'],
        bareEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /no region for vpc-bp1abc: pass --region <id>, write it as <region>:vpc-bp1abc/,
      );
    });

    it('an unreachable Temporal is exit 5; --help lists the exit codes', async () => {
      const run = await runCli(['batch', 'start', '--vpc', 'cn-shanghai:vpc-bp1abc', '--json'], env);
      assert.equal(run.code, 5, run.stderr);
      assert.match(run.json<{ error: string }>().error, /cannot reach Temporal/);
      const help = await runCli(['batch', 'start', '--help'], env);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /8 +not finished: the maintenance window deferred/);
      assert.match(help.stdout, /--offline-budget <seconds>/);
    });
  },
);

describe('the progress view', () => {
  const progress = (over: Partial<FleetProgress> = {}): FleetProgress => ({
    batchId: 'eni-fleet/cn-hangzhou/vpc-bp1abc',
    regionId: 'cn-hangzhou',
    vpcId: 'vpc-bp1abc',
    state: 'running',
    concurrency: 2,
    canary: 1,
    maxErrors: '0',
    errors: 0,
    errorThreshold: 0,
    dryRun: false,
    awaitingApproval: false,
    counts: {},
    total: 2,
    inFlight: 1,
    remaining: 1,
    deferred: 0,
    instances: [
      {
        instanceId: 'i-bp1one',
        state: 'running',
        workflowId: 'eni-migration/cn-hangzhou/i-bp1one',
        canary: true,
      },
      { instanceId: 'i-bp1two', state: 'queued' },
    ],
    apiCalls: 3,
    startedAt: new Date().toISOString(),
    continuedAsNew: 0,
    ...over,
  });
  const later = progress({
    counts: { verified: 1 },
    inFlight: 1,
    remaining: 0,
    instances: [
      { instanceId: 'i-bp1one', state: 'done', outcome: 'verified', workflowId: 'w', durationMs: 4200 },
      { instanceId: 'i-bp1two', state: 'running', workflowId: 'eni-migration/cn-hangzhou/i-bp1two' },
    ],
  });

  it('not on a terminal: plain lines, each instance start and end, and the counts when they change', () => {
    const lines: string[] = [];
    const view = new BatchProgressView({ line: (l) => lines.push(l) });
    view.update(progress());
    view.update(progress());
    view.update(later);
    assert.deepEqual(lines, [
      'eni-fleet/cn-hangzhou/vpc-bp1abc: running',
      '[i-bp1one] started eni-migration/cn-hangzhou/i-bp1one (canary)',
      'eni-fleet/cn-hangzhou/vpc-bp1abc: running, 0/2 done; in flight 1, queued 1',
      '[i-bp1one] verified in 4.2s',
      '[i-bp1two] started eni-migration/cn-hangzhou/i-bp1two',
      'eni-fleet/cn-hangzhou/vpc-bp1abc: running, 1/2 done: verified 1; in flight 1, queued 0',
    ]);
    for (const line of lines)
      assert.ok(!line.includes('\x1b'), `no escape sequence in ${JSON.stringify(line)}`);
  });

  it('on a terminal: the bar is redrawn in place below the lines', () => {
    let screen = '';
    const out: ProgressOutput = {
      line: () => assert.fail('a terminal gets raw writes'),
      tty: { write: (raw) => (screen += raw), columns: () => 100 },
    };
    const view = new BatchProgressView(out);
    view.update(progress());
    const first = screen;
    assert.match(first, /\[░{24}\] 0\/2 running · in flight 1 · queued 1\n$/);
    view.update(later);
    const second = screen.slice(first.length);
    // Up one line (the bar), clear to the end, then the new lines and the bar again.
    assert.ok(second.startsWith('\x1b[1A\x1b[J[i-bp1one] verified in 4.2s\n'), JSON.stringify(second));
    assert.match(second, /\[█{12}░{12}\] 1\/2 running · verified 1 · in flight 1\n$/);
  });
});

describe('eni-migrate batch and schedule against Temporal, a worker and the local cloud', () => {
  let migration: MigrationEnv;
  let tc: TestCloud;
  let env: NodeJS.ProcessEnv;
  let vpcId: string;
  let batchId: string;
  /** Migrated by the first batch; the rest are left for the batch the controls act on. */
  let first: string[];
  let rest: string[];

  before(async () => {
    migration = await startMigrationEnv({ instances: 10 });
    tc = migration.cloud;
    const ids = migration.instances.map((i) => i.instanceId);
    first = ids.slice(0, 5);
    rest = ids.slice(5);
    vpcId = ((await migration.view()).raw.Vpcs as Array<{ VpcId: string }>)[0].VpcId;
    batchId = `eni-fleet/${migration.regionId}/${vpcId}`;
    const { server } = migration.temporal;
    env = bareEnv({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: migration.taskQueue,
      ALIBABA_CLOUD_REGION_ID: migration.regionId,
    });
  });

  after(() => migration?.stop());

  it('batch start --dry-run --json prints the plan of every instance and makes no mutating call', async () => {
    const since = (await tc.admin.calls()).at(-1)?.seq ?? 0;
    const run = await runCli(['batch', 'start', '--vpc', vpcId, '--dry-run', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const doc = run.json<{ batches: BatchEntry[]; exitCode: number }>();
    assert.equal(doc.exitCode, 0);
    assert.equal(doc.batches.length, 1);
    const report = doc.batches[0].report!;
    assert.equal(doc.batches[0].batchId, batchId);
    assert.equal(report.outcome, 'planned');
    assert.equal(report.instances.length, 10);
    for (const i of report.instances) {
      assert.equal(i.outcome, 'planned', JSON.stringify(i));
      assert.match(i.plan ?? '', /convert NAT public IP .* to an EIP; create an ENI in vsw-/);
    }
    assert.match(run.stderr, /\[i-\w+\] planned: convert NAT public IP/);
    const calls = await tc.admin.calls({ since });
    assert.ok(calls.length > 0, 'discovery and preflight read the cloud');
    // The default guest set-up (Cloud Assistant): preflight checks each instance's agent.
    assert.ok(calls.some((c) => c.action === 'DescribeCloudAssistantStatus'));
    assert.deepEqual(mutating(calls), []);
  });

  it('batch start --wait --json migrates the instances: exit 0, every one verified, one ENI each', async () => {
    const run = await runCli(
      [
        'batch',
        'start',
        '--vpc',
        vpcId,
        '--instances',
        first.join(','),
        '--concurrency',
        '3',
        '--wait',
        '--json',
      ],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const doc = run.json<{ batches: BatchEntry[]; exitCode: number }>();
    assert.equal(doc.exitCode, 0);
    const [entry] = doc.batches;
    assert.equal(entry.batchId, batchId);
    assert.equal(entry.exitCode, 0);
    const report = entry.report!;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.counts, { verified: 5 });
    assert.deepEqual(report.instances.map((i) => i.instanceId).sort(), [...first].sort());
    for (const i of report.instances) {
      assert.equal(i.outcome, 'verified', JSON.stringify(i));
      assert.match(i.networkInterfaceId ?? '', /^eni-/);
    }
    // Progress on stderr: the canary, each instance's end, the counts.
    assert.match(run.stderr, /started batch eni-fleet\//);
    assert.match(run.stderr, /\(canary\)/);
    for (const id of first) assert.match(run.stderr, new RegExp(`\\[${id}\\] verified on eni-\\w+ in `));
    assert.match(run.stderr, /5\/5 done: verified 5/);
    const view = await migration.view();
    for (const id of first) assert.equal(view.secondaryEnisOf(id).length, 1, id);
    assert.equal(view.secondaryEnis().length, 5);

    // status of the finished batch carries the report, per instance.
    const status = await runCli(['batch', 'status', batchId, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const s = status.json<BatchStatus>();
    assert.equal(s.status, 'COMPLETED');
    assert.equal(s.vpcId, vpcId);
    assert.equal(s.report?.outcome, 'completed');
    assert.deepEqual(
      s.report?.instances.map((i) => [i.instanceId, i.outcome]).sort(),
      first.map((id) => [id, 'verified']).sort(),
    );
    // …and its human form, by VPC id (the batch started by hand for it).
    const human = await runCli(['batch', 'status', vpcId], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`${batchId}: COMPLETED`));
    assert.match(human.stdout, /verified 5/);
  });

  it('a batch whose maintenance window closes before any start: the rest deferred, exit 8', async () => {
    // Discovery outlasts the window, so no migration may start.
    await tc.admin.latency('DescribeInstances', 3000);
    try {
      const run = await runCli(
        ['batch', 'start', '--vpc', vpcId, '--instances', rest[0], '--window-end', '1s', '--wait', '--json'],
        env,
      );
      assert.equal(run.code, 8, run.stderr);
      const report = run.json<{ batches: BatchEntry[] }>().batches[0].report!;
      assert.equal(report.outcome, 'window-closed');
      assert.equal(report.instances[0].outcome, 'deferred');
      assert.match(report.instances[0].cause ?? '', /maintenance window ended/);
    } finally {
      await tc.admin.clearLatency();
    }
    assert.deepEqual((await migration.view()).secondaryEnisOf(rest[0]), []);
  });

  it('pause, resume, concurrency and cancel act on a running batch; a second start is refused (exit 6)', async (t) => {
    // Slow migrations keep the batch running while the commands act on it.
    const timings = await tc.admin.request<Record<string, number>>('GET', 'timings');
    t.after(() => tc.admin.timings(timings));
    await tc.admin.timings({ attachMs: 4000, associateMs: 4000, unassociateMs: 2000, detachMs: 1000 });
    const start = await runCli(
      [
        'batch',
        'start',
        '--vpc',
        vpcId,
        '--concurrency',
        '1',
        '--canary',
        '0',
        '--max-errors',
        '2',
        '--json',
      ],
      env,
    );
    assert.equal(start.code, 0, start.stderr);
    const started = start.json<{ batches: BatchEntry[]; exitCode: number }>();
    assert.equal(started.batches[0].batchId, batchId);
    assert.ok(started.batches[0].runId);
    assert.match(start.stdout, /"exitCode": 0/);

    const again = await runCli(['batch', 'start', '--vpc', vpcId, '--json'], env);
    assert.equal(again.code, 6, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(
        `a batch for VPC ${vpcId} is already running: ${batchId}; follow it \\(eni-migrate batch status`,
      ),
    );
    const refused = again.json<{ batches: BatchEntry[]; exitCode: number }>();
    assert.equal(refused.exitCode, 6);
    assert.equal(refused.batches[0].batchId, batchId);
    assert.equal(refused.batches[0].exitCode, 6);

    // status: every instance with its state; the one in flight with its step.
    const running = await eventually(
      async () => {
        const s = await runCli(['batch', 'status', batchId, '--json'], env);
        assert.equal(s.code, 0, s.stderr);
        const p = s.json<BatchStatus>().progress;
        return p?.instances.some((i) => i.state === 'running' && i.step) && p;
      },
      'an instance in flight, with its step',
      CLI_POLL_MS,
    );
    assert.equal(running.total, 10);
    assert.equal(running.counts['already-migrated'], 5);
    for (const i of running.instances) assert.ok(i.instanceId && i.state, JSON.stringify(i));

    const pause = await runCli(['batch', 'pause', batchId, '--json'], env);
    assert.equal(pause.code, 0, pause.stderr);
    assert.deepEqual(pause.json(), { batchId, paused: true });
    // Paused: the migration in flight finishes, nothing new starts.
    const paused = await eventually(
      async () => {
        const p = (await runCli(['batch', 'status', batchId, '--json'], env)).json<BatchStatus>().progress;
        return p?.state === 'paused' && p.inFlight === 0 && p;
      },
      'the batch paused with nothing in flight',
      CLI_POLL_MS,
    );
    assert.equal(paused.pausedBecause, 'operator');
    await new Promise((r) => setTimeout(r, 1500));
    const still = (await runCli(['batch', 'status', batchId, '--json'], env)).json<BatchStatus>().progress!;
    assert.equal(still.remaining, paused.remaining, 'nothing started while paused');
    assert.equal(still.inFlight, 0);

    const resume = await runCli(['batch', 'resume', batchId, '--json'], env);
    assert.equal(resume.code, 0, resume.stderr);
    const twice = await runCli(['batch', 'resume', batchId, '--json'], env);
    assert.equal(twice.code, 1, twice.stderr);
    assert.match(twice.json<{ error: string }>().error, /cannot resume batch .*: the batch is not paused/);

    const concurrency = await runCli(['batch', 'concurrency', batchId, '2', '--json'], env);
    assert.equal(concurrency.code, 0, concurrency.stderr);
    assert.deepEqual(concurrency.json(), { batchId, concurrency: 2 });
    const faster = await eventually(
      async () => {
        const p = (await runCli(['batch', 'status', batchId, '--json'], env)).json<BatchStatus>().progress;
        return p?.concurrency === 2 && p.state === 'running' && (p.counts.verified ?? 0) >= 1 && p;
      },
      'the new concurrency, and a migration verified',
      CLI_POLL_MS,
    );
    assert.ok(faster.inFlight <= 2);

    const cancel = await runCli(['batch', 'cancel', batchId, '--wait', '--json'], env);
    assert.equal(cancel.code, 4, cancel.stderr);
    const doc = cancel.json<{ batchId: string; cancelRequested: boolean; report: FleetReport }>();
    assert.equal(doc.cancelRequested, true);
    assert.equal(doc.report.outcome, 'cancelled');
    const outcomes = doc.report.instances.map((i) => i.outcome);
    assert.ok(
      outcomes.every((o) => o !== undefined),
      JSON.stringify(doc.report.instances),
    );
    assert.ok((doc.report.counts.verified ?? 0) >= 1, 'finished migrations stay migrated');
    assert.ok((doc.report.counts['rolled-back'] ?? 0) >= 1, 'the migrations in flight rolled back');
    for (const i of doc.report.instances.filter((x) => x.outcome === 'rolled-back'))
      assert.equal(i.cause, 'cancelled');
    const view = await migration.view();
    for (const i of doc.report.instances) {
      const enis = view.secondaryEnisOf(i.instanceId).length;
      assert.equal(enis, i.outcome === 'verified' || i.outcome === 'already-migrated' ? 1 : 0, i.instanceId);
    }

    // An ended batch refuses controls, saying so; an unknown one is exit 2.
    const late = await runCli(['batch', 'pause', batchId, '--json'], env);
    assert.equal(late.code, 1, late.stderr);
    assert.match(
      late.json<{ error: string }>().error,
      /cannot pause batch .*: (it has ended|the batch has ended)/,
    );
    const unknown = await runCli(
      ['batch', 'status', `eni-fleet/${migration.regionId}/vpc-nosuchvpc`, '--json'],
      env,
    );
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.json<{ error: string }>().error, /no batch with id .*batch list/);

    const listed = await eventually(
      async () => {
        const list = await runCli(['batch', 'list', '--vpc', vpcId, '--json'], env);
        assert.equal(list.code, 0, list.stderr);
        const { batches } = list.json<{ batches: BatchSummary[] }>();
        return batches.some((b) => b.outcome === 'cancelled') && batches;
      },
      'the cancelled batch in batch list',
      CLI_POLL_MS,
    );
    assert.ok(
      listed.every((b) => b.batchId === batchId && b.vpcId === vpcId),
      JSON.stringify(listed),
    );
  });

  it('a canary that does not verify pauses the batch: start --wait stops there (exit 8), resume finishes it', async (t) => {
    const view = await migration.view();
    const left = rest.filter((id) => view.secondaryEnisOf(id).length === 0).slice(0, 2);
    assert.equal(left.length, 2, 'two instances left unmigrated by the cancelled batch');
    // The first attach of the batch (the canary's) is refused: its migration rolls back.
    await tc.admin.fault({ action: 'AttachNetworkInterface', code: 'Forbidden.RAM', status: 403, count: 1 });
    t.after(() => tc.admin.clearFaults());
    const run = await runCli(
      ['batch', 'start', '--vpc', vpcId, '--instances', left.join(','), '--wait', '--json'],
      env,
    );
    assert.equal(run.code, 8, run.stderr);
    const [entry] = run.json<{ batches: BatchEntry[] }>().batches;
    assert.equal(entry.exitCode, 8);
    assert.equal(entry.report, undefined);
    const paused = entry.progress!;
    assert.equal(paused.state, 'paused');
    assert.equal(paused.pausedBecause, 'canary-failed');
    const [canary, other] = paused.instances;
    assert.equal(canary.canary, true);
    assert.equal(canary.outcome, 'rolled-back');
    assert.match(canary.cause ?? '', /Forbidden\.RAM/);
    assert.equal(other.state, 'queued', 'nothing else started');
    assert.match(run.stderr, /paused \(a canary did not verify\).*eni-migrate batch resume/);

    const resume = await runCli(['batch', 'resume', batchId], env);
    assert.equal(resume.code, 0, resume.stderr);
    const done = await runCli(['batch', 'status', batchId, '--wait', '--json'], env);
    assert.equal(done.code, 3, done.stderr);
    const report = done.json<BatchEntry>().report!;
    assert.equal(report.outcome, 'completed-with-errors');
    assert.deepEqual(report.counts, { 'rolled-back': 1, verified: 1 });
  });

  it('--require-approval shows the plan and waits for batch approve', async () => {
    const start = await runCli(
      ['batch', 'start', '--vpc', vpcId, '--instances', first[0], '--require-approval', '--json'],
      env,
    );
    assert.equal(start.code, 0, start.stderr);
    const waiting = await eventually(
      async () => {
        const p = (await runCli(['batch', 'status', vpcId, '--json'], env)).json<BatchStatus>().progress;
        return p?.awaitingApproval && p;
      },
      'the batch waiting for approval',
      CLI_POLL_MS,
    );
    assert.equal(waiting.state, 'awaiting-approval');
    assert.equal(waiting.instances[0].outcome, 'already-migrated');
    const approve = await runCli(['batch', 'approve', batchId, '--json'], env);
    assert.equal(approve.code, 0, approve.stderr);
    assert.deepEqual(approve.json(), { batchId, approved: true });
    const done = await runCli(['batch', 'status', batchId, '--wait', '--json'], env);
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(done.json<BatchEntry>().report?.counts, { 'already-migrated': 1 });
    const again = await runCli(['batch', 'approve', batchId], env);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /cannot approve batch .*(ended|no approval)/);
  });

  it('schedule create, list, describe, pause, unpause, trigger and delete against the dev server', async () => {
    const scheduleId = `eni-fleet-schedule/${migration.regionId}/${vpcId}`;
    const bad = await runCli(['schedule', 'create', '--vpc', vpcId, '--cron', '61 * * * *', '--json'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.json<{ error: string }>().error, /refused: .*Minute.*--cron takes five fields/s);

    const create = await runCli(
      [
        'schedule',
        'create',
        '--vpc',
        vpcId,
        '--interval',
        '6h',
        '--window',
        '2h',
        '--concurrency',
        '4',
        '--max-errors',
        '10%',
        '--instances',
        first.join(','),
        '--paused',
        '--json',
      ],
      env,
    );
    assert.equal(create.code, 0, create.stderr);
    const info = create.json<BatchScheduleInfo>();
    assert.equal(info.scheduleId, scheduleId);
    assert.equal(info.paused, true);
    assert.deepEqual(info.intervalSeconds, [6 * 3600]);
    assert.equal(info.input?.windowSeconds, 7200);
    assert.equal(info.input?.concurrency, 4);
    assert.equal(info.input?.maxErrors, '10%');
    // As `migrate`'s: the guest is set up through Cloud Assistant unless told otherwise.
    assert.equal(info.input?.migration?.guestSetup, 'cloud-assistant');

    const twice = await runCli(['schedule', 'create', '--vpc', vpcId, '--interval', '6h', '--json'], env);
    assert.equal(twice.code, 6, twice.stderr);
    assert.match(twice.json<{ error: string }>().error, /exists already/);

    const listed = await eventually(
      async () => {
        const list = await runCli(['schedule', 'list', '--json'], env);
        assert.equal(list.code, 0, list.stderr);
        return list
          .json<{ schedules: BatchScheduleInfo[] }>()
          .schedules.find((s) => s.scheduleId === scheduleId);
      },
      'the schedule in schedule list',
      CLI_POLL_MS,
    );
    assert.equal(listed.vpcId, vpcId);

    const unpause = await runCli(['schedule', 'unpause', vpcId, '--json'], env);
    assert.equal(unpause.code, 0, unpause.stderr);
    assert.deepEqual(unpause.json(), { scheduleId, paused: false });
    const described = await runCli(['schedule', 'describe', scheduleId, '--json'], env);
    assert.equal(described.code, 0, described.stderr);
    const d = described.json<BatchScheduleInfo>();
    assert.equal(d.paused, false);
    assert.equal(d.input?.vpcId, vpcId);
    assert.ok(d.nextRuns.length > 0);
    const pause = await runCli(['schedule', 'pause', scheduleId, '--json'], env);
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal(
      (await runCli(['schedule', 'describe', scheduleId, '--json'], env)).json<BatchScheduleInfo>().paused,
      true,
    );

    // A run now: its batch finds the instances migrated already and changes nothing.
    const trigger = await runCli(['schedule', 'trigger', scheduleId, '--json'], env);
    assert.equal(trigger.code, 0, trigger.stderr);
    assert.deepEqual(trigger.json(), { scheduleId, triggered: true });
    const run = await eventually(
      async () => {
        const list = await runCli(['batch', 'list', '--vpc', vpcId, '--json'], env);
        return list
          .json<{ batches: BatchSummary[] }>()
          .batches.find((b) => b.batchId !== batchId && b.status === 'COMPLETED');
      },
      "the schedule's batch, completed",
      CLI_POLL_MS,
    );
    assert.ok(run.batchId.startsWith(`${batchId}-`), run.batchId);
    const status = await runCli(['batch', 'status', run.batchId, '--json'], env);
    assert.deepEqual(status.json<BatchStatus>().report?.counts, { 'already-migrated': 5 });
    const recent = (
      await runCli(['schedule', 'describe', scheduleId, '--json'], env)
    ).json<BatchScheduleInfo>();
    assert.deepEqual(recent.recentBatches, [run.batchId]);

    const del = await runCli(['schedule', 'delete', scheduleId, '--json'], env);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(del.json(), { scheduleId, deleted: true });
    const gone = await runCli(['schedule', 'describe', scheduleId, '--json'], env);
    assert.equal(gone.code, 2, gone.stderr);
    assert.match(gone.json<{ error: string }>().error, /no schedule with id .*schedule list/);
  });
});
