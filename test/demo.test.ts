// `eni-migrate demo`, the README's main job, run as users run it: a child process that starts Temporal (with its
// Web UI), the local cloud and a worker, migrates the demo VPC as a batch (or, with --no-batch, each instance by a
// migration of its own), prints the reports, and leaves nothing running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { keyId } from '../src/codec/payload-codec';
import type { FleetReport } from '../src/shared/fleet';
import type { MigrationReport } from '../src/shared/migration';
import { processesWithMarker } from './helpers/processes';
import { CLI_ARGV } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');

function runDemo(
  args: string[],
  marker: string,
  onStderr?: (text: string) => void,
  env: NodeJS.ProcessEnv = {},
) {
  const child = spawn(process.execPath, [...CLI_ARGV, 'demo', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, ENI_MIGRATE_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    onStderr?.(stderr);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not finish in time\n${stderr}`));
    }, 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

describe('eni-migrate demo', () => {
  it('migrates the demo VPC as a batch, every instance verified, prints one JSON document, and leaves nothing running', async () => {
    const marker = `demo-${randomUUID()}`;
    const { done } = runDemo(['--json', '--instances', '2', '--fast'], marker);
    const { code, stdout, stderr } = await done;
    assert.equal(code, 0, stderr);

    const doc = JSON.parse(stdout) as {
      webUi: string;
      batchId: string;
      batchUi: string;
      batch: FleetReport;
      reports: MigrationReport[];
      errors: unknown[];
    };
    assert.deepEqual(doc.errors, []);
    assert.match(doc.batchId, /^eni-fleet\/cn-hangzhou\/vpc-\w+$/);
    assert.equal(doc.batch.outcome, 'completed');
    assert.deepEqual(doc.batch.counts, { verified: 2 });
    assert.deepEqual(
      doc.batch.instances.map((i) => i.outcome),
      ['verified', 'verified'],
    );
    // Each child migration's own report.
    assert.equal(doc.reports.length, 2, stdout);
    for (const report of doc.reports) {
      assert.equal(report.outcome, 'verified', JSON.stringify(report));
      assert.match(report.networkInterfaceId ?? '', /^eni-/);
      assert.ok(report.publicIp && report.snatIp && report.publicIp !== report.snatIp);
    }
    assert.notEqual(doc.reports[0].instanceId, doc.reports[1].instanceId);
    assert.match(doc.webUi, /^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows$/);
    assert.equal(doc.batchUi, `${doc.webUi}/${encodeURIComponent(doc.batchId)}`);

    // The batch's progress (the canary first, each instance's steps and end) and its Web UI link, while it ran.
    assert.match(stderr, /Web UI: http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(stderr.includes(`the batch in the Web UI: ${doc.batchUi}`), stderr);
    assert.match(stderr, /\] started eni-migration\/\S+ \(canary\)/);
    for (const report of doc.reports) {
      assert.match(stderr, new RegExp(`\\[${report.instanceId}\\] → `));
      assert.match(stderr, new RegExp(`\\[${report.instanceId}\\] verified on eni-\\w+ in `));
    }
    assert.match(stderr, /2\/2 done: verified 2/);

    // Nothing it started is still running, and the Web UI port is closed.
    assert.deepEqual(processesWithMarker(marker), []);
    await assert.rejects(fetch(doc.webUi), /fetch failed/);
  });

  it('--no-batch migrates each instance by a migration of its own; --encrypt encrypts with the configured key, never printed, and serves a codec server for the Web UI', async () => {
    const marker = `demo-${randomUUID()}`;
    const key = randomBytes(32).toString('base64');
    // One run for both (a demo run is the costly part of this file): --no-batch, with encryption on.
    const { done } = runDemo(
      ['--json', '--instances', '2', '--fast', '--no-batch', '--encrypt'],
      marker,
      undefined,
      { ENI_MIGRATE_PAYLOAD_KEY: key },
    );
    const { code, stdout, stderr } = await done;
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout) as {
      batchId?: string;
      encryption: { keyId: string; randomKey: boolean; codecServer: string };
      reports: MigrationReport[];
      errors: unknown[];
    };
    assert.equal(doc.batchId, undefined);
    assert.deepEqual(doc.errors, []);
    assert.deepEqual(
      doc.reports.map((r) => r.outcome),
      ['verified', 'verified'],
    );
    for (const report of doc.reports) {
      assert.match(stderr, new RegExp(`\\[${report.instanceId}\\] ✓ .*associate EIP to ENI`));
    }
    assert.doesNotMatch(stderr, /eni-fleet\//);

    assert.deepEqual(doc.encryption, {
      keyId: keyId(Buffer.from(key, 'base64')),
      randomKey: false,
      codecServer: doc.encryption.codecServer,
    });
    assert.match(doc.encryption.codecServer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(
      stderr.includes(
        `payload encryption on: key id ${doc.encryption.keyId} (the configured key), codec server ${doc.encryption.codecServer} (the Web UI decrypts through it)`,
      ),
      stderr,
    );
    assert.ok(!stdout.includes(key) && !stderr.includes(key), 'the key is printed');
    assert.deepEqual(processesWithMarker(marker), []);
    await assert.rejects(fetch(`${doc.encryption.codecServer}/decode`, { method: 'POST' }), /fetch failed/);
  });

  it('--encrypt with a bad key stops before anything starts', async () => {
    // A bad key stops it before anything starts: exit 2, naming the variable, not the key.
    const bad = runDemo(['--encrypt', '--fast'], `demo-${randomUUID()}`, undefined, {
      ENI_MIGRATE_PAYLOAD_KEY: 'c2hvcnQ=',
    });
    const refused = await bad.done;
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /ENI_MIGRATE_PAYLOAD_KEY must be the base64 of 32 random bytes/);
    assert.ok(!refused.stderr.includes('c2hvcnQ='));
  });

  it('Ctrl-C stops everything it started and exits 130', async () => {
    const marker = `demo-${randomUUID()}`;
    let interrupted = false;
    let runningBefore: number[] = [];
    const { child, done } = runDemo(['--instances', '1', '--no-ui'], marker, (text) => {
      // Interrupt once the migration is under way: the server, the cloud and the worker are all up.
      if (!interrupted && /\] started eni-migration\//.test(text)) {
        interrupted = true;
        runningBefore = processesWithMarker(marker);
        child.kill('SIGINT');
      }
    });
    const { code, stderr } = await done;
    assert.ok(interrupted, stderr);
    // The probe sees the demo and the Temporal server it spawned (so its empty answer below means something).
    assert.ok(runningBefore.includes(child.pid!) && runningBefore.length >= 2, String(runningBefore));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /nothing is left running/);
    assert.deepEqual(processesWithMarker(marker), []);
  });
});
