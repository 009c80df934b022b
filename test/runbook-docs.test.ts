/**
 * The runbook's one table (src/workflows/runbook-steps.ts) against what shows it elsewhere: the Web UI's static details
 * (src/shared/summaries.ts) number the steps as it does and show the guest step the workflow takes, and the runbook
 * table in docs/architecture.md has a row for each step. Pure functions and a file read: milliseconds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestSetupRoute, STEP_ORDER, type MigrationInput } from '../src/shared/migration';
import { migrationDetails, stepNumber } from '../src/shared/summaries';
import { MIGRATION_STEPS } from '../src/workflows/runbook-steps';

const INSTANCE = { instanceId: 'i-bp1aaaaaaaaaaaaaaaaa', regionId: 'cn-hangzhou' } as MigrationInput;

/** The runbook's lines of the static details: `- **4.** Unbind …`. */
function runbook(input: MigrationInput): string[] {
  return migrationDetails(input)
    .split('\n')
    .filter((l) => l.startsWith('- **'));
}

describe('the runbook, as the Web UI and the docs show it', () => {
  it("the static details number every step as the runbook's table does", () => {
    for (const step of STEP_ORDER) {
      const n = MIGRATION_STEPS[step]?.n;
      assert.equal(stepNumber(step, 'migration'), n === undefined ? 'before 4' : String(n), step);
    }
  });

  it('the static details show the guest step the workflow takes, by its route', () => {
    const cases: Array<[Partial<MigrationInput>, string, RegExp | undefined]> = [
      [{ guestSetup: 'cloud-assistant' }, 'cloud-assistant', /before 4\.\*\* .*run by Cloud Assistant/],
      [
        { guestSetup: 'cloud-assistant', guestPrepareScript: 'my-setup' },
        'cloud-assistant',
        /before 4\.\*\* .*run by Cloud Assistant/,
      ],
      // Release 0.4's inputs: a named script is the SSH route, none is no step.
      [{ guestPrepareScript: 'secondary-nic-setup' }, 'ssh', /before 4\.\*\* Prepare the guest/],
      [{}, 'none', undefined],
      [{ guestSetup: 'none', guestPrepareScript: 'secondary-nic-setup' }, 'none', undefined],
      [{ guestSetup: 'ssh' }, 'none', undefined],
    ];
    for (const [extra, route, line] of cases) {
      const input = { ...INSTANCE, ...extra };
      assert.equal(guestSetupRoute(input), route, JSON.stringify(extra));
      const guest = runbook(input).filter((l) => l.includes('before 4'));
      if (line) assert.match(guest.join('\n'), line, JSON.stringify(extra));
      else assert.deepEqual(guest, [], JSON.stringify(extra));
      assert.equal(runbook(input).length, 7 + guest.length);
    }
    assert.match(
      migrationDetails({ ...INSTANCE, guestSetup: 'cloud-assistant' }),
      /guest set-up after step 3 through Cloud Assistant \(the built-in script for the instance's OS\)/,
    );
  });

  it("docs/architecture.md's runbook table has a row for each of the table's steps, the guest step's routes too", () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'architecture.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| (\d|before)/.test(l));
    for (const step of STEP_ORDER) {
      const n = MIGRATION_STEPS[step]?.n;
      const row = rows.find((r) => r.startsWith(n === undefined ? '| before 4' : `| ${n} `));
      assert.ok(row, `no row for ${step} (${n ?? 'before 4'})`);
      if (step === 'prepareGuest')
        for (const what of [
          '`cloud-assistant`',
          'RunCommand',
          'DescribeInvocationResults',
          '`ssh`',
          '`none`',
        ])
          assert.ok(row.includes(what), `the guest step's row names ${what}`);
      if (step === 'preflight') assert.ok(row.includes('DescribeCloudAssistantStatus'));
    }
  });
});
