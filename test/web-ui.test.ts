// The Temporal Web UI as a user sees it: migrations are found by their search attributes (InstanceId,
// MigrationStep), and a migration's page shows its type and where it stands (MigrationStep, MigrationOutcome).
// Real dev server with the UI, real worker, local cloud with SSH-answering instances, headless Chromium.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { MigrationClient, type Started } from '../src/client';
import { browserUnavailable, launchBrowser, type TestBrowser } from './helpers/browser';
import { eventually } from './helpers/eventually';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

/**
 * Visibility is eventually consistent: a freshly upserted search attribute may need a moment to be listed, and on a
 * loaded 2-core machine the dev server and Chromium share the cores (20 s was once not enough).
 */
const VISIBILITY_WAIT_MS = 45_000;

describe('Temporal Web UI', { skip: browserUnavailable() }, () => {
  let env: MigrationEnv;
  let browser: TestBrowser;
  let client: MigrationClient;
  let page: Page;
  let workflows: string; // <ui>/namespaces/<namespace>/workflows
  let finished: Started & { instanceId: string };
  let waiting: Started & { instanceId: string };

  before(async () => {
    // The UI is what this file tests: always a dev server of its own (TEMPORAL_TEST_ADDRESS may have none).
    [env, browser] = await Promise.all([
      startMigrationEnv({ instances: 2, temporal: { ui: true } }),
      launchBrowser(),
    ]);
    const { server } = env.temporal;
    assert.ok(server.uiUrl, 'the dev server serves the Web UI');
    workflows = `${server.uiUrl}/namespaces/${server.namespace}/workflows`;
    client = await MigrationClient.connect({
      client: env.temporal.client,
      temporal: { taskQueue: env.taskQueue },
    });

    const [first, second] = env.instances.map((i) => i.instanceId);
    const regionId = env.regionId;
    finished = {
      instanceId: first,
      ...(await client.start({ regionId, instanceId: first, verifyTimeoutSeconds: 10 })),
    };
    waiting = {
      instanceId: second,
      ...(await client.start({ regionId, instanceId: second, requireApproval: true })),
    };
    const report = await client.result(finished.workflowId);
    assert.equal(report.outcome, 'verified', JSON.stringify(report));
    await eventually(
      async () => (await client.progress(waiting.workflowId)).awaitingApproval,
      'the approval gate',
    );

    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
  });

  after(async () => {
    await browser?.close();
    await client?.close();
    await env?.stop();
  });

  it('lists a migration by its InstanceId and opens its page: type migrateInstance, step and outcome', () =>
    screenshotOnFailure(page, 'finished', async () => {
      const link = page.getByRole('link', { name: finished.workflowId, exact: true });
      await openUntilShown(
        page,
        listUrl(`InstanceId="${finished.instanceId}"`),
        link,
        'the finished migration',
      );
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

      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      await searchAttribute(page, 'InstanceId', finished.instanceId).waitFor();
      await searchAttribute(page, 'MigrationStep', 'done').waitFor();
      await searchAttribute(page, 'MigrationOutcome', 'verified').waitFor();
    }));

  it('lists the migration held at the approval gate by MigrationStep="awaiting-approval", Running', () =>
    screenshotOnFailure(page, 'waiting', async () => {
      const link = page.getByRole('link', { name: waiting.workflowId, exact: true });
      await openUntilShown(page, listUrl('MigrationStep="awaiting-approval"'), link, 'the waiting migration');
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
    }));

  /** The workflow list filtered by a visibility query, as typed in the UI's search box. */
  function listUrl(query: string): string {
    return `${workflows}?query=${encodeURIComponent(query)}`;
  }
});

/** Opens `url` until `target` shows (reloading: the list does not refresh itself by default). */
async function openUntilShown(page: Page, url: string, target: Locator, what: string): Promise<void> {
  const deadline = Date.now() + VISIBILITY_WAIT_MS;
  for (;;) {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    try {
      await target.waitFor({ state: 'visible', timeout: 3_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`${what} not shown at ${url} within ${VISIBILITY_WAIT_MS} ms`, { cause: err });
    }
  }
}

/** A failed UI assertion says little on its own: keep a picture of what the page showed. */
async function screenshotOnFailure(page: Page, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const path = join(mkdtempSync(join(tmpdir(), 'web-ui-test-')), `${name}.png`);
    await page.screenshot({ path, fullPage: true }).then(
      () => console.error(`# ${name}: the page at ${page.url()} is in ${path}`),
      () => undefined,
    );
    throw err;
  }
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
