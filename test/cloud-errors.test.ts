import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
// The mock alone, not @temporalio/testing's index (which loads the test server's client too).
import { MockActivityEnvironment } from '@temporalio/testing/lib/mocking-activity-environment';
import { callApi } from '../src/cloud/call';
import { parseEndpoint } from '../src/cloud/clients';
import {
  attemptTimeLeftMs,
  MIN_RESEND_MS,
  recordAttemptStart,
  throttleWaitMs,
  waitBeforeResend,
} from '../src/cloud/throttle-wait';
import {
  classifyCode,
  CloudApiError,
  fromSdkError,
  isNotFound,
  tokenSpent,
  toApplicationFailure,
} from '../src/cloud/errors';

describe('cloud error table', () => {
  const retryable = [
    'Throttling',
    'Throttling.User',
    'Throttling.Api',
    'InternalError',
    'ServiceUnavailable',
    'OperationConflict',
    'Operation.Conflict',
    'TaskConflict',
    'SystemBusy',
    'LastTokenProcessing',
    'IncorrectEipStatus',
    'InvalidBindingStatus',
    'IncorrectInstanceStatus',
    'InvalidOperation.InvalidEniState',
    'InvalidOperation.InvalidEcsState',
    // Families that providers keep adding one code at a time
    'OperationFailed.NetworkAclAttachmentInMiddleStatusConflict',
    'IncorrectHaVipStatus',
    // The ENI or instance is between two states (EIP APIs), and a create answered without an id
    'InvalidStatus.EniStatusNotSupport',
    'InvalidStatus.EcsStatusNotSupport',
    'InvalidOperation.Conflict',
    'IncorrectStatus',
    'NoNetworkInterfaceId',
  ];
  const final = [
    'InvalidEniId.NotFound',
    'InvalidInstanceId.NotFound',
    'InvalidAllocationId.NotFound',
    'InvalidParameter',
    'InvalidParameter.Mismatch',
    'MissingParameter',
    'IdempotentParameterMismatch',
    'EniPerInstanceLimitExceeded',
    'QuotaExceed.Tags',
    'Forbidden.RAM',
    'InvalidAccessKeyId.NotFound',
    'SignatureDoesNotMatch',
    'InvalidOperation.AvailabilityZoneMismatch',
    'MaxEniCountExceeded',
    'InvalidOperation.Ipv4CountExceeded',
    'InvalidInstanId.NotFound',
    'InvalidParams.NotFound',
  ];

  for (const code of retryable) {
    it(`retries ${code}`, () => assert.equal(classifyCode(code, 400).retryable, true));
  }
  for (const code of final) {
    it(`does not retry ${code}`, () => assert.equal(classifyCode(code, 400).retryable, false));
  }

  it('judges an unknown code by its HTTP status', () => {
    assert.equal(classifyCode('Brand.NewCode', 503).retryable, true);
    assert.equal(classifyCode('Brand.NewCode', 400).retryable, false);
  });

  it("classifies Alibaba's own not-found spellings as not-found, and the ENI quotas as quotas with a fix", () => {
    assert.equal(classifyCode('InvalidInstanId.NotFound', 404).kind, 'not-found');
    assert.equal(classifyCode('InvalidParams.NotFound', 400).kind, 'not-found');
    for (const code of ['MaxEniCountExceeded', 'InvalidOperation.Ipv4CountExceeded']) {
      const c = classifyCode(code, 403);
      assert.equal(c.kind, 'quota');
      assert.ok(c.fix, `${code} names its fix`);
    }
  });

  it('matches each code once: the ENI IPv4 quota has one rule and fix; the EIP quota names ENI_MIGRATE_EIP_QUOTA', () => {
    const rules = readFileSync(join(__dirname, '../src/cloud/errors.ts'), 'utf8');
    assert.equal(rules.match(/match: 'InvalidOperation\.Ipv4CountExceeded'/g)?.length, 1);
    assert.match(
      classifyCode('InvalidOperation.Ipv4CountExceeded', 400).fix ?? '',
      /fewer secondary private IPs/,
    );
    const eip = classifyCode('MaxEIPQuotaExceeded', 403);
    assert.equal(eip.kind, 'quota');
    assert.match(eip.fix ?? '', /ENI_MIGRATE_EIP_QUOTA/);
    assert.match(eip.fix ?? '', /raise/);
  });

  it('tells NotFound apart for idempotent deletes', () => {
    assert.equal(
      isNotFound(new CloudApiError('InvalidEniId.NotFound', 'x', 'DeleteNetworkInterface', 404)),
      true,
    );
    assert.equal(
      isNotFound(new CloudApiError('InvalidOperation.InvalidEniState', 'x', 'DeleteNetworkInterface', 400)),
      false,
    );
  });
});

describe('SDK errors become Temporal failures', () => {
  it('throttling keeps the cloud-requested delay and is retryable', () => {
    const sdk = new ThrottlingError({
      code: 'Throttling.User',
      statusCode: 400,
      requestId: 'REQ-1',
      retryAfter: 1500,
      message: 'Throttling.User: code: 400, Request was denied due to user flow control. request id: REQ-1',
      data: { Message: 'Request was denied due to user flow control.' },
    });
    const f = toApplicationFailure(fromSdkError('DescribeInstances', sdk));
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'Throttling.User');
    assert.equal(f.nonRetryable, false);
    assert.equal(f.nextRetryDelay, 1500);
    assert.deepEqual(f.details?.[0], {
      action: 'DescribeInstances',
      code: 'Throttling.User',
      kind: 'transient',
      statusCode: 400,
      requestId: 'REQ-1',
    });
  });

  it('a permission error is final and its message says how to fix it', () => {
    const sdk = new ClientError({
      code: 'SignatureDoesNotMatch',
      statusCode: 400,
      requestId: 'REQ-2',
      data: { Message: 'Specified signature is not matched with our calculation.' },
    });
    const f = toApplicationFailure(fromSdkError('DescribeInstances', sdk));
    assert.equal(f.type, 'SignatureDoesNotMatch');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /DescribeInstances failed: SignatureDoesNotMatch/);
    assert.match(f.message, /fix: check ALIBABA_CLOUD_ACCESS_KEY_SECRET/);
  });

  it('a server error is retryable', () => {
    const f = toApplicationFailure(
      fromSdkError(
        'AttachNetworkInterface',
        new ServerError({ code: 'InternalError', statusCode: 500, requestId: 'R' }),
      ),
    );
    assert.equal(f.nonRetryable, false);
    assert.equal(f.type, 'InternalError');
  });

  it('transport failures are retryable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(toApplicationFailure(fromSdkError('DescribeInstances', refused)).nonRetryable, false);
    const timeout = Object.assign(new Error('ReadTimeout: ...'), { name: 'RequestTimeoutError' });
    const f = toApplicationFailure(fromSdkError('DescribeInstances', timeout));
    assert.equal(f.type, 'RequestTimeout');
    assert.equal(f.nonRetryable, false);
    const html = new SyntaxError("Unexpected token '<'");
    assert.equal(toApplicationFailure(fromSdkError('DescribeInstances', html)).nonRetryable, false);
  });

  it('missing credentials are final', () => {
    const f = toApplicationFailure(
      fromSdkError(
        'DescribeInstances',
        new Error('unable to get credentials from any of the providers in the chain: ...'),
      ),
    );
    assert.equal(f.type, 'InvalidCredentials');
    assert.equal(f.nonRetryable, true);
  });
});

describe('endpoints', () => {
  it('splits a URL into the host[:port] and the protocol the SDK wants', () => {
    assert.deepEqual(parseEndpoint('http://127.0.0.1:1234'), {
      endpoint: '127.0.0.1:1234',
      protocol: 'http',
    });
    assert.deepEqual(parseEndpoint('https://ecs.cn-hangzhou.aliyuncs.com'), {
      endpoint: 'ecs.cn-hangzhou.aliyuncs.com',
      protocol: 'https',
    });
  });
  it('takes a bare host:port as HTTPS, except on loopback', () => {
    assert.deepEqual(parseEndpoint('127.0.0.1:1234'), { endpoint: '127.0.0.1:1234', protocol: 'http' });
    assert.deepEqual(parseEndpoint('localhost:8080'), { endpoint: 'localhost:8080', protocol: 'http' });
    assert.deepEqual(parseEndpoint('ecs-vpc.cn-hangzhou.aliyuncs.com'), {
      endpoint: 'ecs-vpc.cn-hangzhou.aliyuncs.com',
      protocol: 'https',
    });
  });
  it('leaves an unset endpoint to the SDK (the regional one)', () => {
    assert.deepEqual(parseEndpoint(undefined), {});
  });
});

describe('ClientTokens and throttled waits', () => {
  const answered = (code: string, statusCode?: number, retryAfterMs?: number) =>
    new CloudApiError(code, `${code}`, 'CreateNetworkInterface', statusCode, undefined, retryAfterMs);

  it('a failure the cloud answered spends the token; an unknown outcome, throttling or a token in progress does not', () => {
    for (const [code, status] of [
      ['OperationConflict', 409],
      ['Operation.Conflict', 403],
      ['IncorrectEipStatus', 400],
      ['InvalidVSwitchId.IpNotEnough', 403],
      ['IdempotentFailed', 400],
      // A 200 without an ENI id: none was made, and the cloud may give a repeat of the token the same empty answer.
      ['NoNetworkInterfaceId', 200],
    ] as const)
      assert.equal(tokenSpent(answered(code, status)), true, code);
    for (const [code, status] of [
      ['InternalError', 500],
      ['ServiceUnavailable', 503],
      ['Throttling', 400],
      ['Throttling.User', 400],
      ['LastTokenProcessing', 403],
      ['IdempotentProcessing', 403],
      ['IdempotentParameterMismatch', 400],
      ['ECONNRESET', undefined],
      ['RequestTimeout', undefined],
    ] as const)
      assert.equal(tokenSpent(answered(code, status)), false, code);
  });

  it('a throttled call waits the retry-after, else until the next minute, and only when the wait fits in the attempt', () => {
    const jitterless = () => 0;
    assert.equal(throttleWaitMs(answered('Throttling', 400, 1500), 0, jitterless), 1500);
    assert.equal(
      throttleWaitMs(answered('Throttling', 400, 1500), 0, () => 1),
      1650,
      'at most 10% later',
    );
    assert.equal(throttleWaitMs(answered('Throttling', 400), 125_000, jitterless), 55_000, 'the next minute');
    const now = Date.now();
    const info = (startToCloseMs: number, startedMsAgo: number) =>
      ({
        startToCloseTimeoutMs: startToCloseMs,
        currentAttemptScheduledTimestampMs: now - startedMsAgo,
        scheduleToCloseTimeoutMs: 0,
        scheduledTimestampMs: now - startedMsAgo,
      }) as Context['info'];
    assert.equal(attemptTimeLeftMs(info(180_000, 60_000), now), 120_000);
    const activity = (i: Context['info']) => ({ info: i }) as Context;
    assert.ok(waitBeforeResend(answered('Throttling', 400, 2000), activity(info(180_000, 0))) !== undefined);
    assert.equal(
      waitBeforeResend(answered('Throttling', 400, 60_000), activity(info(45_000, 0))),
      undefined,
      'a wait that outlasts the attempt fails it instead',
    );
    assert.equal(waitBeforeResend(answered('OperationConflict', 409), activity(info(180_000, 0))), undefined);
    assert.equal(
      waitBeforeResend(answered('Throttling', 400, 2000), undefined),
      undefined,
      'outside an activity',
    );
  });
  it('a throttled call never goes again sooner than the floor, however short the retry-after (a token bucket)', () => {
    for (const r of [0, 0.5, 1]) {
      const ms = throttleWaitMs(answered('Throttling', 400, 3), 0, () => r);
      assert.ok(ms >= MIN_RESEND_MS && ms <= MIN_RESEND_MS * 1.5, `${ms} ms`);
    }
    assert.ok(MIN_RESEND_MS >= 200 && MIN_RESEND_MS <= 1000);
  });

  it('the time left in an attempt runs from its start, not from when it was scheduled', () => {
    const now = Date.now();
    const info = {
      startToCloseTimeoutMs: 180_000,
      // Scheduled 10 minutes ago on a paced queue with a backlog; started 1 minute ago.
      currentAttemptScheduledTimestampMs: now - 600_000,
      scheduleToCloseTimeoutMs: 0,
      scheduledTimestampMs: now - 600_000,
    } as Context['info'];
    assert.equal(attemptTimeLeftMs(info, now, now - 60_000), 120_000);
    assert.ok(
      attemptTimeLeftMs(info, now) < 0,
      'without its start: from the schedule (never more than is left)',
    );
    const activity = { info } as Context;
    assert.equal(waitBeforeResend(answered('Throttling', 400, 2000), activity), undefined);
    recordAttemptStart(activity, now - 60_000);
    assert.ok(waitBeforeResend(answered('Throttling', 400, 2000), activity) !== undefined);
  });

  it('a call throttled again and again waits each time, and says so once at info', async () => {
    const lines: Array<[string, string]> = [];
    const logger = {
      log: (level: string, message: string) => lines.push([level, message]),
      trace: (m: string) => lines.push(['TRACE', m]),
      debug: (m: string) => lines.push(['DEBUG', m]),
      info: (m: string) => lines.push(['INFO', m]),
      warn: (m: string) => lines.push(['WARN', m]),
      error: (m: string) => lines.push(['ERROR', m]),
    };
    const env = new MockActivityEnvironment(
      {
        startToCloseTimeoutMs: 60_000,
        scheduleToCloseTimeoutMs: 0,
        // Scheduled long before it started (a backlog): the time left counts from its start.
        currentAttemptScheduledTimestampMs: Date.now() - 3_600_000,
        scheduledTimestampMs: Date.now() - 3_600_000,
      },
      { logger },
    );
    let sent = 0;
    const started = Date.now();
    const result = await env.run(async () => {
      recordAttemptStart(Context.current());
      return callApi('DescribeInstances', async () => {
        sent += 1;
        if (sent <= 3) throw new CloudApiError('Throttling', 'throttled', 'DescribeInstances', 400, 'R', 2);
        return 'ok';
      });
    });
    assert.equal(result, 'ok');
    assert.equal(sent, 4);
    assert.ok(Date.now() - started >= 3 * MIN_RESEND_MS - 5, 'three waits of at least the floor');
    const throttledAtInfo = lines.filter(([level, m]) => level === 'INFO' && m === 'cloud call throttled');
    assert.equal(throttledAtInfo.length, 1);
  });
});
