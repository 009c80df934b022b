// Encrypted payloads, readable in the Web UI: a dev server started with --ui-codec-endpoint pointing at the product's
// codec server, a worker and a client with a payload key, one migration on the local cloud. The server stores
// ciphertext only, and the Web UI in Chromium shows the report and the workflow's summary decrypted, because the
// browser asked the codec server's /decode. (The CLI reading an encrypted report, and key rotation, are
// test/payload-codec.test.ts's.) Screenshots in test-artifacts/web-ui-codec/.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Page, Response } from 'playwright-core';
import { MigrationClient, type Started } from '../src/client';
import { startCodecServer, type CodecServer } from '../src/codec/codec-server';
import {
  dataConverterFor,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  keyId,
  METADATA_ENCRYPTION_KEY_ID,
  type PayloadKeys,
} from '../src/codec/payload-codec';
import type { MigrationReport } from '../src/shared/migration';
import { browserUnavailable, launchBrowser, type TestBrowser } from './helpers/browser';
import { allText } from './helpers/history';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';

const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'web-ui-codec');

describe('Temporal Web UI with encrypted payloads', { skip: browserUnavailable() }, () => {
  const keys: PayloadKeys = { current: randomBytes(32), previous: [] };
  let codecServer: CodecServer;
  let env: MigrationEnv;
  let browser: TestBrowser;
  let client: MigrationClient;
  let page: Page;
  let instance: { instanceId: string; publicIp: string };
  let started: Started;
  let report: MigrationReport;

  before(
    async () => {
      rmSync(ARTIFACTS, { recursive: true, force: true });
      mkdirSync(ARTIFACTS, { recursive: true });
      // As `demo --encrypt` does: the codec server first, the dev server pointed at it, then the UI's origin allowed.
      codecServer = await startCodecServer({ codec: new EncryptionCodec(keys), port: 0, origins: [] });
      [env, browser] = await Promise.all([
        startMigrationEnv({
          instances: 1,
          temporal: { ui: true, uiCodecEndpoint: codecServer.url },
          dataConverter: dataConverterFor(keys),
        }),
        launchBrowser(),
      ]);
      const { server } = env.temporal;
      assert.ok(server.uiUrl, 'the dev server serves the Web UI');
      codecServer.allowOrigin(server.uiUrl);
      client = await MigrationClient.connect({
        temporal: {
          address: server.address,
          namespace: server.namespace,
          taskQueue: env.taskQueue,
          payloadKeys: keys,
        },
      });
      instance = env.instances[0];
      started = await client.start(
        { regionId: env.regionId, instanceId: instance.instanceId, verifyTimeoutSeconds: 30 },
        { publicIp: instance.publicIp },
      );
      report = await client.result(started.workflowId);
      assert.equal(report.outcome, 'verified', JSON.stringify(report));
      page = await browser.context.newPage();
      page.setDefaultTimeout(15_000);
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await browser?.close();
    await client?.close();
    await env?.stop();
    await codecServer?.stop();
  });

  it('stores ciphertext only: every payload under the codec’s encoding and key id, no address, id or report field', async () => {
    // The history as the server holds it (the test's own client has no codec).
    const json = historyToJSON(
      await env.temporal.client.workflow.getHandle(started.workflowId).fetchHistory(),
    );
    const payloads = encodedPayloads(JSON.parse(json));
    assert.ok(payloads.length >= 10, `only ${payloads.length} payloads found`);
    for (const p of payloads) {
      assert.equal(fromBase64(p.metadata.encoding), ENCRYPTED_ENCODING, JSON.stringify(p));
      assert.equal(fromBase64(p.metadata[METADATA_ENCRYPTION_KEY_ID]), keyId(keys.current));
    }

    const all = allText(json);
    for (const [what, value] of [
      ['the public IP', instance.publicIp],
      ['the SNAT IP', report.snatIp],
      ['the ENI id', report.networkInterfaceId],
      ['the EIP allocation id', report.allocationId],
      ['the ENI private IP', report.eniPrivateIp],
      ['a report field', '"networkInterfaceId"'],
      ['a report field', '"offlineMs"'],
      ['the host key', 'SHA256:'],
    ] as const) {
      assert.ok(value, `${what}: missing from the report`);
      assert.ok(!all.includes(value), `${what} (${value}) is in the history in plaintext`);
    }
    // The instance id is in plaintext only where it is not a payload: the workflow id and the search attributes.
    const elsewhere = allText(JSON.stringify(withoutSearchAttributes(JSON.parse(json)))).replaceAll(
      started.workflowId,
      '',
    );
    assert.ok(!elsewhere.includes(instance.instanceId), 'the instance id is in a payload in plaintext');
  });

  it('shows the result, input and summary decrypted in the Web UI: the browser asked the codec server', async () => {
    const ui = `${env.temporal.server.uiUrl}/namespaces/${env.temporal.server.namespace}`;
    const decoded: Response[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${codecServer.url}/decode`) && r.request().method() === 'POST') decoded.push(r);
    });
    try {
      await page.goto(`${ui}/workflows/${encodeURIComponent(started.workflowId)}/${started.runId}`);
      // The app's first render may take a while on a loaded 2-core machine (the dev server and Chromium share it).
      await page.getByRole('heading', { name: started.workflowId }).waitFor({ timeout: 45_000 });
      // The report, as the Result view shows it, and the input.
      await page.getByText(`"networkInterfaceId": "${report.networkInterfaceId}"`).first().waitFor();
      await page.getByText(`"snatIp": "${report.snatIp}"`).first().waitFor();
      await page.getByText(`"instanceId": "${instance.instanceId}"`).first().waitFor();
      assert.equal(await page.getByText(ENCRYPTED_ENCODING).count(), 0, 'a payload is shown still encrypted');
      await page.screenshot({ path: join(ARTIFACTS, 'workflow.png'), fullPage: true });

      // The workflow's summary (user metadata, a payload too), rendered in its own frame.
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await page
        .frameLocator('#user-metadata-summary')
        .getByText(`Migrate ${instance.instanceId}: ${instance.publicIp} onto a secondary ENI`, {
          exact: true,
        })
        .waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'metadata.png'), fullPage: true });

      assert.ok(decoded.length > 0, 'the browser never called the codec server');
      for (const r of decoded) assert.equal(r.status(), 200, `${r.url()}: ${r.status()}`);
      // From the UI's page, across origins: the codec server's CORS grant is what lets the browser read the answer.
      const uiOrigin = new URL(env.temporal.server.uiUrl!).origin;
      assert.equal((await decoded[0].request().allHeaders()).origin, uiOrigin);
      assert.equal((await decoded[0].allHeaders())['access-control-allow-origin'], uiOrigin);
    } catch (err) {
      await page.screenshot({ path: join(ARTIFACTS, 'failed.png'), fullPage: true }).catch(() => undefined);
      throw err;
    }
  });
});

const fromBase64 = (value: string | undefined): string => Buffer.from(value ?? '', 'base64').toString();

interface JsonPayload {
  metadata: Record<string, string>;
  data?: string;
}

/**
 * The payloads of an exported history, but for those that are plaintext by design: the search attributes (indexed)
 * and the SDK's own patch markers (core writes them without the codec).
 */
function encodedPayloads(history: unknown): JsonPayload[] {
  const found: JsonPayload[] = [];
  const walk = (v: unknown, key = ''): void => {
    if (key === 'searchAttributes' || key === 'indexedFields') return;
    if (key === 'markerRecordedEventAttributes' && (v as { markerName?: string }).markerName === 'core_patch')
      return;
    if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.metadata && typeof o.metadata === 'object' && 'data' in o)
        found.push(o as unknown as JsonPayload);
      for (const [k, x] of Object.entries(o)) walk(x, k);
    }
  };
  walk(history);
  return found;
}

function withoutSearchAttributes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutSearchAttributes);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== 'searchAttributes')
      .map(([k, x]) => [k, withoutSearchAttributes(x)]),
  );
}
