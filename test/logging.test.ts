/**
 * ENI_MIGRATE_LOG_FORMAT / ENI_MIGRATE_LOG_LEVEL: the worker's logs, through the Temporal Runtime's logger. Two
 * migrations (one rolled back by a quota error) and a dry-run batch, logged as JSON at debug into an array: every line
 * is one JSON object; steps start and end at info with workflowId, instanceId and step; each cloud call at debug with
 * action, code, durationMs and the activity's attempt; no secret anywhere in the text; a replay logs nothing again; the
 * action workers' "No workflows registered" is debug; webpack's statistics are debug only.
 *
 * The Runtime is one per process, fixed before the first connection: installed here first, with the capturing logger,
 * so startMigrationEnv's quietRuntime keeps it (each test file runs in a process of its own).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker, type Logger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { BatchClient, MigrationClient } from '../src/client';
import { dataConverterFor } from '../src/codec/payload-codec';
import { ConfigError, describeConfig, loadConfig } from '../src/config';
import { LOG_EVENT } from '../src/observability/log-events';
import { logsAt, NO_WORKFLOWS_REGISTERED, ProductLogger, runtimeLogging } from '../src/observability/logging';
import { CALL_OK } from '../src/observability/metrics';
import { loadWorkflowBundle } from '../src/workflow-bundle';
import { installRuntime, WorkerGroup } from '../src/worker';
import { eventually } from './helpers/eventually';
import { startMigrationEnv, workflowBundle, type MigrationEnv } from './helpers/migration';
import { CLI_ARGV } from './helpers/cli';

interface Line {
  time: string;
  level: string;
  message: string;
  [field: string]: unknown;
}

const captured: string[] = [];

/** Every captured line, parsed: each must be one JSON object with time, level and message. */
function lines(): Line[] {
  return captured.map((text) => {
    assert.ok(!text.includes('\n'), `one line per entry: ${text}`);
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      assert.fail(`not JSON: ${text}`);
    }
    assert.equal(typeof line, 'object');
    assert.ok(!Number.isNaN(Date.parse(line.time)) && line.time.endsWith('Z'), `time: ${text}`);
    assert.ok(['trace', 'debug', 'info', 'warn', 'error'].includes(line.level), `level: ${text}`);
    assert.equal(typeof line.message, 'string');
    return line;
  });
}

describe('structured logs (ENI_MIGRATE_LOG_FORMAT, ENI_MIGRATE_LOG_LEVEL)', () => {
  let env: MigrationEnv;

  before(async () => {
    // As the worker does: the settings go through the configuration's validation.
    const config = loadConfig({ ENI_MIGRATE_LOG_FORMAT: 'json', ENI_MIGRATE_LOG_LEVEL: 'debug' });
    installRuntime(runtimeLogging(config.logging, (line) => captured.push(line)));
    env = await startMigrationEnv({ instances: 2 });
  });
  after(() => env?.stop());

  it('validates both variables, naming the variable and the allowed values', () => {
    assert.deepEqual(loadConfig({}).logging, { format: 'pretty', level: 'info' });
    assert.deepEqual(
      loadConfig({ ENI_MIGRATE_LOG_FORMAT: 'JSON', ENI_MIGRATE_LOG_LEVEL: ' Warn ' }).logging,
      {
        format: 'json',
        level: 'warn',
      },
    );
    assert.deepEqual(loadConfig({ ENI_MIGRATE_LOG_FORMAT: '', ENI_MIGRATE_LOG_LEVEL: '' }).logging, {
      format: 'pretty',
      level: 'info',
    });
    assert.throws(
      () => loadConfig({ ENI_MIGRATE_LOG_FORMAT: 'logfmt' }),
      (err: Error) =>
        err instanceof ConfigError &&
        /ENI_MIGRATE_LOG_FORMAT="logfmt" must be one of json, pretty/.test(err.message),
    );
    assert.throws(
      () => loadConfig({ ENI_MIGRATE_LOG_LEVEL: 'verbose' }),
      (err: Error) =>
        err instanceof ConfigError &&
        /ENI_MIGRATE_LOG_LEVEL="verbose" must be one of trace, debug, info, warn, error/.test(err.message),
    );
    assert.equal(
      describeConfig(loadConfig({ ENI_MIGRATE_LOG_FORMAT: 'json', ENI_MIGRATE_LOG_LEVEL: 'debug' })).logs,
      'json, debug',
    );
  });

  it('logs a migration and a rollback as JSON: steps at info, cloud calls at debug, no secret', async () => {
    const [ok, refused] = env.instances;
    const { admin } = env.cloud;
    const callsBefore = (await admin.calls()).length;
    const from = captured.length;
    // The second instance's type has no free ENI slot: step 3 fails for good, the migration rolls back.
    await admin.fault({
      action: 'AttachNetworkInterface',
      code: 'EniPerInstanceLimitExceeded',
      rate: 1,
      params: { InstanceId: refused.instanceId },
    });
    const reports = await Promise.all([ok, refused].map((i) => env.migrate({ instanceId: i.instanceId })));
    await admin.clearFaults();
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ['verified', 'rolled-back'],
    );
    const calls = (await admin.calls()).slice(callsBefore);
    // The workflow's lines reach the logger once its last activation is done, just after the client has the result.
    await eventually(
      async () => reports.every((r) => endedLine(r.workflowId, LOG_EVENT.migrationEnded)),
      "the migrations' last lines",
    );

    const all = lines();
    const mine = all.slice(from);
    for (const [i, report] of reports.entries()) {
      const { workflowId, instanceId } = report;
      const of = (message: string) =>
        mine.filter((l) => l.message === message && l.workflowId === workflowId);

      // One line per step start and end, at info, from the workflow (the SDK adds workflowId and workflowType).
      for (const step of report.steps.filter((s) => s.state !== 'skipped' && s.state !== 'pending')) {
        const started = of(LOG_EVENT.stepStarted).filter((l) => l.step === step.name);
        const ended = of(LOG_EVENT.stepEnded).filter((l) => l.step === step.name);
        assert.equal(started.length, 1, `${instanceId}: one "step started" for ${step.name}`);
        assert.equal(ended.length, 1, `${instanceId}: one "step ended" for ${step.name}`);
        for (const l of [...started, ...ended]) {
          assert.equal(l.level, 'info');
          assert.equal(l.instanceId, instanceId);
          assert.equal(l.workflowType, 'migrateInstance');
          assert.equal(l.sdkComponent, 'workflow');
        }
        assert.equal(ended[0].durationMs, step.durationMs);
        // The report adds a compensation's calls to its step's; the line has the step's own.
        if (report.outcome === 'verified') assert.equal(ended[0].apiCalls, step.apiCalls);
        else assert.ok((ended[0].apiCalls as number) <= step.apiCalls);
      }
      const ended = of(LOG_EVENT.migrationEnded);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].outcome, report.outcome);

      // One line per cloud call, at debug, carrying the activity's metadata: attempt, activityType; and instance, step.
      const cloudCalls = of(LOG_EVENT.cloudCall);
      assert.equal(cloudCalls.length, report.apiCalls, `${instanceId}: a line for each of its API calls`);
      for (const l of cloudCalls) {
        assert.equal(l.level, 'debug');
        assert.equal(typeof l.action, 'string');
        assert.equal(typeof l.code, 'string');
        assert.ok(typeof l.durationMs === 'number' && l.durationMs >= 0);
        assert.equal(l.instanceId, instanceId);
        assert.ok(typeof l.attempt === 'number' && l.attempt >= 1);
        assert.equal(typeof l.activityType, 'string');
        assert.equal(l.sdkComponent, 'activity');
        assert.equal(l.taskToken, '[redacted]', 'the SDK adds the task token: not written');
        assert.deepEqual(
          Object.keys(l).filter((k) => /param|request|body|header/i.test(k)),
          [],
          'no request parameters',
        );
      }
      assert.ok(
        cloudCalls.some((l) => l.action === 'CreateNetworkInterface' && l.step === 'createEni'),
        `${instanceId}: the ENI's creation, in step createEni`,
      );
      if (i === 1) {
        const failed = cloudCalls.filter((l) => l.code === 'EniPerInstanceLimitExceeded');
        assert.equal(failed.length, 1);
        assert.equal(failed[0].action, 'AttachNetworkInterface');
        assert.equal(failed[0].step, 'attachEni');
        assert.ok(
          cloudCalls.some((l) => l.action === 'DeleteNetworkInterface' && l.step === 'rollback:createEni'),
        );
        const attach = of(LOG_EVENT.stepEnded).find((l) => l.step === 'attachEni');
        assert.equal(attach?.result, 'failed');
        const undone = of(LOG_EVENT.compensationEnded).map((l) => `${String(l.step)}:${String(l.result)}`);
        assert.deepEqual(undone.sort(), ['attachEni:compensated', 'createEni:compensated']);
      } else {
        assert.ok(cloudCalls.every((l) => l.code === CALL_OK));
      }
    }
    // Every call the cloud saw has its line, and no other.
    const logged = mine.filter((l) => l.message === LOG_EVENT.cloudCall);
    assert.equal(logged.length, calls.length);

    // No secret, anywhere: the cloud's AccessKey secret, the SSH private key's body.
    const text = captured.join('\n');
    const secrets = [env.cloud.cloud.accessKeySecret, ...keyBody(env.cloud.cloud.sshPrivateKey)];
    assert.ok(secrets.length > 1 && secrets.every((s) => s.length >= 16));
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret in the logs');

    // A replay of the histories (a new worker picking a workflow up) logs nothing again: the logger is a sink.
    const before = captured.length;
    for (const report of reports) {
      const history = await env.temporal.client.workflow.getHandle(report.workflowId).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: await workflowBundle(), replayName: 'logging' },
        history,
        report.workflowId,
      );
    }
    const replayed = lines()
      .slice(before)
      .filter((l) => l.sdkComponent === 'workflow');
    assert.deepEqual(replayed, []);
  });

  it("never writes the payload key, not even in the SDK's dump of a worker's options (debug)", async () => {
    const key = randomBytes(32);
    const from = captured.length;
    const worker = await Worker.create({
      connection: env.temporal.nativeConnection,
      namespace: env.temporal.server.namespace,
      taskQueue: `logging-codec-${randomBytes(3).toString('hex')}`,
      activities: { noop: async () => undefined },
      dataConverter: dataConverterFor({ current: key, previous: [] }),
    });
    // A created Worker holds the connection until it has run: run it for an instant.
    await new WorkerGroup([worker]).runUntil(Promise.resolve());
    const text = captured.slice(from).join('\n');
    assert.match(text, /"message":"Creating worker".*"payloadCodecs":\[\{/, 'the options are logged');
    for (const shown of [
      key.toString('base64'),
      key.toString('hex'),
      String(key[0]) + ',' + String(key[1]),
    ]) {
      assert.ok(!text.includes(shown), 'the payload key in the logs');
    }
  });

  it('logs the states of a batch', async () => {
    const migrations = await MigrationClient.connect({
      client: env.temporal.client,
      temporal: { taskQueue: env.taskQueue },
    });
    const batches = new BatchClient(migrations);
    const [vpc] = (await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>;
    const from = captured.length;
    const { batchId } = await batches.start({ regionId: env.regionId, vpcId: vpc.VpcId, dryRun: true });
    assert.equal((await batches.result(batchId)).outcome, 'planned');
    await eventually(async () => endedLine(batchId, LOG_EVENT.batchEnded), "the batch's last line");
    const mine = lines()
      .slice(from)
      .filter((l) => l.workflowId === batchId && l.sdkComponent === 'workflow');
    const states = mine.filter((l) => l.message === LOG_EVENT.batchState);
    assert.deepEqual(
      states.map((l) => l.state),
      ['discovering', 'planning'],
    );
    assert.ok(states.every((l) => l.level === 'info' && l.batchId === batchId));
    const ended = mine.filter((l) => l.message === LOG_EVENT.batchEnded);
    assert.equal(ended.length, 1);
    assert.equal(ended[0].outcome, 'planned');
  });

  it('says the action workers\' "No workflows registered" at debug, never as a warning', () => {
    const noWorkflows = lines().filter((l) => l.message === NO_WORKFLOWS_REGISTERED);
    assert.ok(noWorkflows.length >= 8, `one per action worker: ${noWorkflows.length}`);
    assert.ok(noWorkflows.every((l) => l.level === 'debug'));
  });

  it("puts webpack's statistics at debug: nothing of them at info", async () => {
    const info: string[] = [];
    const debug: string[] = [];
    const both = fanOut(
      new ProductLogger({ format: 'json', level: 'info', write: (l) => info.push(l) }),
      new ProductLogger({ format: 'json', level: 'debug', write: (l) => debug.push(l) }),
    );
    // No bundle there: the worker bundles at start, as from the sources after an edit.
    const bundle = await loadWorkflowBundle(() => undefined, { bundlePath: join(tmpdir(), 'none.js') }, both);
    assert.ok('code' in bundle);
    assert.deepEqual(info, []);
    const stats = debug.map((l) => JSON.parse(l) as Line);
    assert.ok(stats.some((l) => l.message === 'Workflow bundle created'));
    assert.ok(stats.every((l) => l.level === 'debug'));
  });

  it('writes pretty lines for a person, secrets redacted', () => {
    const out: string[] = [];
    const logger = new ProductLogger({ format: 'pretty', level: 'info', write: (l) => out.push(l) });
    logger.debug('not shown');
    logger.warn(NO_WORKFLOWS_REGISTERED);
    logger.info(LOG_EVENT.stepStarted, {
      namespace: 'default',
      workflowId: 'eni-migration/cn-x/i-1',
      step: 'createEni',
      instanceId: 'i-1',
      accessKeySecret: 'hush',
      note: 'two words',
    });
    assert.equal(out.length, 1);
    assert.match(
      out[0],
      /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}step started workflowId=eni-migration\/cn-x\/i-1 instanceId=i-1 step=createEni accessKeySecret=\[redacted\] note="two words"$/,
    );
    // A failure's stack follows its line, indented, for the person reading it.
    const failure = new Error('AttachNetworkInterface failed');
    logger.warn('Activity failed', { error: failure });
    const [first, ...stack] = out[1].split('\n');
    assert.match(first, /WARN {2}Activity failed error="Error: AttachNetworkInterface failed"$/);
    assert.ok(stack.length > 1 && stack.every((l) => l.startsWith('    ')), out[1]);
    assert.equal(stack.join('\n'), failure.stack?.replace(/^/gm, '    '));
  });

  it("tells a costly line's caller whether the runtime's logger would write it", () => {
    try {
      runtimeLogging({ level: 'info' });
      assert.equal(logsAt('DEBUG'), false, 'a cloud call builds no debug line at info');
      assert.equal(logsAt('INFO'), true);
      runtimeLogging({ level: 'trace' });
      assert.equal(logsAt('DEBUG'), true);
    } finally {
      runtimeLogging({ level: 'debug' }); // as this file's runtime logs
    }
  });
});

/** Whether the workflow's line `message` has been logged. */
function endedLine(workflowId: string, message: string): boolean {
  return captured.some((l) => l.includes(`"message":"${message}"`) && l.includes(JSON.stringify(workflowId)));
}

/** The base64 lines of a PEM / OpenSSH private key file. */
function keyBody(path: string | undefined): string[] {
  assert.ok(path, 'the local cloud has an SSH key');
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

function fanOut(...loggers: Logger[]): Logger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    for (const l of loggers) l.log(level, message, meta);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

describe('the worker process with ENI_MIGRATE_LOG_FORMAT=json', () => {
  it("writes its own lines as JSON too (configuration, guest scripts), before the CLI's fatal error", () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env))
      if (/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(key)) delete env[key];
    const run = spawnSync(process.execPath, [...CLI_ARGV, 'worker'], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
      timeout: 60_000,
      // Temporal unreachable: the worker logs its start-up lines, then the CLI ends with its error.
      env: {
        ...env,
        ENI_MIGRATE_LOG_FORMAT: 'json',
        ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      },
    });
    const lines = run.stderr.split('\n').filter((l) => l && !l.startsWith('eni-migrate: '));
    assert.ok(lines.length >= 2, run.stderr);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const configuration = parsed.find((p) => p.message === 'configuration');
    assert.equal((configuration?.config as { logs?: string } | undefined)?.logs, 'json, info');
    assert.ok(parsed.some((p) => String(p.message).startsWith('guest scripts ')));
    assert.ok(parsed.every((p) => p.level && p.time && p.sdkComponent));
  });
});
