// Payload encryption: the AES-256-GCM codec (key ids, rotation, configuration), a migration whose history holds
// ciphertext only while the client and the CLI still read its report, and the codec server the Web UI calls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { MigrationClient } from '../src/client';
import { startCodecServer, type CodecServer } from '../src/codec/codec-server';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  METADATA_ENCRYPTION_KEY_ID,
  UnknownPayloadKeyError,
  dataConverterFor,
  keyId,
  type PayloadKeys,
} from '../src/codec/payload-codec';
import { ConfigError, describeConfig, loadConfig } from '../src/config';
import { allText } from './helpers/history';
import { startMigrationEnv, type MigrationEnv } from './helpers/migration';
import { CLI_ARGV } from './helpers/cli';

const ROOT = path.resolve(__dirname, '..');
const newKey = (): Buffer => randomBytes(32);
const b64 = (key: Buffer): string => key.toString('base64');

function jsonPayload(value: unknown): Payload {
  return {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify(value)),
  };
}

const text = (bytes: Uint8Array | null | undefined): string =>
  Buffer.from(bytes ?? new Uint8Array()).toString();

describe('EncryptionCodec', () => {
  it('round-trips payloads, and stores only ciphertext under binary/encrypted with the key id', async () => {
    const key = newKey();
    const codec = new EncryptionCodec({ current: key, previous: [] });
    const original = [
      jsonPayload({ publicIp: '47.96.180.23' }),
      jsonPayload(null),
      { metadata: {}, data: undefined },
    ];
    const encoded = await codec.encode(original);
    assert.equal(encoded.length, 3);
    for (const p of encoded) {
      assert.equal(text(p.metadata?.[METADATA_ENCODING_KEY]), ENCRYPTED_ENCODING);
      assert.equal(text(p.metadata?.[METADATA_ENCRYPTION_KEY_ID]), keyId(key));
      assert.equal(Object.keys(p.metadata ?? {}).length, 2, 'the original metadata is sealed too');
    }
    assert.doesNotMatch(text(encoded[0].data), /47\.96\.180\.23|json\/plain|publicIp/);
    assert.match(keyId(key), /^[0-9a-f]{8}$/);
    // Random IVs: the same value twice gives two ciphertexts.
    const [again] = await codec.encode([original[0]]);
    assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(encoded[0].data!));

    const decoded = await codec.decode(encoded);
    assert.equal(text(decoded[0].data), JSON.stringify({ publicIp: '47.96.180.23' }));
    assert.equal(text(decoded[0].metadata?.[METADATA_ENCODING_KEY]), 'json/plain');
    assert.equal(text(decoded[1].data), 'null');
    assert.equal(decoded[2].data?.length ?? 0, 0);
    // A payload that is not encrypted passes through (histories written before encryption was turned on).
    const plain = jsonPayload('x');
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  it('decodes a payload of a previous key after rotation, and names an unknown key id', async () => {
    const oldKey = newKey();
    const newer = newKey();
    const [sealedOld] = await new EncryptionCodec({ current: oldKey, previous: [] }).encode([
      jsonPayload('old'),
    ]);

    const rotated = new EncryptionCodec({ current: newer, previous: [oldKey] });
    assert.deepEqual(rotated.keyIds, [keyId(newer), keyId(oldKey)]);
    assert.equal(text((await rotated.decode([sealedOld]))[0].data), '"old"');
    const [sealedNew] = await rotated.encode([jsonPayload('new')]);
    assert.equal(
      text(sealedNew.metadata?.[METADATA_ENCRYPTION_KEY_ID]),
      keyId(newer),
      'the current key encrypts',
    );

    const forgetful = new EncryptionCodec({ current: newer, previous: [] });
    await assert.rejects(forgetful.decode([sealedOld]), (err: unknown) => {
      assert.ok(err instanceof UnknownPayloadKeyError);
      assert.equal(err.keyId, keyId(oldKey));
      assert.match(err.message, new RegExp(`key id ${keyId(oldKey)}`));
      return true;
    });

    // A tampered ciphertext fails authentication, naming the key id.
    const tampered = { ...sealedNew, data: Buffer.from(sealedNew.data!) };
    tampered.data[tampered.data.length - 1] ^= 1;
    await assert.rejects(rotated.decode([tampered]), /fails authentication/);
  });
});

describe('payload key configuration', () => {
  const key = newKey();
  const old = newKey();

  it('is off without a key, and on with ENI_MIGRATE_PAYLOAD_KEY (+ previous keys)', () => {
    assert.equal(loadConfig({}).temporal.payloadKeys, undefined);
    assert.equal(dataConverterFor(undefined), undefined);
    const config = loadConfig({
      ENI_MIGRATE_PAYLOAD_KEY: b64(key),
      ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS: ` ${b64(old)} ,`,
    });
    assert.deepEqual(config.temporal.payloadKeys, { current: key, previous: [old] });
    const described = JSON.stringify(describeConfig(config));
    assert.match(described, new RegExp(`on \\(key id ${keyId(key)}; previous ${keyId(old)}\\)`));
    assert.ok(!described.includes(b64(key)) && !described.includes(b64(old)), 'never the key itself');
  });

  it('reads ENI_MIGRATE_PAYLOAD_KEY_FILE: one key a line, the first current', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'payload-keys-')), 'keys');
    writeFileSync(file, `# rotated 2026-12-01\n${b64(key)}\n\n${b64(old)}\n`);
    assert.deepEqual(loadConfig({ ENI_MIGRATE_PAYLOAD_KEY_FILE: file }).temporal.payloadKeys, {
      current: key,
      previous: [old],
    });
  });

  it('refuses a bad key naming the variable, never printing it', () => {
    const short = b64(randomBytes(16));
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ ENI_MIGRATE_PAYLOAD_KEY: short }, /ENI_MIGRATE_PAYLOAD_KEY must be the base64 of 32 random bytes/],
      [{ ENI_MIGRATE_PAYLOAD_KEY: 'not base64 at all!' }, /ENI_MIGRATE_PAYLOAD_KEY must be/],
      [
        { ENI_MIGRATE_PAYLOAD_KEY: b64(key), ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS: `${b64(old)},${short}` },
        /ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS \(key 2 of 2\) must be/,
      ],
      [{ ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS: b64(old) }, /without ENI_MIGRATE_PAYLOAD_KEY/],
      [{ ENI_MIGRATE_PAYLOAD_KEY: b64(key), ENI_MIGRATE_PAYLOAD_KEY_FILE: '/x' }, /not both/],
      [{ ENI_MIGRATE_PAYLOAD_KEY_FILE: '/nonexistent/keys' }, /ENI_MIGRATE_PAYLOAD_KEY_FILE: cannot read/],
    ];
    for (const [env, message] of bad) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, message);
          assert.ok(!err.message.includes(short) && !err.message.includes(b64(old)), 'no key in the message');
          return true;
        },
      );
    }
  });
});

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
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
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function bareEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(TEMPORAL_|ALIBABA_CLOUD_|ENI_MIGRATE_)/.test(name)) delete env[name];
  }
  return { ...env, ...extra };
}

describe('an encrypted migration', () => {
  const firstKey = newKey();
  const secondKey = newKey();
  const first: PayloadKeys = { current: firstKey, previous: [] };
  const rotated: PayloadKeys = { current: secondKey, previous: [firstKey] };
  let env: MigrationEnv;
  let client: MigrationClient;

  const connect = (payloadKeys: PayloadKeys) => {
    const { server } = env.temporal;
    return MigrationClient.connect({
      temporal: {
        address: server.address,
        namespace: server.namespace,
        taskQueue: env.taskQueue,
        payloadKeys,
      },
    });
  };

  before(async () => {
    env = await startMigrationEnv({ instances: 2, dataConverter: dataConverterFor(first) });
    client = await connect(first);
  });

  after(async () => {
    await client?.close();
    await env?.stop();
  });

  it('leaves only ciphertext in the history; the client, the CLI and a rotated key still read the report', async () => {
    const instance = env.instances[0];
    const { workflowId } = await client.start({
      regionId: env.regionId,
      instanceId: instance.instanceId,
      verifyTimeoutSeconds: 5,
    });
    const report = await client.result(workflowId);
    assert.equal(report.outcome, 'verified');
    assert.equal(report.publicIp, instance.publicIp);

    // The history as the server stores it (the test's own client has no codec).
    const history = await env.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const json = historyToJSON(history);
    const all = allText(json);
    assert.ok(!all.includes(instance.publicIp), `the public IP ${instance.publicIp} is in the history`);
    assert.ok(!all.includes('SHA256:'), 'the host key is in the history');
    assert.ok(!all.includes('"outcome"'), 'a report field is in the history');
    // Every payload is encrypted with the first key, but for the search attributes (indexed: plaintext by nature) and
    // the SDK's own patch markers (core writes `{"id":"eni-migration-0.2","deprecated":false}` without the codec).
    const payloads: Array<{ metadata?: Record<string, string> }> = [];
    const walk = (v: unknown, key = ''): void => {
      if (key === 'searchAttributes' || key === 'indexedFields') return;
      if (
        key === 'markerRecordedEventAttributes' &&
        (v as { markerName?: string }).markerName === 'core_patch'
      )
        return;
      if (Array.isArray(v)) v.forEach((x) => walk(x));
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.metadata && typeof o.metadata === 'object' && 'data' in o)
          payloads.push(o as { metadata?: Record<string, string> });
        for (const [k, x] of Object.entries(o)) walk(x, k);
      }
    };
    walk(JSON.parse(json));
    assert.ok(payloads.length >= 10, `only ${payloads.length} payloads found`);
    for (const p of payloads) {
      assert.equal(Buffer.from(p.metadata!.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
      assert.equal(
        Buffer.from(p.metadata![METADATA_ENCRYPTION_KEY_ID], 'base64').toString(),
        keyId(firstKey),
      );
    }

    // After rotation: a client with the new key (and the old one listed) reads the old history.
    await env.stopWorker();
    await env.startWorker({ dataConverter: dataConverterFor(rotated) });
    const rotatedClient = await connect(rotated);
    try {
      const status = await rotatedClient.status(workflowId);
      assert.equal(status.report?.outcome, 'verified');
      assert.equal(status.report?.publicIp, instance.publicIp);
      // New migrations are written with the new key.
      const second = env.instances[1];
      const started = await rotatedClient.start({
        regionId: env.regionId,
        instanceId: second.instanceId,
        verifyTimeoutSeconds: 5,
      });
      assert.equal((await rotatedClient.result(started.workflowId)).outcome, 'verified');
      const secondJson = historyToJSON(
        await env.temporal.client.workflow.getHandle(started.workflowId).fetchHistory(),
      );
      assert.ok(!allText(secondJson).includes(second.publicIp));
      assert.match(secondJson, new RegExp(Buffer.from(keyId(secondKey)).toString('base64')));
    } finally {
      await rotatedClient.close();
    }
    // Without the old key, the old history cannot be read, and the error names the key id.
    const forgetful = await connect({ current: secondKey, previous: [] });
    try {
      await assert.rejects(forgetful.status(workflowId), new RegExp(`key id ${keyId(firstKey)}`));
    } finally {
      await forgetful.close();
    }

    // The CLI, with the rotated key file, shows the old migration's report.
    const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'payload-keys-')), 'keys');
    writeFileSync(keyFile, `${b64(secondKey)}\n${b64(firstKey)}\n`);
    const { server } = env.temporal;
    const cliEnv = bareEnv({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_TASK_QUEUE: env.taskQueue,
      ALIBABA_CLOUD_REGION_ID: env.regionId,
      ENI_MIGRATE_PAYLOAD_KEY_FILE: keyFile,
    });
    const run = await runCli(['status', workflowId, '--json'], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { report?: { outcome: string; publicIp: string } };
    assert.equal(doc.report?.outcome, 'verified');
    assert.equal(doc.report?.publicIp, instance.publicIp);
  });
});

describe('codec server', () => {
  const key = newKey();
  const codec = new EncryptionCodec({ current: key, previous: [] });
  const token = 'operator-token-3f9c';
  const origin = 'http://localhost:8233';
  let open: CodecServer;
  let guarded: CodecServer;

  before(async () => {
    open = await startCodecServer({ codec, port: 0 });
    guarded = await startCodecServer({ codec, port: 0, token, origins: [origin, 'https://ui.example.com'] });
  });

  after(async () => {
    await open?.stop();
    await guarded?.stop();
  });

  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  });

  it('encodes and decodes in the Web UI’s JSON format, with CORS for its origin', async () => {
    const plain = asJson(jsonPayload({ publicIp: '47.96.180.23' }));
    const post = (op: string, body: unknown) =>
      fetch(`${open.url}/${op}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: origin, 'X-Namespace': 'default' },
        body: JSON.stringify(body),
      });
    const encoded = await post('encode', { payloads: [plain] });
    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('access-control-allow-origin'), origin);
    const sealed = (await encoded.json()) as {
      payloads: Array<{ metadata: Record<string, string>; data: string }>;
    };
    assert.equal(Buffer.from(sealed.payloads[0].metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
    assert.equal(
      Buffer.from(sealed.payloads[0].metadata[METADATA_ENCRYPTION_KEY_ID], 'base64').toString(),
      keyId(key),
    );
    assert.ok(!Buffer.from(sealed.payloads[0].data, 'base64').toString().includes('47.96.180.23'));

    const decoded = await post('decode', sealed);
    assert.equal(decoded.status, 200);
    assert.deepEqual(await decoded.json(), { payloads: [plain] });

    // The browser's preflight.
    const preflight = await fetch(`${open.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);

    // Another origin gets no CORS grant; a bad body is a 400; an unknown path a 404.
    const foreign = await fetch(`${open.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.com' },
    });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const json = { 'Content-Type': 'application/json' };
    const [kept] = await codec.encode([jsonPayload('kept')]);
    const sealedBody = JSON.stringify({ payloads: [asJson(kept)] });
    // ...and nothing decrypted: a page elsewhere must not read plaintext, CORS grant or not.
    const fromForeign = await fetch(`${open.url}/decode`, {
      method: 'POST',
      headers: { ...json, Origin: 'https://evil.example.com' },
      body: sealedBody,
    });
    assert.equal(fromForeign.status, 403);
    assert.match(await fromForeign.text(), /origin https:\/\/evil\.example\.com is not allowed/);
    // JSON only: a `text/plain` POST is what a page may send cross-origin without a preflight.
    const plainText = await fetch(`${open.url}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: sealedBody,
    });
    assert.equal(plainText.status, 415);
    // A loopback server answers only to a loopback name (DNS rebinding sends the attacker's name as Host).
    const rebound = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(open.url);
      const req = request(
        {
          hostname,
          port,
          path: '/decode',
          method: 'POST',
          headers: { ...json, Host: 'attacker.example:80' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(sealedBody);
    });
    assert.equal(rebound, 403);
    assert.equal(
      (await fetch(`${open.url}/decode`, { method: 'POST', headers: json, body: '{' })).status,
      400,
    );
    assert.equal(
      (await fetch(`${open.url}/other`, { method: 'POST', headers: json, body: '{}' })).status,
      404,
    );
    // A payload of an unknown key: the error names the id.
    const [alien] = await new EncryptionCodec({ current: newKey(), previous: [] }).encode([jsonPayload(1)]);
    const refused = await post('decode', { payloads: [asJson(alien)] });
    assert.equal(refused.status, 422);
    assert.match(((await refused.json()) as { error: string }).error, /key id [0-9a-f]{8}/);
  });

  it('requires the bearer token when one is set (the preflight excepted)', async () => {
    const [sealed] = await codec.encode([jsonPayload('secret')]);
    const body = JSON.stringify({ payloads: [asJson(sealed)] });
    const without = await fetch(`${guarded.url}/decode`, {
      method: 'POST',
      headers: { Origin: origin, 'Content-Type': 'application/json' },
      body,
    });
    assert.equal(without.status, 401);
    assert.equal(without.headers.get('access-control-allow-origin'), origin, 'the browser may read the 401');
    const wrong = await fetch(`${guarded.url}/decode`, {
      method: 'POST',
      headers: { Authorization: 'Bearer nope', 'Content-Type': 'application/json' },
      body,
    });
    assert.equal(wrong.status, 401);
    const preflight = await fetch(`${guarded.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://ui.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://ui.example.com');
    const ok = await fetch(`${guarded.url}/decode`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body,
    });
    assert.equal(ok.status, 200);
    const [plain] = ((await ok.json()) as { payloads: Array<{ data: string }> }).payloads;
    assert.equal(Buffer.from(plain.data, 'base64').toString(), '"secret"');
  });
});

describe('eni-migrate codec-server', () => {
  it('refuses to start without a key (exit 2), and serves with one until SIGTERM', async () => {
    const missing = await runCli(['codec-server', '--port', '0'], bareEnv({}));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs the payload key: set ENI_MIGRATE_PAYLOAD_KEY/);

    const key = newKey();
    const child = spawn(process.execPath, [...CLI_ARGV, 'codec-server', '--port', '0'], {
      cwd: ROOT,
      env: bareEnv({ ENI_MIGRATE_PAYLOAD_KEY: b64(key) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('\n')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, 'no JSON line from codec-server');
        await new Promise((r) => setTimeout(r, 100));
      }
      const line = JSON.parse(stdout.split('\n')[0]) as { url: string; keyIds: string[] };
      assert.deepEqual(line.keyIds, [keyId(key)]);
      assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const [sealed] = await new EncryptionCodec({ current: key, previous: [] }).encode([jsonPayload('hi')]);
      const res = await fetch(`${line.url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          payloads: [
            {
              metadata: Object.fromEntries(
                Object.entries(sealed.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
              ),
              data: Buffer.from(sealed.data!).toString('base64'),
            },
          ],
        }),
      });
      const [plain] = ((await res.json()) as { payloads: Array<{ data: string }> }).payloads;
      assert.equal(Buffer.from(plain.data, 'base64').toString(), '"hi"');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});
