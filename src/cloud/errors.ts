import { ApplicationFailure } from '@temporalio/common';

/**
 * Alibaba Cloud error codes, classified once, as data (after terway's errors.go and the Terraform provider's retry
 * lists; ../shared/reference/peers-and-error-codes.md §b1, §b2, §b4). Activities never decide retryability
 * themselves: they throw, `toApplicationFailure` consults this table, and Temporal's retry policy does the retrying.
 */

export type ErrorKind =
  /** Try again later: throttling, server errors, conflicts with another operation. */
  | 'transient'
  /** The resource is between two states (Attaching, Associating...): try again once it settles. */
  | 'transitional'
  /** The resource does not exist. Idempotent deletes and detaches treat it as done. */
  | 'not-found'
  /** The request itself is wrong: retrying sends the same wrong request. */
  | 'invalid'
  /** A quota or limit is reached. */
  | 'quota'
  /** The caller may not do this: credentials, signature, RAM permission, account status. */
  | 'denied';

interface ErrorRule {
  /** An exact code, or a pattern for a family of codes. */
  match: string | RegExp;
  kind: ErrorKind;
  /** What a person should do about it, for messages that name the cause and the fix. */
  fix?: string;
}

const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['transient', 'transitional']);

/** First match wins: exact codes first, then families. */
const RULES: readonly ErrorRule[] = [
  // Throttling and server side
  { match: 'Throttling', kind: 'transient' },
  { match: 'Throttling.User', kind: 'transient' },
  { match: 'Throttling.Api', kind: 'transient' },
  { match: 'Rejected.Throttling', kind: 'transient' },
  { match: 'InternalError', kind: 'transient' },
  { match: 'ServiceUnavailable', kind: 'transient' },
  { match: 'ServiceUnavailable.RegionMaintaining', kind: 'transient' },
  { match: 'SystemBusy', kind: 'transient' },
  { match: 'UnknownError', kind: 'transient' },
  // Conflicts with another operation on the same resource
  { match: 'OperationConflict', kind: 'transient' },
  { match: 'Operation.Conflict', kind: 'transient' },
  { match: 'InvalidOperation.Conflict', kind: 'transient' },
  { match: 'TaskConflict', kind: 'transient' },
  { match: 'VPC_TASK_CONFLICT', kind: 'transient' },
  // A ClientToken still being processed: the same request, same token, later (docs/architecture.md, ClientTokens).
  { match: 'LastTokenProcessing', kind: 'transient' },
  { match: 'OperationFailed.LastTokenProcessing', kind: 'transient' },
  { match: 'IdempotentProcessing', kind: 'transient' },
  // The token's earlier call failed: terway draws a new token and tries again; so does the product (Execution).
  { match: 'IdempotentFailed', kind: 'transient' },
  { match: 'OperationFailed.EcsMigrating', kind: 'transient' },
  // Transitional states: the resource will settle
  { match: 'IncorrectStatus', kind: 'transitional' },
  { match: 'IncorrectEipStatus', kind: 'transitional' },
  { match: 'InvalidBindingStatus', kind: 'transitional' },
  { match: 'IncorrectInstanceStatus', kind: 'transitional' },
  { match: 'IncorrectVSwitchStatus', kind: 'transitional' },
  { match: 'InvalidOperation.InvalidEniState', kind: 'transitional' },
  { match: 'InvalidOperation.InvalidEcsState', kind: 'transitional' },
  { match: 'InvalidOperation.HasMemberEniAttached', kind: 'transitional' },
  { match: 'InvalidStatus.EniStatusNotSupport', kind: 'transitional' },
  { match: 'InvalidStatus.EcsStatusNotSupport', kind: 'transitional' },
  { match: 'IncorrectStatus.NatGateway', kind: 'transitional' },
  // Terraform retries these on (un)associating an EIP: the instance's bandwidth or a NAT entry is still going away.
  { match: 'InvalidStatus.InstanceHasBandWidth', kind: 'transitional' },
  { match: 'InvalidStatus.NotAllow', kind: 'transitional' },
  { match: 'InvalidStatus.SnatOrDnat', kind: 'transitional' },
  { match: 'InvalidIpStatus.HasBeenUsedByForwardEntry', kind: 'transitional' },
  // Credentials, signatures, permissions
  {
    match: 'InvalidAccessKeyId.NotFound',
    kind: 'denied',
    fix: 'check ALIBABA_CLOUD_ACCESS_KEY_ID (or the profile / RAM role) used by the worker',
  },
  {
    match: 'InvalidAccessKeyId.Inactive',
    kind: 'denied',
    fix: 'enable the AccessKey in the RAM console or use another one',
  },
  {
    match: 'SignatureDoesNotMatch',
    kind: 'denied',
    fix: 'check ALIBABA_CLOUD_ACCESS_KEY_SECRET: it does not belong to the AccessKey ID',
  },
  { match: 'IncompleteSignature', kind: 'denied', fix: 'check the worker credentials' },
  { match: 'SignatureNonceUsed', kind: 'transient' },
  { match: 'InvalidTimeStamp.Expired', kind: 'denied', fix: "synchronise the worker's clock (NTP)" },
  { match: 'IllegalTimestamp', kind: 'denied', fix: "synchronise the worker's clock (NTP)" },
  {
    match: 'InvalidCredentials',
    kind: 'denied',
    fix: 'give the worker credentials: ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile or a RAM role',
  },
  { match: /^InvalidSecurityToken/, kind: 'denied', fix: 'refresh the STS token given to the worker' },
  {
    match: /^Forbidden/,
    kind: 'denied',
    fix: 'grant the RAM user or role the ECS and VPC actions this migration needs (docs/operations.md, "RAM policy")',
  },
  { match: /^InvalidAccountStatus/, kind: 'denied', fix: 'settle the account (balance, overdue payments)' },
  { match: 'Account.Arrearage', kind: 'denied', fix: 'settle the overdue payment' },
  { match: 'InvalidInstance.OverduePayment', kind: 'denied', fix: 'settle the overdue payment' },
  // CreateNetworkInterface answered 200 without an id: no ENI was made, call again (the API doc). Set by ecs.ts. It
  // spends its ClientToken (tokenSpent): the cloud may remember the empty answer for that token.
  { match: 'NoNetworkInterfaceId', kind: 'transient' },
  // Alibaba's own not-found spellings on AssociateEipAddress (the API doc), before the InvalidParams family below.
  { match: 'InvalidParams.NotFound', kind: 'not-found' },
  { match: 'InvalidInstanId.NotFound', kind: 'not-found' },
  // Requests that are wrong as sent
  { match: 'IdempotentParameterMismatch', kind: 'invalid' },
  { match: /^MissingParameter/, kind: 'invalid' },
  { match: /^InvalidParameter/, kind: 'invalid' },
  { match: /^InvalidParams/, kind: 'invalid' },
  { match: 'UnsupportedParameter', kind: 'invalid' },
  { match: 'InvalidAction', kind: 'invalid' },
  { match: 'DryRunOperation', kind: 'invalid' },
  // Cloud Assistant: RunCommand's refusals, and why an invocation was not run or failed (its ErrorCode)
  {
    match: 'InvalidInstance.NotMatch',
    kind: 'invalid',
    fix: 'install the Cloud Assistant agent in the instance (ECS InstallCloudAssistant, then reboot), or set the guest up over SSH (--guest-setup ssh)',
  },
  {
    match: 'ClientNotRunning',
    kind: 'invalid',
    fix: 'start the Cloud Assistant agent in the guest (systemctl start aliyun.service), or set the guest up over SSH (--guest-setup ssh)',
  },
  { match: 'ClientNotResponse', kind: 'transient' },
  { match: 'ClientIsUpgrading', kind: 'transient' },
  { match: 'DeliveryTimeout', kind: 'transient' },
  { match: 'InstanceNotRunning', kind: 'invalid', fix: 'start the instance, then run the migration again' },
  {
    match: 'ExitCodeNonzero',
    kind: 'invalid',
    fix: "read the script's output in the report, fix the guest, then revert or migrate again",
  },
  {
    match: 'ExecutionTimeout',
    kind: 'invalid',
    fix: 'the script did not finish in time: read its output, fix the guest',
  },
  { match: 'InstanceIds.ExceedLimit', kind: 'quota' },
  {
    match: 'CmdCount.ExceedQuota',
    kind: 'quota',
    fix: 'delete unused Cloud Assistant commands in the region',
  },
  // ConvertNatPublicIpToEip's refusals of the instance's billing state (its API page): nothing was converted.
  {
    match: 'InvalidInstanceId.PlanedChange',
    kind: 'invalid',
    fix: 'the instance has a scheduled configuration change (e.g. a renewal with a new specification), which no Describe API shows: let it take effect or cancel it (ECS console: Billing), then run again',
  },
  {
    match: 'InvalidInternetChargeType.ValueNotSupported',
    kind: 'invalid',
    fix: 'a subscription instance must have its bandwidth billed by traffic: run again with --bandwidth-pay-by-traffic or --allow-charge-type-change',
  },
  {
    match: 'InvalidEndTime.OperateNotSupport',
    kind: 'invalid',
    fix: 'the subscription expires within 24 hours: renew it (ECS RenewInstance), or run again with --allow-charge-type-change',
  },
  // Quotas and limits
  {
    match: 'EniPerInstanceLimitExceeded',
    kind: 'quota',
    fix: "the instance type has no free ENI slot: detach an unused ENI or change the instance's type",
  },
  {
    match: 'MaxEniCountExceeded',
    kind: 'quota',
    fix: "the account's ENI quota in this region is used up: release unused ENIs, or raise the quota (ECS console, Quota Center), then run the migration again",
  },
  {
    match: 'InvalidOperation.Ipv4CountExceeded',
    kind: 'quota',
    fix: 'the ENI has more private IPv4 addresses than the instance type allows per ENI: use an ENI with fewer secondary private IPs or a larger instance type',
  },
  { match: 'InvalidVSwitchId.IpNotEnough', kind: 'quota', fix: 'choose a vSwitch with free addresses' },
  {
    match: 'MaxEIPQuotaExceeded',
    kind: 'quota',
    fix: "release unused EIPs, or raise the account's EIP quota (Quota Center) and set ENI_MIGRATE_EIP_QUOTA on the worker to the new quota (preflight checks conversions against it)",
  },
  { match: /^QuotaExceed/, kind: 'quota' },
  { match: /LimitExceed/, kind: 'quota' },
  // Not found
  { match: /NotFound$/i, kind: 'not-found' },
  { match: /\.NotExist$/, kind: 'not-found' },
  // Families the providers keep adding one code at a time (peers §d item 5): conflicts and in-between states retry.
  { match: /Conflict/, kind: 'transient' },
  { match: /Throttling/, kind: 'transient' },
  { match: /^Incorrect.*Status/, kind: 'transitional' },
];

/** An error answered by an Alibaba Cloud API (or the transport on the way to it), with the fields that matter. */
export class CloudApiError extends Error {
  constructor(
    /** Alibaba's error code, or a transport code such as `ECONNREFUSED` / `RequestTimeout`. */
    readonly code: string,
    message: string,
    readonly action: string,
    readonly statusCode?: number,
    readonly requestId?: string,
    /** From the `x-acs-retry-after` header of a throttling answer, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'CloudApiError';
  }
}

export interface Classification {
  kind: ErrorKind;
  retryable: boolean;
  fix?: string;
}

/** Classifies a code; an unknown code is judged by its HTTP status (5xx retry, 4xx do not). */
export function classifyCode(code: string, statusCode?: number): Classification {
  const rule = RULES.find((r) => (typeof r.match === 'string' ? r.match === code : r.match.test(code)));
  if (rule) return { kind: rule.kind, retryable: RETRYABLE_KINDS.has(rule.kind), fix: rule.fix };
  if (statusCode === undefined || statusCode >= 500) return { kind: 'transient', retryable: true };
  return { kind: 'invalid', retryable: false };
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CloudApiError && classifyCode(err.code, err.statusCode).kind === 'not-found';
}

/** The cloud throttled the call (Throttling, Throttling.User, Rejected.Throttling, …, or it asked to retry after). */
export function isThrottling(err: CloudApiError): boolean {
  return /Throttling/.test(err.code) || err.retryAfterMs !== undefined;
}

/** The cloud has the request but has not finished it: its outcome is not known yet, and its ClientToken stays. */
const TOKEN_IN_PROGRESS = new Set([
  'LastTokenProcessing',
  'OperationFailed.LastTokenProcessing',
  'IdempotentProcessing',
]);

/**
 * The cloud answered the request with a failure, so its ClientToken is spent: a retry with the same token gets the same
 * failure again (ECS "How to ensure idempotence": a retry that got a 4xx fails), or `IdempotentFailed` (terway then
 * draws a new token). A retry needs a new token. Not spent when the outcome is unknown (no answer, a timeout, a reset,
 * a 5xx, the token still processing) nor when the call was throttled (never processed): the retry sends the same token,
 * so that a request that did take effect is not made twice. A token used with other parameters
 * (IdempotentParameterMismatch) is not spent either: its first request may have taken effect, and a new token could
 * make the resource twice. `NoNetworkInterfaceId` (a 200 without an ENI: none was made, call again) spends it too: the
 * cloud may answer a repeat of the token with the same empty answer.
 *
 * A failure answered to a repeat does not prove that the token's first request made nothing, when that request's
 * answer was lost: see Execution.withClientToken, which records such tokens.
 */
export function tokenSpent(err: CloudApiError): boolean {
  if (err.code === 'IdempotentFailed' || err.code === 'NoNetworkInterfaceId') return true;
  if (err.statusCode === undefined || err.statusCode < 400 || err.statusCode >= 500) return false;
  return !isThrottling(err) && !TOKEN_IN_PROGRESS.has(err.code) && err.code !== 'IdempotentParameterMismatch';
}

/** Transport failures: the request may or may not have reached the cloud. Always worth another attempt. */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * Turns whatever an SDK call threw into a CloudApiError. SDK errors (ClientError, ServerError, ThrottlingError) carry
 * `code`, `statusCode`, `requestId` and, for throttling, `retryAfter` in ms; transport errors carry a Node code.
 */
export function fromSdkError(action: string, err: unknown): CloudApiError {
  if (err instanceof CloudApiError) return err;
  const e = (err ?? {}) as {
    name?: string;
    code?: unknown;
    statusCode?: unknown;
    requestId?: unknown;
    retryAfter?: unknown;
    message?: string;
    data?: { Message?: unknown };
  };
  const message = String(e.message ?? err);
  if (e.name === 'RequestTimeoutError')
    return new CloudApiError('RequestTimeout', `${action}: ${message}`, action);
  if (typeof e.code === 'string' && TRANSPORT_CODES.has(e.code)) {
    return new CloudApiError(e.code, `${action}: ${message}`, action);
  }
  if (e.name === 'SyntaxError') {
    // A proxy or load balancer answered with a non-JSON page (a 502 HTML body, for instance).
    return new CloudApiError('BadResponse', `${action}: the endpoint answered with a non-JSON body`, action);
  }
  if (/unable to get credentials/i.test(message)) {
    return new CloudApiError(
      'InvalidCredentials',
      `${action}: no credentials: ${firstLine(message)}`,
      action,
    );
  }
  if (typeof e.code === 'string' && e.code !== '') {
    const statusCode = typeof e.statusCode === 'number' ? e.statusCode : undefined;
    const requestId =
      typeof e.requestId === 'string' && e.requestId !== 'undefined' ? e.requestId : undefined;
    const retryAfterMs = typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter : undefined;
    const serverMessage = (typeof e.data?.Message === 'string' ? e.data.Message : firstLine(message)).replace(
      /\s+/g,
      ' ',
    );
    return new CloudApiError(
      e.code,
      `${action} failed: ${e.code}: ${serverMessage}`,
      action,
      statusCode,
      requestId,
      retryAfterMs,
    );
  }
  return new CloudApiError('UnknownError', `${action}: ${firstLine(message)}`, action);
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 500);
}

/**
 * The failure an activity throws for a cloud error: `type` is the Alibaba code, retryability comes from the table,
 * the request id travels in `details` (for a support ticket), throttling waits as long as the cloud asked.
 */
export function toApplicationFailure(err: CloudApiError): ApplicationFailure {
  const c = classifyCode(err.code, err.statusCode);
  const message = c.fix && !c.retryable ? `${err.message} (fix: ${c.fix})` : err.message;
  return ApplicationFailure.create({
    message,
    type: err.code,
    nonRetryable: !c.retryable,
    details: [
      {
        action: err.action,
        code: err.code,
        kind: c.kind,
        ...(c.fix ? { fix: c.fix } : {}),
        statusCode: err.statusCode,
        requestId: err.requestId,
      },
    ],
    nextRetryDelay: err.retryAfterMs,
  });
}
