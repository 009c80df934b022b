/**
 * The local cloud's wire: what the unmodified SDK clients see over HTTP (signatures, errors, throttling, faults,
 * latency) and the admin API. The wire is tested against a small stand-in action table defined here, so that
 * every wire behaviour (down to an unexpected exception in a handler) is reachable without the model's rules;
 * the last suite checks the real composition, startLocalCloud and `eni-migrate cloud`.
 */
import * as $Ecs from '@alicloud/ecs20140526';
import { ClientError, OpenApiUtil, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import * as $Vpc from '@alicloud/vpc20160428';
import * as $dara from '@darabonba/typescript';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { stringify } from 'node:querystring';
import { after, before, describe, it } from 'node:test';
import type {
  ActionHandler,
  CloudModel,
  ModelBehaviours,
  Params,
  Timings,
} from '../src/local-cloud/contracts';
import { classifyCode } from '../src/cloud/errors';
import type { ThrottlingCode } from '../src/local-cloud/wire/rate-limits';
import { WireServer } from '../src/local-cloud/wire/server';
import { AdminClient, sdkClients, startTestCloud, type CloudTarget } from './helpers/local-cloud';

const ECS = '2014-05-26';
const VPC = '2016-04-28';
const STS_TOKEN = 'STS.local-test-token';

// ---------------------------------------------------------------------------------------------------------------
// Stand-ins: the smallest action table and model that let the wire's every path be reached. Test-only.
// ---------------------------------------------------------------------------------------------------------------
let vpcHandlerRuns = 0;
const standInActions: Record<string, Record<string, ActionHandler>> = {
  [ECS]: {
    DescribeInstances: () => ({ Instances: { Instance: [] }, TotalCount: 0, PageNumber: 1, PageSize: 10 }),
    DescribeSecurityGroups: () => {
      throw new TypeError('stand-in handler bug');
    },
  },
  [VPC]: {
    DescribeVpcs: () => {
      vpcHandlerRuns++;
      return { Vpcs: { Vpc: [] }, TotalCount: 0, PageNumber: 1, PageSize: 10 };
    },
  },
};
const configured: ModelBehaviours[] = [];
const standInModel: CloudModel = {
  regionId: 'cn-hangzhou',
  timings: {
    attachMs: 1,
    detachMs: 1,
    deleteMs: 1,
    associateMs: 1,
    unassociateMs: 1,
    convertMs: 1,
    commandMs: 1,
  },
  configure: (b) => void configured.push(b),
  publicAddresses: () => [],
  routePublicAddress: () => undefined,
  egressAddress: () => undefined,
  runGuestCommand: () => ({ stdout: '', stderr: '', exitCode: 0 }),
  snapshot: () => ({ Vpcs: [{ VpcId: 'vpc-standin' }] }),
};

// ---------------------------------------------------------------------------------------------------------------
// A raw client that signs exactly as the SDK does (with the SDK's own signing functions), so a test can alter a
// request after signing it.
// ---------------------------------------------------------------------------------------------------------------
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, string>;
}

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

function send(endpoint: string, r: RawRequest): Promise<RawResponse> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host, port: Number(port), method: r.method, path: r.path, headers: r.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const nonce = (): string => randomBytes(32).toString('hex');

function signAcs3(
  target: CloudTarget,
  action: string,
  query: Record<string, string>,
  opts: { date?: string; headers?: Record<string, string> } = {},
): RawRequest {
  const headers: Record<string, string> = {
    host: target.endpoint,
    'x-acs-version': ECS,
    'x-acs-action': action,
    'x-acs-date': opts.date ?? OpenApiUtil.getTimestamp(),
    'x-acs-signature-nonce': nonce(),
    accept: 'application/json',
    'x-acs-content-sha256': sha256(''),
    ...opts.headers,
  };
  const forSigning = { pathname: '/', method: 'POST', query, headers } as unknown as Parameters<
    typeof OpenApiUtil.getAuthorization
  >[0];
  headers.authorization = OpenApiUtil.getAuthorization(
    forSigning,
    'ACS3-HMAC-SHA256',
    sha256(''),
    target.accessKeyId,
    target.accessKeySecret,
  );
  return { method: 'POST', path: `/?${stringify(query)}`, headers, body: '' };
}

/** Legacy RPC v1: everything signed in the parameters, sent in the query (GET) or a form body (POST). */
function signRpcV1(
  target: CloudTarget,
  method: 'GET' | 'POST',
  params: Record<string, string>,
  inBody: boolean,
): RawRequest {
  const all: Record<string, string> = {
    Format: 'json',
    Version: ECS,
    Timestamp: OpenApiUtil.getTimestamp(),
    SignatureNonce: nonce(),
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    AccessKeyId: target.accessKeyId,
    ...params,
  };
  all.Signature = OpenApiUtil.getRPCSignature(all, method, target.accessKeySecret);
  return inBody
    ? {
        method,
        path: '/',
        headers: { host: target.endpoint, 'content-type': 'application/x-www-form-urlencoded' },
        body: stringify(all),
      }
    : { method, path: `/?${stringify(all)}`, headers: { host: target.endpoint }, body: '' };
}

async function rejectsWith<E extends Error>(
  call: Promise<unknown>,
  type: new (...args: never[]) => E,
  code: string,
): Promise<E & { code: string; statusCode: number; data: Record<string, string>; retryAfter?: number }> {
  const error = await call.then(
    () => assert.fail(`expected ${code}, the call succeeded`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  const e = error as E & {
    code: string;
    statusCode: number;
    data: Record<string, string>;
    retryAfter?: number;
  };
  assert.equal(e.code, code, e.message);
  return e;
}

const describeVpcs = (vpc: $Vpc.default, regionId = 'cn-hangzhou') =>
  vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId }));
const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeInstances = (ecs: $Ecs.default) =>
  ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: 'cn-hangzhou' }));

describe('local cloud wire (stand-in action table)', () => {
  const internalErrors: unknown[] = [];
  const requestLog: string[] = [];
  let wire: WireServer;
  let target: CloudTarget;
  let ecs: $Ecs.default;
  let vpc: $Vpc.default;
  let admin: AdminClient;

  before(async () => {
    wire = new WireServer({
      model: standInModel,
      credentials: {
        accessKeyId: 'LOCALCLOUDAKTEST',
        accessKeySecret: 'local-test-secret',
        stsTokens: [STS_TOKEN],
      },
      findAction: (version, action) => {
        const handler = standInActions[version]?.[action] as ActionHandler | undefined;
        return handler && { product: version === ECS ? 'Ecs' : 'Vpc', handler };
      },
      makeParams: (raw) => ({ raw }) as unknown as Params,
      onError: (error) => internalErrors.push(error),
      requestLog: (line) => requestLog.push(line),
    });
    const address = await wire.listen(0, '127.0.0.1');
    target = {
      endpoint: `127.0.0.1:${address.port}`,
      accessKeyId: 'LOCALCLOUDAKTEST',
      accessKeySecret: 'local-test-secret',
    };
    ({ ecs, vpc } = sdkClients(target));
    admin = new AdminClient(`http://${target.endpoint}`);
  });
  after(() => wire.close());

  describe('signatures', () => {
    it('accepts ACS3-HMAC-SHA256 (the SDK default) and decodes list encodings exactly', async () => {
      const res = await ecs.describeInstances(
        new $Ecs.DescribeInstancesRequest({
          regionId: 'cn-hangzhou',
          instanceIds: '["i-1","i-2"]',
          tag: [new $Ecs.DescribeInstancesRequestTag({ key: 'env', value: 'a b+c/é' })],
        }),
      );
      assert.equal(res.statusCode, 200);
      assert.equal(res.body?.totalCount, 0);
      assert.match(
        res.body?.requestId ?? '',
        /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
      );
      const [call] = (await admin.calls({ action: 'DescribeInstances' })).slice(-1);
      assert.deepEqual(call.params, {
        RegionId: 'cn-hangzhou',
        InstanceIds: '["i-1","i-2"]',
        'Tag.1.Key': 'env',
        'Tag.1.Value': 'a b+c/é',
      });
      assert.equal(call.requestId, res.body?.requestId);
    });

    it('accepts legacy RPC v1 HMAC-SHA1 (signatureAlgorithm v2) and hides its protocol parameters', async () => {
      const legacy = sdkClients(target, { signatureAlgorithm: 'v2' });
      assert.equal((await describeVpcs(legacy.vpc)).statusCode, 200);
      const [call] = (await admin.calls({ action: 'DescribeVpcs' })).slice(-1);
      assert.deepEqual(call.params, { RegionId: 'cn-hangzhou' });
    });

    it('accepts legacy v1 as GET with a query and as POST with a form body', async () => {
      for (const [method, inBody] of [
        ['GET', false],
        ['POST', true],
      ] as const) {
        const res = await send(
          target.endpoint,
          signRpcV1(target, method, { Action: 'DescribeInstances', RegionId: 'cn-hangzhou' }, inBody),
        );
        assert.equal(res.status, 200, JSON.stringify(res.json));
      }
      // A form body is read as an HTML form: `+` is a space there.
      const form = signRpcV1(target, 'POST', { Action: 'DescribeInstances', Description: 'x y' }, true);
      assert.match(form.body, /Description=x%20y/);
      form.body = form.body.replace('x%20y', 'x+y');
      assert.equal((await send(target.endpoint, form)).status, 200);
    });

    it('accepts STS tokens it was given, over ACS3 and v1, and rejects others', async () => {
      for (const signatureAlgorithm of [undefined, 'v2']) {
        const sts = sdkClients(target, { securityToken: STS_TOKEN, signatureAlgorithm });
        assert.equal((await describeInstances(sts.ecs)).statusCode, 200);
        const forged = sdkClients(target, { securityToken: 'STS.forged', signatureAlgorithm });
        await rejectsWith(describeInstances(forged.ecs), ClientError, 'InvalidSecurityToken.Malformed');
      }
    });

    it('rejects a wrong secret with SignatureDoesNotMatch and an unknown key with InvalidAccessKeyId.NotFound', async () => {
      for (const signatureAlgorithm of [undefined, 'v2']) {
        const wrong = sdkClients({ ...target, accessKeySecret: 'not-the-secret' }, { signatureAlgorithm });
        const e = await rejectsWith(describeInstances(wrong.ecs), ClientError, 'SignatureDoesNotMatch');
        assert.equal(e.statusCode, 400);
        const unknown = sdkClients({ ...target, accessKeyId: 'LOCALCLOUDAKNOBODY' }, { signatureAlgorithm });
        await rejectsWith(describeInstances(unknown.ecs), ClientError, 'InvalidAccessKeyId.NotFound');
      }
    });

    it('rejects a query or a header altered after signing', async () => {
      const query = { RegionId: 'cn-hangzhou', InstanceIds: '["i-1"]' };
      const good = signAcs3(target, 'DescribeInstances', query);
      assert.equal((await send(target.endpoint, good)).status, 200);

      const tamperedQuery = signAcs3(target, 'DescribeInstances', query);
      tamperedQuery.path = tamperedQuery.path.replace('i-1', 'i-2');
      assert.equal((await send(target.endpoint, tamperedQuery)).json.Code, 'SignatureDoesNotMatch');

      const tamperedHeader = signAcs3(target, 'DescribeInstances', query);
      tamperedHeader.headers['x-acs-action'] = 'DescribeSecurityGroups';
      assert.equal((await send(target.endpoint, tamperedHeader)).json.Code, 'SignatureDoesNotMatch');

      const unsignedHeader = signAcs3(target, 'DescribeInstances', query);
      unsignedHeader.headers['x-acs-extra'] = 'smuggled';
      assert.equal((await send(target.endpoint, unsignedHeader)).json.Code, 'IncompleteSignature');

      const legacy = signRpcV1(
        target,
        'GET',
        { Action: 'DescribeInstances', RegionId: 'cn-hangzhou' },
        false,
      );
      legacy.path = legacy.path.replace('RegionId=cn-hangzhou', 'RegionId=cn-beijing');
      assert.equal((await send(target.endpoint, legacy)).json.Code, 'SignatureDoesNotMatch');
    });

    it('rejects a body that does not match x-acs-content-sha256', async () => {
      const r = signAcs3(target, 'DescribeInstances', { RegionId: 'cn-hangzhou' });
      r.body = 'RegionId=cn-beijing';
      const res = await send(target.endpoint, r);
      assert.equal(res.json.Code, 'SignatureDoesNotMatch');
      assert.match(res.json.Message, /x-acs-content-sha256/);
    });

    it('rejects a reused nonce, an old date, and an unsigned call', async () => {
      const once = signAcs3(target, 'DescribeInstances', { RegionId: 'cn-hangzhou' });
      assert.equal((await send(target.endpoint, once)).status, 200);
      assert.equal((await send(target.endpoint, once)).json.Code, 'SignatureNonceUsed');

      const old = new Date(Date.now() - 16 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      const stale = await send(target.endpoint, signAcs3(target, 'DescribeInstances', {}, { date: old }));
      assert.equal(stale.json.Code, 'InvalidTimeStamp.Expired');

      const anonymous = await send(target.endpoint, {
        method: 'POST',
        path: '/?RegionId=cn-hangzhou',
        headers: { 'x-acs-action': 'DescribeInstances', 'x-acs-version': ECS },
        body: '',
      });
      assert.equal(anonymous.status, 400);
      assert.equal(anonymous.json.Code, 'IncompleteSignature');
    });

    it('answers a legacy v1 request without its Signature parameter with MissingParameter "Signature"', async () => {
      for (const inBody of [false, true]) {
        const legacy = signRpcV1(
          target,
          inBody ? 'POST' : 'GET',
          { Action: 'DescribeInstances', RegionId: 'cn-hangzhou' },
          inBody,
        );
        if (inBody) {
          const form = new URLSearchParams(legacy.body);
          form.delete('Signature');
          legacy.body = form.toString();
        } else {
          const [path, query] = legacy.path.split('?');
          const params = new URLSearchParams(query);
          params.delete('Signature');
          legacy.path = `${path}?${params.toString()}`;
        }
        const res = await send(target.endpoint, legacy);
        assert.equal(res.status, 400);
        assert.equal(res.json.Code, 'MissingParameter');
        assert.match(res.json.Message, /"Signature"/);
      }
    });
  });

  describe('errors', () => {
    it('answers {RequestId, HostId, Code, Message, Recommend} as JSON with the documented status', async () => {
      const raw = await send(target.endpoint, signAcs3(target, 'RebootInstance', {}));
      assert.equal(raw.status, 403);
      assert.equal(raw.headers['content-type'], 'application/json;charset=utf-8');
      assert.deepEqual(Object.keys(raw.json).sort(), ['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
      assert.equal(raw.json.Code, 'InvalidAction');
      assert.equal(raw.json.HostId, 'ecs.aliyuncs.com');
      assert.equal(
        raw.json.Recommend,
        `https://api.aliyun.com/troubleshoot?q=InvalidAction&product=Ecs&requestId=${raw.json.RequestId}`,
      );

      const e = await rejectsWith(
        vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ regionId: 'cn-hangzhou' })),
        ClientError,
        'InvalidAction',
      );
      assert.equal(e.statusCode, 403);
      assert.equal(e.data.HostId, 'vpc.aliyuncs.com');
      assert.match(e.data.Message, /DescribeVSwitches/);
      assert.equal(e.requestId, e.data.RequestId);
    });

    it('answers an unexpected exception with 500 InternalError and reports it', async () => {
      const before = internalErrors.length;
      const e = await rejectsWith(
        ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: 'cn-hangzhou' })),
        ServerError,
        'InternalError',
      );
      assert.equal(e.statusCode, 500);
      assert.equal(internalErrors.length, before + 1);
      assert.match(String(internalErrors.at(-1)), /stand-in handler bug/);
      assert.doesNotMatch(e.data.Message, /stand-in/, 'internals stay out of the response');
    });
  });

  describe('rate limits', () => {
    after(() => admin.resetRateLimits());

    it('throttles per action with Throttling.User and x-acs-retry-after, which the SDK honours', async () => {
      await admin.rateLimits({ code: 'Throttling.User' });
      await admin.rateLimit('DescribeVpcs', 2, 2);
      await describeVpcs(vpc);
      await describeVpcs(vpc);
      const e = await rejectsWith(describeVpcs(vpc), ThrottlingError, 'Throttling.User');
      assert.ok(
        e.retryAfter !== undefined && e.retryAfter > 0 && e.retryAfter <= 500,
        `retryAfter ${e.retryAfter}`,
      );
      // Other actions have their own bucket.
      assert.equal((await describeInstances(ecs)).statusCode, 200);

      // The SDK's only retry mechanism waits retryAfter, then the bucket has a token again.
      const retrying = sdkClients(target, {
        retryOptions: new $dara.RetryOptions({
          retryable: true,
          retryCondition: [
            {
              maxAttempts: 3,
              exception: ['ThrottlingError'],
              errorCode: ['Throttling.User'],
              backoff: { policy: 'Fixed', period: 1 },
            },
          ],
          noRetryCondition: [],
        }),
      });
      await admin.rateLimit('DescribeVpcs', 20, 1);
      await describeVpcs(retrying.vpc);
      assert.equal((await describeVpcs(retrying.vpc)).statusCode, 200);
      await admin.resetRateLimits();
    });

    it('lists and validates limits', async () => {
      const limits = await admin.rateLimit('*', 30, 60);
      assert.deepEqual(limits.default, { rps: 30, burst: 60 });
      await assert.rejects(admin.rateLimit('DescribeVpcs', 0, 1), /400 .*rps/);
      await assert.rejects(admin.rateLimits({ perMinute: 5 }), /400 .*action/);
      await assert.rejects(admin.rateLimits({ windowMs: 0 }), /400 .*windowMs/);
      await assert.rejects(admin.rateLimits({ code: 'TooMany' as never }), /400 .*code/);
      await assert.rejects(admin.request('POST', 'rate-limits', { action: 'X', rps: 1 }), /400 .*burst/);
      await assert.rejects(admin.request('POST', 'rate-limits', {}), /400 /);
    });

    it('counts calls per API, account and region in fixed windows: throttled in window T, callable in T+1', async () => {
      // Windows are aligned on the clock: start right after one begins, so that three calls fit in one window.
      const windowMs = 800;
      await admin.rateLimits({ action: 'DescribeVpcs', perMinute: 2, windowMs });
      await sleepMs(windowMs - (Date.now() % windowMs) + 5);
      await describeVpcs(vpc);
      await describeVpcs(vpc);
      const e = await rejectsWith(describeVpcs(vpc), ThrottlingError, 'Throttling');
      assert.equal(e.statusCode, 400, 'the documented status of Throttling');
      const untilNext = windowMs - (Date.now() % windowMs);
      assert.ok(
        e.retryAfter !== undefined && e.retryAfter > 0 && e.retryAfter <= windowMs,
        `${e.retryAfter}`,
      );
      assert.ok(
        Math.abs(e.retryAfter - untilNext) < 100,
        `retry-after ${e.retryAfter} is the time to window T+1`,
      );
      // Other APIs, and the same API in another region, have their own count (the stand-in ignores RegionId).
      assert.equal((await describeInstances(ecs)).statusCode, 200);
      assert.equal((await describeVpcs(vpc, 'cn-shanghai')).statusCode, 200);
      // Still throttled within window T, however many calls it gets...
      await rejectsWith(describeVpcs(vpc), ThrottlingError, 'Throttling');
      // ...and callable again once T+1 starts.
      await sleepMs(e.retryAfter);
      assert.equal((await describeVpcs(vpc)).statusCode, 200);
    });

    it('answers with the code chosen for the limiter, each with its status, always with x-acs-retry-after', async () => {
      await admin.rateLimits({ windowMs: 60_000 });
      const expected: Array<[ThrottlingCode, number, typeof ClientError]> = [
        ['Throttling', 400, ThrottlingError],
        ['Throttling.User', 400, ThrottlingError],
        ['Throttling.Api', 400, ThrottlingError],
        ['Rejected.Throttling', 400, ThrottlingError],
        ['ServiceUnavailable', 503, ServerError],
      ];
      for (const [code, status, errorClass] of expected) {
        // Setting the code restarts the counters: one call passes, the next is throttled.
        await admin.rateLimits({ code, action: 'DescribeInstances', perMinute: 1 });
        await describeInstances(ecs);
        const e = await rejectsWith(describeInstances(ecs), errorClass, code);
        assert.equal(e.statusCode, status);
        const raw = await send(
          target.endpoint,
          signAcs3(target, 'DescribeInstances', { RegionId: 'cn-hangzhou' }),
        );
        assert.equal(raw.status, status, code);
        assert.equal(raw.json.Code, code);
        assert.ok(Number(raw.headers['x-acs-retry-after']) > 0, `${code}: x-acs-retry-after`);
      }
      const listed = await admin.resetRateLimits();
      assert.equal(listed.code, 'Throttling');
      assert.equal(listed.windowMs, 60_000);
    });
  });

  describe('faults (admin API)', () => {
    after(() => admin.clearFaults());

    it('fails the next n calls of an action, then lets them through', async () => {
      const rule = await admin.fault({
        action: 'DescribeVpcs',
        code: 'ServiceUnavailable',
        status: 503,
        count: 2,
      });
      assert.equal(rule.remaining, 2);
      const e = await rejectsWith(describeVpcs(vpc), ServerError, 'ServiceUnavailable');
      assert.equal(e.statusCode, 503);
      assert.equal(e.data.HostId, 'vpc.aliyuncs.com');
      assert.deepEqual(
        (await admin.faults()).map((f) => [f.id, f.remaining, f.hits]),
        [[rule.id, 1, 1]],
      );
      // Another action is untouched.
      assert.equal((await describeInstances(ecs)).statusCode, 200);
      await rejectsWith(describeVpcs(vpc), ServerError, 'ServiceUnavailable');
      assert.deepEqual(await admin.faults(), []);
      assert.equal((await describeVpcs(vpc)).statusCode, 200);
    });

    it('fails a fraction of calls with rate, until DELETE clears the rules', async () => {
      await admin.fault({
        action: '*',
        code: 'InvalidOperation.Conflict',
        status: 409,
        rate: 1,
        message: 'chaos',
      });
      for (let i = 0; i < 3; i++) {
        const e = await rejectsWith(describeInstances(ecs), ClientError, 'InvalidOperation.Conflict');
        assert.equal(e.statusCode, 409);
        assert.equal(e.data.Message, 'chaos');
      }
      assert.equal((await admin.faults())[0].hits, 3);
      assert.deepEqual(await admin.clearFaults(), { cleared: 1 });
      assert.equal((await describeInstances(ecs)).statusCode, 200);

      await admin.fault({ action: 'DescribeInstances', code: 'InternalError', rate: 0 });
      for (let i = 0; i < 3; i++) assert.equal((await describeInstances(ecs)).statusCode, 200);
      await admin.clearFaults();
    });

    it('sends x-acs-retry-after with an injected throttling fault, and defaults the status from the error table', async () => {
      await admin.fault({ action: 'DescribeInstances', code: 'Throttling', count: 1, retryAfterMs: 250 });
      const e = await rejectsWith(describeInstances(ecs), ThrottlingError, 'Throttling');
      assert.equal(e.retryAfter, 250);
      assert.equal(e.statusCode, 400);
    });

    it('answers every code real clients retry with its documented status, and the product classifies each', async () => {
      // [code, HTTP status (Response results, per-API pages, peers), retryable by the product's error table]
      const documented: Array<[string, number, boolean]> = [
        ['Throttling', 400, true],
        ['Throttling.User', 400, true],
        ['Throttling.Api', 400, true],
        ['Rejected.Throttling', 400, true],
        ['ServiceUnavailable', 503, true],
        ['ServiceUnavailable.RegionMaintaining', 503, true],
        ['InternalError', 500, true],
        ['OperationConflict', 409, true],
        ['Operation.Conflict', 403, true],
        ['InvalidOperation.Conflict', 403, true],
        ['TaskConflict', 400, true],
        ['VPC_TASK_CONFLICT', 400, true],
        ['SystemBusy', 400, true],
        ['IncorrectStatus', 400, true],
        ['IncorrectStatus.NatGateway', 400, true],
        ['IncorrectVSwitchStatus', 400, true],
        ['IncorrectEipStatus', 400, true],
        ['IncorrectInstanceStatus', 400, true],
        ['InvalidBindingStatus', 400, true],
        ['LastTokenProcessing', 403, true],
        ['IdempotentProcessing', 403, true],
        ['OperationFailed.LastTokenProcessing', 400, true],
        ['IdempotentFailed', 400, true],
        ['InvalidOperation.InvalidEniState', 400, true],
        ['InvalidOperation.InvalidEcsState', 400, true],
        ['InvalidOperation.HasMemberEniAttached', 403, true],
        ['InvalidStatus.EniStatusNotSupport', 400, true],
        ['InvalidStatus.EcsStatusNotSupport', 400, true],
        ['InvalidStatus.InstanceHasBandWidth', 400, true],
        ['InvalidStatus.NotAllow', 400, true],
        ['InvalidStatus.SnatOrDnat', 400, true],
        ['InvalidIpStatus.HasBeenUsedByForwardEntry', 400, true],
        ['OperationFailed.EcsMigrating', 400, true],
        ['QuotaExceeded.PrivateIpAddress', 403, false],
        ['MaxEniCountExceeded', 403, false],
        ['MaxEIPQuotaExceeded', 403, false],
        ['InvalidOperation.Ipv4CountExceeded', 403, false],
        ['SecurityGroupInstanceLimitExceed', 403, false],
        ['Forbidden.RAM', 403, false],
        ['UnsupportedHTTPMethod', 403, false],
      ];
      for (const [code, status, retryable] of documented) {
        await admin.fault({ action: 'DescribeInstances', code, count: 1 });
        const e = await describeInstances(ecs).then(
          () => assert.fail(`${code}: the call succeeded`),
          (err: unknown) => err as { code: string; statusCode: number },
        );
        assert.deepEqual([e.code, e.statusCode], [code, status], code);
        assert.equal(classifyCode(e.code, e.statusCode).retryable, retryable, `${code}: the product's table`);
      }
    });

    it('with when "after", runs the action and loses its response', async () => {
      const runs = vpcHandlerRuns;
      await admin.fault({ action: 'DescribeVpcs', code: 'InternalError', count: 1, when: 'after' });
      await rejectsWith(describeVpcs(vpc), ServerError, 'InternalError');
      assert.equal(vpcHandlerRuns, runs + 1);
      await admin.fault({ action: 'DescribeVpcs', code: 'InternalError', count: 1 });
      await rejectsWith(describeVpcs(vpc), ServerError, 'InternalError');
      assert.equal(vpcHandlerRuns, runs + 1, 'a "before" fault has no effect');
    });

    it('answers bad admin input with 400 naming the field', async () => {
      await assert.rejects(admin.fault({ action: 'X', code: 'Y' } as never), /400 .*count/);
      await assert.rejects(admin.fault({ action: 'X', code: 'Y', count: 1, rate: 0.5 }), /400 .*exactly one/);
      await assert.rejects(admin.fault({ action: 'X', code: 'Y', count: 1, status: 200 }), /400 .*status/);
      await assert.rejects(
        admin.fault({ action: 'X', code: 'Y', count: 1, colour: 'red' } as never),
        /400 .*colour/,
      );
      await assert.rejects(admin.request('POST', 'faults', '{'), /400/);
      const raw = await fetch(`http://${target.endpoint}/_admin/faults`, {
        method: 'POST',
        body: '{not json',
      });
      assert.equal(raw.status, 400);
      assert.match(((await raw.json()) as { error: string }).error, /not valid JSON/);
      await assert.rejects(admin.request('GET', 'nope'), /404/);
      await assert.rejects(admin.request('DELETE', 'state'), /405/);
      assert.deepEqual(await admin.faults(), []);
    });
  });

  describe('latency, model controls, call log (admin API)', () => {
    it('holds back one action’s responses until cleared', async () => {
      await admin.latency('DescribeVpcs', 500);
      let t = performance.now();
      await describeVpcs(vpc);
      assert.ok(performance.now() - t >= 490, 'delayed');
      t = performance.now();
      await describeInstances(ecs);
      assert.ok(performance.now() - t < 400, 'other actions are not delayed');
      assert.deepEqual(await admin.latency('DescribeVpcs', 0), {});
      t = performance.now();
      await describeVpcs(vpc);
      assert.ok(performance.now() - t < 400, 'cleared');
    });

    it('passes behaviours and timings to the model and returns its state', async () => {
      await admin.behaviours({ describeLagMs: 500, stuckDetaches: 1 });
      assert.deepEqual(configured.at(-1), { describeLagMs: 500, stuckDetaches: 1 });
      const timings: Timings = await admin.timings({ attachMs: 42 });
      assert.equal(timings.attachMs, 42);
      assert.equal(standInModel.timings.attachMs, 42);
      assert.equal(standInModel.timings.detachMs, 1);
      await assert.rejects(admin.timings({ attachMs: -1 }), /400 .*attachMs/);
      await assert.rejects(admin.behaviours({ attachFallbacks: 1.5 }), /400 .*attachFallbacks/);
      assert.deepEqual(await admin.state(), { Vpcs: [{ VpcId: 'vpc-standin' }] });
    });

    it('logs every call with product, action, status and code; DELETE clears it', async () => {
      await admin.clearCalls();
      await describeInstances(ecs);
      await rejectsWith(
        vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({})),
        ClientError,
        'InvalidAction',
      );
      const calls = await admin.calls();
      assert.deepEqual(
        calls.map((c) => [c.product, c.action, c.status, c.code]),
        [
          ['Ecs', 'DescribeInstances', 200, undefined],
          ['Vpc', 'DescribeVSwitches', 403, 'InvalidAction'],
        ],
      );
      assert.ok(calls[0].seq < calls[1].seq && !Number.isNaN(Date.parse(calls[0].time)));
      assert.deepEqual(await admin.calls({ since: calls[0].seq }), [calls[1]]);
      assert.deepEqual(await admin.clearCalls(), { cleared: 2 });
      assert.deepEqual(await admin.calls(), []);
      assert.ok(requestLog.some((l) => / Vpc DescribeVSwitches 403 InvalidAction \d+ms /.test(l)));
      assert.ok(requestLog.every((l) => !l.includes('local-test-secret')));
    });
  });
});

describe('startLocalCloud and `eni-migrate cloud`', () => {
  it('serves the real action table with generated local credentials', async () => {
    const { cloud, ecs, vpc, admin } = await startTestCloud({ instances: 2 });
    try {
      assert.match(cloud.accessKeyId, /^LOCALCLOUDAK/);
      const res = await describeInstances(ecs);
      assert.equal(res.body?.instances?.instance?.length, 2);
      assert.equal((await describeVpcs(vpc)).statusCode, 200);
      const info = cloud.info() as {
        endpoint: string;
        instances: Array<{ instanceId: string; publicIp: string }>;
      };
      assert.equal(info.endpoint, cloud.endpoint);
      assert.deepEqual(
        info.instances.map((i) => i.instanceId).sort(),
        res.body?.instances?.instance?.map((i) => i.instanceId).sort(),
      );
      assert.ok(info.instances.every((i) => !i.publicIp.startsWith('127.')));
      assert.ok(Object.keys(await admin.state()).length > 0);
      assert.deepEqual(
        (await admin.calls()).map((c) => c.action),
        ['DescribeInstances', 'DescribeVpcs'],
      );
    } finally {
      await cloud.stop();
    }
  });

  it('prints one JSON line, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "require('./src/local-cloud/cloud-command').runCloudCommand({ instances: 1, ssh: false, fast: true })",
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          stdout += c;
          if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before its JSON line: ${stderr}`)));
      });
      const info = JSON.parse(line) as CloudTarget & { regionId: string; instances: unknown[] };
      assert.equal(info.instances.length, 1);
      const { ecs } = sdkClients(info);
      assert.equal((await describeInstances(ecs)).statusCode, 200);
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exit, 0, stderr);
      assert.equal(stdout.trim().split('\n').length, 1, 'exactly one line on stdout');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
