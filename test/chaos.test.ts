/**
 * The quick chaos run (`npm run chaos -- --quick`): 20 migrations in 2 VPCs, 2 worker processes SIGKILLed 3 times,
 * faults on every API, judged by the local cloud's state. It must end with no violation, and its secret scan must find
 * none of the run's secrets (the AccessKey secret, the STS token the workers sign with, the SSH private key) in any
 * workflow history, worker log line (JSON, debug) or report, after scanning enough text that it cannot pass vacuously.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runChaos } from '../scripts/chaos/run';
import { historyText, privateKeyNeedles, scan } from '../scripts/chaos/scan';

it('the scan finds a secret wherever it hides: a payload, a re-wrapped key, a log line', () => {
  const pem = [
    '-----BEGIN OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    'QyNTUxOQAAACDlCZbW1wK0M6dWkH5c2qJ0bCq8tYzV5Xb9m2sP2KQ3GgAAAJiS1qXlktal',
    '-----END OPENSSH PRIVATE KEY-----',
  ].join('\n');
  const secrets = [
    { name: 'AccessKey secret', needles: ['s3cr3t-AK-value'] },
    { name: 'SSH private key', needles: privateKeyNeedles(pem) },
  ];
  // A payload holds bytes: the secret is found in them, not only in strings.
  const history = { events: [{ payload: { data: new TextEncoder().encode('{"k":"s3cr3t-AK-value"}') } }] };
  const escapedKey = JSON.stringify({ key: pem });
  const result = scan(
    [
      { kind: 'history', name: 'h', text: historyText(history) },
      { kind: 'log', name: 'l', text: `{"message":"x","blob":${escapedKey}}` },
      { kind: 'report', name: 'r', text: 'nothing here' },
    ],
    secrets,
  );
  assert.deepEqual(result.findings, ['AccessKey secret in history h', 'SSH private key in log l']);
});

it('a quick chaos run ends with no violation, and no secret in its histories, logs or reports', async () => {
  const lines: string[] = [];
  const r = await runChaos({ quick: true, log: (line) => lines.push(line) });
  const summary = JSON.stringify(
    { ...r, faults: { ...r.faults, plan: undefined }, progress: lines.slice(-20) },
    null,
    2,
  );
  assert.deepEqual(r.violations, [], summary);

  // What the run was made of.
  assert.equal(r.migrations.total, 20);
  assert.ok(r.workers.processes >= 2);
  assert.ok(r.workers.kills >= 3, summary);
  assert.equal(r.workers.crashes, 0);
  assert.ok(
    r.faults.injected.retryable > 0 &&
      r.faults.injected['lost-response'] + r.faults.injected['error-after-effect'] > 0,
    summary,
  );
  assert.ok(r.faults.injected.permission > 0, summary);
  assert.ok(r.rollbacks.total >= r.faults.verificationFailuresPlanned, summary);
  assert.equal(r.cloud.cloud.verified + r.cloud.cloud['rolled-back'], 20);
  assert.deepEqual(
    [r.cloud.orphanedEnis, r.cloud.unboundEips, r.cloud.duplicates, r.cloud.sshFailures, r.workflows.running],
    [0, 0, 0, 0, 0],
  );

  // The workers signed with the STS token, which the cloud requires: without it, or with another, it refuses.
  assert.deepEqual(r.security.sts, {
    withToken: 'accepted',
    withoutToken: 'InvalidSecurityToken.MismatchWithAccessKey',
    otherToken: 'InvalidSecurityToken.Malformed',
  });
  // The scan looked at every history (each migration's and each batch's), every worker process's log, every report.
  const { chars, sources, findings } = r.security.scan;
  assert.deepEqual(findings, []);
  assert.ok(sources.history >= 22, summary);
  assert.equal(sources.log, r.workers.started);
  assert.ok(sources.report >= 22, summary);
  assert.ok(chars.history > 200_000, `histories: ${chars.history} characters`);
  assert.ok(chars.log > 200_000, `logs: ${chars.log} characters`);
  assert.ok(chars.report > 10_000, `reports: ${chars.report} characters`);
});
