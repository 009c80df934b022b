// The Temporal Web UI as the operator's console, as a user sees it in a browser: migrations are found by their search
// attributes (InstanceId, MigrationStep, BatchId), and every workflow's page says what it does (its static summary and
// details) and where it stands (its current details, its search attributes). A batch's page shows its children; the
// Schedules page shows a batch schedule. Real dev server with the UI, real worker, local cloud with SSH-answering
// instances, headless Chromium. Screenshots of every page looked at are kept in test-artifacts/web-ui/.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { BatchClient, BatchScheduleClient, MigrationClient, type Started } from '../src/client';
import type { FleetInstance, FleetReport } from '../src/shared/fleet';
import { browserUnavailable, launchBrowser, type TestBrowser } from './helpers/browser';
import { eventually } from './helpers/eventually';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

/**
 * Visibility is eventually consistent: a freshly upserted search attribute may need a moment to be listed, and on a
 * loaded 2-core machine the dev server and Chromium share the cores (20 s was once not enough).
 */
const VISIBILITY_WAIT_MS = 45_000;

/** Where the screenshots go: CI keeps this directory as the run's artefacts; a local run can look at them. */
const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'web-ui');

type Migration = Started & { instanceId: string; publicIp: string };

describe('Temporal Web UI', { skip: browserUnavailable() }, () => {
  let env: MigrationEnv;
  let browser: TestBrowser;
  let client: MigrationClient;
  let page: Page;
  let ui: string; // <ui>/namespaces/<namespace>
  let vpcId: string;
  let finished: Migration;
  let waiting: Migration;
  let batch: { batchId: string; runId: string; report: FleetReport };
  let children: Array<FleetInstance & { workflowId: string }>;
  let scheduleId: string;

  before(
    async () => {
      // Stale pictures of an earlier run would pass for this run's.
      rmSync(ARTIFACTS, { recursive: true, force: true });
      mkdirSync(ARTIFACTS, { recursive: true });
      // The UI is what this file tests: always a dev server of its own (TEMPORAL_TEST_ADDRESS may have none).
      // Six instances: two migrated one by one, four by a batch.
      [env, browser] = await Promise.all([
        startMigrationEnv({ instances: 6, temporal: { ui: true } }),
        launchBrowser(),
      ]);
      const { server } = env.temporal;
      assert.ok(server.uiUrl, 'the dev server serves the Web UI');
      ui = `${server.uiUrl}/namespaces/${server.namespace}`;
      client = await MigrationClient.connect({
        client: env.temporal.client,
        temporal: { taskQueue: env.taskQueue },
      });
      vpcId = ((await env.cloud.admin.state()).Vpcs as Array<{ VpcId: string }>)[0].VpcId;

      const [first, second, ...rest] = env.instances;
      const regionId = env.regionId;
      // As a script or the CLI starts them: with the address it knows, so the summary names it.
      finished = {
        ...first,
        ...(await client.start(
          { regionId, instanceId: first.instanceId, verifyTimeoutSeconds: 30 },
          { publicIp: first.publicIp },
        )),
      };
      waiting = {
        ...second,
        ...(await client.start(
          { regionId, instanceId: second.instanceId, requireApproval: true },
          { publicIp: second.publicIp, vpcId },
        )),
      };
      const batches = new BatchClient(client);
      const { batchId, runId } = await batches.start({
        regionId,
        vpcId,
        select: { instanceIds: rest.map((i) => i.instanceId) },
        concurrency: 2,
      });
      const [report, batchReport] = await Promise.all([
        client.result(finished.workflowId),
        reportOrPause(batches, batchId),
      ]);
      assert.equal(report.outcome, 'verified', JSON.stringify(report));
      assert.deepEqual(
        [batchReport.outcome, batchReport.counts],
        ['completed', { verified: rest.length }],
        JSON.stringify(batchReport.instances),
      );
      batch = { batchId, runId, report: batchReport };
      children = batchReport.instances.map((i) => ({ ...i, workflowId: i.workflowId as string }));
      await eventually(
        async () => (await client.progress(waiting.workflowId)).awaitingApproval,
        'the approval gate',
      );
      // Paused, at night: it lists on the Schedules page and never starts a batch while the test runs.
      ({ scheduleId } = await new BatchScheduleClient(client).create(
        { regionId, vpcId, concurrency: 5 },
        { cron: ['0 3 * * *'], paused: true, note: 'web-ui test' },
      ));

      page = await browser.context.newPage();
      page.setDefaultTimeout(10_000);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await browser?.close();
    await client?.close();
    await env?.stop();
  });

  it('lists a migration by its InstanceId and opens its page: type, search attributes, summary, details and live details', () =>
    withScreenshots(page, 'migration', async (shot) => {
      const link = page.getByRole('link', { name: finished.workflowId, exact: true });
      await openUntil(page, listUrl(`InstanceId="${finished.instanceId}"`), visible(link), 'the migration');
      const row = page.getByRole('row').filter({ has: link });
      assert.match(await row.innerText(), /COMPLETED[\s\S]*migrateInstance/);
      assert.equal(
        await page.getByRole('link', { name: waiting.workflowId }).count(),
        0,
        'only that instance',
      );

      // The user's path: click the workflow id, then the Search Attributes tab.
      await link.click();
      await page.getByRole('heading', { name: finished.workflowId }).waitFor();
      assert.ok(page.url().includes(finished.runId), page.url());
      await page.getByText('Workflow Type', { exact: true }).waitFor();
      assert.match(await page.locator('main').innerText(), /Workflow Type\s+migrateInstance/);
      // The activities read as the runbook's steps (their summaries), not only as function names.
      await page.getByText(/^verifyMigration • .*Verify/).waitFor();
      await shot('timeline');

      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      await searchAttribute(page, 'InstanceId', finished.instanceId).waitFor();
      await searchAttribute(page, 'RegionId', env.regionId).waitFor();
      await searchAttribute(page, 'MigrationStep', 'done').waitFor();
      await searchAttribute(page, 'MigrationOutcome', 'verified').waitFor();

      // What it does (static) and how it ended (the current details, which the UI asks the worker for).
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await metadata(page, 'summary')
        .getByText(`Migrate ${finished.instanceId}: ${finished.publicIp} onto a secondary ENI`, {
          exact: true,
        })
        .waitFor();
      const details = metadata(page, 'details');
      await details
        .getByText(`Instance ${finished.instanceId} in ${env.regionId}, public IP ${finished.publicIp}.`)
        .waitFor();
      await details.getByText(/^Options: verification on \(up to 30 s;/).waitFor();
      // The runbook as docs/architecture.md numbers it, from 0.
      await details.getByText('0. Preflight: read-only checks', { exact: false }).waitFor();
      await details.getByText('6. Verify: SSH through the EIP', { exact: false }).waitFor();
      const current = metadata(page, 'current-details');
      await current.getByText(/^Ended: verified after [\d.]+ s, \d+ API calls\.$/).waitFor();
      await current.getByText(/^Done: preflight \([\d.]+ s\), convertToEip/).waitFor();
      await current.getByText(/^Without a public address: [\d.]+ s in all$/).waitFor();
      await shot('metadata');
    }));

  it('lists the migration held at the approval gate by MigrationStep="awaiting-approval"; its live details say so', () =>
    withScreenshots(page, 'approval-gate', async (shot) => {
      const link = page.getByRole('link', { name: waiting.workflowId, exact: true });
      await openUntil(
        page,
        listUrl('MigrationStep="awaiting-approval"'),
        visible(link),
        'the waiting migration',
      );
      assert.match(
        await page.getByRole('row').filter({ has: link }).innerText(),
        /RUNNING[\s\S]*migrateInstance/,
      );
      assert.equal(
        await page.getByRole('link', { name: finished.workflowId }).count(),
        0,
        'the finished one is not',
      );

      await link.click();
      await page.getByRole('heading', { name: waiting.workflowId }).waitFor();
      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      await searchAttribute(page, 'MigrationStep', 'awaiting-approval').waitFor();
      await searchAttribute(page, 'MigrationOutcome', 'running').waitFor();
      await searchAttribute(page, 'VpcId', vpcId).waitFor();

      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await metadata(page, 'details')
        .getByText(
          `Instance ${waiting.instanceId} in ${env.regionId}, VPC ${vpcId}, public IP ${waiting.publicIp}.`,
        )
        .waitFor();
      await metadata(page, 'details')
        .getByText(/^Waits for approval/)
        .waitFor();
      // Live: the workflow is running, held at its gate, and says what to do.
      const current = metadata(page, 'current-details');
      await current
        .getByText(
          `Waiting for approval before the irreversible step 1: eni-migrate approve ${waiting.workflowId} (or cancel).`,
        )
        .waitFor();
      await current.getByText(/^Done: preflight \([\d.]+ s\)$/).waitFor();
      await current
        .getByText(`Resources: address ${waiting.publicIp}, VPC ${vpcId},`, { exact: false })
        .waitFor();
      await shot('metadata');
    }));

  it("lists a batch's children by BatchId: every one and only them, with their instance and outcome", () =>
    withScreenshots(page, 'batch-children', async (shot) => {
      const links = children.map((c) => page.getByRole('link', { name: c.workflowId, exact: true }));
      await openUntil(
        page,
        listUrl(`BatchId="${batch.batchId}"`),
        async () => (await Promise.all(links.map((l) => l.isVisible()))).every(Boolean),
        `the ${children.length} children of the batch`,
      );
      assert.equal(await page.getByRole('link', { name: /^eni-migration\// }).count(), children.length);
      for (const other of [finished.workflowId, waiting.workflowId, batch.batchId]) {
        assert.equal(await page.getByRole('link', { name: other, exact: true }).count(), 0, other);
      }

      // The list has no column for a workflow's summary (the visibility API does not return it, UI 2.54): what tells
      // the children apart in a row is their search attributes, which an operator adds as columns.
      await page.getByRole('button', { name: 'Configure Columns' }).click();
      await page.getByRole('button', { name: 'Add InstanceId column' }).click();
      await page.getByRole('button', { name: 'Add MigrationOutcome column' }).click();
      await page.getByRole('button', { name: 'Remove Run ID column' }).click();
      await page.getByRole('button', { name: 'Remove Start column' }).click();
      await page.getByRole('button', { name: 'Remove End column' }).click();
      await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
      for (const [n, c] of children.entries()) {
        const row = page.getByRole('row').filter({ has: links[n] });
        await row.getByText(c.instanceId, { exact: true }).waitFor();
        assert.match(await row.innerText(), /COMPLETED[\s\S]*migrateInstance[\s\S]*verified/);
      }
      await shot('list');
    }));

  it("shows the batch's page: its children by their summaries, its summary, details and counts", () =>
    withScreenshots(page, 'batch', async (shot) => {
      await page.goto(`${ui}/workflows/${encodeURIComponent(batch.batchId)}/${batch.runId}`);
      await page.getByRole('heading', { name: batch.batchId }).waitFor();
      await page.getByText('Workflow Type', { exact: true }).waitFor();
      assert.match(await page.locator('main').innerText(), /Workflow Type\s+migrateFleet/);
      // The timeline reads as the batch's plan: one bar per child, labelled with the child's summary.
      for (const c of children) {
        await page.getByText(childSummary(c), { exact: true }).waitFor();
      }
      await shot('timeline');

      await page.getByRole('tab', { name: /^Relationships/ }).click();
      for (const c of children) {
        await page.getByRole('link', { name: c.workflowId, exact: true }).waitFor();
      }
      await shot('relationships');

      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await metadata(page, 'summary')
        .getByText(`Migrate the instances of ${vpcId} (${env.regionId}) onto secondary ENIs`, { exact: true })
        .waitFor();
      await metadata(page, 'details')
        .getByText(`VPC ${vpcId} in ${env.regionId}, only instances`, { exact: false })
        .waitFor();
      const current = metadata(page, 'current-details');
      await current.getByText('State: done', { exact: true }).waitFor();
      await current
        .getByText(new RegExp(`^Instances: ${children.length};.* verified ${children.length}$`))
        .waitFor();
      await shot('metadata');

      // A child's own page says which batch started it, and how it ended.
      const canary = children[0];
      await page.getByRole('tab', { name: /^Relationships/ }).click();
      await page.getByRole('link', { name: canary.workflowId, exact: true }).click();
      await page.getByRole('heading', { name: canary.workflowId }).waitFor();
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await metadata(page, 'summary').getByText(childSummary(canary), { exact: true }).waitFor();
      await metadata(page, 'details')
        .getByText(`VPC ${vpcId}, public IP ${canary.publicIp}; started by batch ${batch.batchId}.`, {
          exact: false,
        })
        .waitFor();
      await metadata(page, 'current-details')
        .getByText(/^Ended: verified/)
        .waitFor();
      await shot('child');
    }));

  it('lists the batch schedule on the Schedules page, paused, with its cron; its page shows the policy', () =>
    withScreenshots(page, 'schedules', async (shot) => {
      const link = page.getByRole('link', { name: scheduleId, exact: true });
      await openUntil(page, `${ui}/schedules`, visible(link), 'the schedule');
      assert.match(
        await page.getByRole('row').filter({ has: link }).innerText(),
        /PAUSED[\s\S]*migrateFleet[\s\S]*At 03:00 every day/,
      );
      await shot('list');

      await link.click();
      await page.getByRole('heading', { name: scheduleId }).waitFor();
      // Skip: a run is skipped while the previous batch of the VPC still runs.
      await page.getByText('Overlap Policy', { exact: true }).waitFor();
      assert.match(await page.locator('main').innerText(), /Overlap Policy\s+Skip/);
      await page.getByText(`"vpcId": "${vpcId}"`).waitFor();
      await shot('schedule');
    }));

  /** The workflow list filtered by a visibility query, as typed in the UI's search box. */
  function listUrl(query: string): string {
    return `${ui}/workflows?query=${encodeURIComponent(query)}`;
  }
});

/** A child's summary, as the batch sets it: `Migrate <id> (<name>): <address> onto a secondary ENI`. */
function childSummary(c: FleetInstance): string {
  return `Migrate ${c.instanceId} (${c.instanceName}): ${c.publicIp} onto a secondary ENI`;
}

/**
 * The batch's report; a batch that pauses (the first error trips the breaker by default) would wait for an operator
 * forever, so that fails at once with the instances that did not verify.
 */
async function reportOrPause(batches: BatchClient, batchId: string): Promise<FleetReport> {
  const done = batches.result(batchId);
  done.catch(() => undefined); // awaited below; not unhandled while we poll
  for (;;) {
    const report = await Promise.race([
      done,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
    ]);
    if (report) return report;
    const progress = await batches.progress(batchId).catch(() => undefined);
    if (progress?.state === 'paused') {
      const failed = progress.instances.filter((i) => i.outcome && i.outcome !== 'verified');
      throw new Error(`the batch paused (${progress.pausedBecause}): ${JSON.stringify(failed)}`);
    }
  }
}

/** Opens `url` until `ready` holds (reloading: the list does not refresh itself by default). */
async function openUntil(
  page: Page,
  url: string,
  ready: () => Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + VISIBILITY_WAIT_MS;
  for (;;) {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    // The page's title (`4 Workflows`, `1 Schedule`) comes once the app has rendered, which on a loaded machine may
    // take seconds: reloading before that would start it over, forever.
    await page
      .getByRole('heading', { level: 1 })
      .first()
      .waitFor({ timeout: Math.max(1, deadline - Date.now()) })
      .catch(() => undefined);
    const shownBy = Date.now() + 5_000;
    while (Date.now() < shownBy) {
      if (await ready().catch(() => false)) return;
      await page.waitForTimeout(200);
    }
    if (Date.now() > deadline) throw new Error(`${what} not shown at ${url} within ${VISIBILITY_WAIT_MS} ms`);
  }
}

function visible(target: Locator): () => Promise<boolean> {
  return () => target.isVisible();
}

/**
 * Runs a test that takes screenshots as it goes (`shot('list')` → test-artifacts/web-ui/<name>-list.png); when it
 * fails, the page as it was goes beside them (`<name>-failed.png`), since a failed UI assertion says little alone.
 */
async function withScreenshots(
  page: Page,
  name: string,
  fn: (shot: (what: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const shot = async (what: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${what}.png`), fullPage: true });
  };
  try {
    await fn(shot);
  } catch (err) {
    await shot('failed').then(
      () =>
        console.error(`# ${name}: the page at ${page.url()} is in ${join(ARTIFACTS, `${name}-failed.png`)}`),
      () => undefined,
    );
    throw err;
  }
}

/**
 * One of the workflow page's User Metadata panels (`summary`, `details`, `current-details`). The UI renders their
 * Markdown in an iframe each, so text inside them is found through the frame.
 */
function metadata(page: Page, panel: 'summary' | 'details' | 'current-details'): FrameLocator {
  return page.frameLocator(`#user-metadata-${panel}`);
}

/**
 * A search attribute on the workflow page's Search Attributes tab: one `"Key": "value"` line of its JSON view.
 * Scoped to that view: the Input and Result views of the default tab (which may still be on screen right after
 * the click) hold an `"instanceId"` too, and text matching ignores case.
 */
function searchAttribute(page: Page, key: string, value: string): Locator {
  return page
    .getByRole('textbox', { name: 'Search Attributes', exact: true })
    .getByText(`"${key}": "${value}"`);
}
