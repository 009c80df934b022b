/**
 * Every error the local cloud answers with, as data: code -> HTTP status and message template.
 * Raised from the model (state and rules) and serialized in exactly one place (the server), as moto does.
 * Statuses and codes follow ../shared/reference/alicloud-ecs-vpc-api.md §7 and §9; docs/local-cloud.md
 * says which are documented and which are assumed.
 */
export const ERRORS = {
  // Request and signature
  MissingParameter: { status: 400, message: 'The input parameter "{0}" that is mandatory for processing this request is not supplied.' },
  InvalidParameter: { status: 400, message: 'The specified parameter "{0}" is not valid. {1}' },
  IdempotentParameterMismatch: { status: 400, message: 'The request uses the same client token as a previous, but non-identical request.' },
  InvalidAction: { status: 403, message: 'Specified api "{0}" is not valid.' },
  'InvalidAccessKeyId.NotFound': { status: 400, message: 'Specified access key is not found.' },
  SignatureDoesNotMatch: { status: 400, message: 'Specified signature is not matched with our calculation. server string to sign is:{0}' },
  SignatureNonceUsed: { status: 400, message: 'Specified signature nonce was used already.' },
  IncompleteSignature: { status: 400, message: 'The request signature does not conform to Aliyun standards. {0}' },
  'InvalidTimeStamp.Expired': { status: 400, message: 'Specified time stamp or date value is expired.' },
  'InvalidSecurityToken.Malformed': { status: 400, message: 'Specified SecurityToken is malformed.' },
  DryRunOperation: { status: 400, message: 'Request validation has been passed with DryRun flag set.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to user flow control.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type KnownErrorCode = keyof typeof ERRORS;

/** A cloud API error: the model throws it, the server turns it into `{RequestId, HostId, Code, Message, Recommend}`. */
export class CloudError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. x-acs-retry-after for throttling. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'CloudError';
  }

  /** Builds the error for a code of the table, filling `{0}`, `{1}`... with `args`. */
  static of(code: KnownErrorCode, ...args: string[]): CloudError {
    const { status, message } = ERRORS[code];
    return new CloudError(code, status, message.replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? ''));
  }
}
