/**
 * Every error the local cloud answers with, as data: code -> HTTP status and message template.
 * Raised from the model (state and rules) and serialized in exactly one place (the server), as moto does.
 * Statuses and codes follow ../shared/reference/alicloud-ecs-vpc-api.md §7 and §9; docs/local-cloud.md
 * says which are documented and which are assumed.
 */
export const ERRORS = {
  // Request and signature
  MissingParameter: {
    status: 400,
    message: 'The input parameter "{0}" that is mandatory for processing this request is not supplied.',
  },
  InvalidParameter: { status: 400, message: 'The specified parameter "{0}" is not valid. {1}' },
  IdempotentParameterMismatch: {
    status: 400,
    message: 'The request uses the same client token as a previous, but non-identical request.',
  },
  InvalidAction: { status: 403, message: 'Specified api "{0}" is not valid.' },
  'InvalidAccessKeyId.NotFound': { status: 400, message: 'Specified access key is not found.' },
  SignatureDoesNotMatch: {
    status: 400,
    message: 'Specified signature is not matched with our calculation. server string to sign is:{0}',
  },
  SignatureNonceUsed: { status: 400, message: 'Specified signature nonce was used already.' },
  IncompleteSignature: {
    status: 400,
    message: 'The request signature does not conform to Aliyun standards. {0}',
  },
  'InvalidTimeStamp.Expired': { status: 400, message: 'Specified time stamp or date value is expired.' },
  'InvalidSecurityToken.Malformed': { status: 400, message: 'Specified SecurityToken is malformed.' },
  'InvalidSecurityToken.MismatchWithAccessKey': {
    status: 400,
    message: 'Specified SecurityToken mismatch with the AccessKey.',
  },
  DryRunOperation: { status: 400, message: 'Request validation has been passed with DryRun flag set.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to user flow control.' },
  // Wire level (src/local-cloud/wire): routing, timestamps, and the codes fault rules most often inject.
  IllegalTimestamp: {
    status: 400,
    message:
      'The input parameter "{0}" with value "{1}" is not a UTC time in the format yyyy-MM-ddTHH:mm:ssZ.',
  },
  InvalidVersion: { status: 400, message: 'Specified parameter Version "{0}" is not valid.' },
  UnsupportedHTTPMethod: {
    status: 403,
    message: 'This HTTP method "{0}" is not supported; use GET or POST.',
  },
  Throttling: { status: 400, message: 'Request was denied due to request throttling.' },
  InternalError: { status: 500, message: 'The request processing has failed due to some unknown error.' },
  ServiceUnavailable: {
    status: 503,
    message: 'The request has failed due to a temporary failure of the server.',
  },
  'Throttling.Api': { status: 400, message: 'Request was denied due to API flow control.' },
  'Rejected.Throttling': { status: 400, message: 'Request was denied due to request throttling.' },
  // ClientToken (model/client-tokens.ts): a token still being processed, or one whose call failed.
  LastTokenProcessing: { status: 403, message: 'The last token request is processing.' },
  IdempotentProcessing: { status: 403, message: 'The previous idempotent request(s) is still processing.' },
  IdempotentFailed: {
    status: 400,
    message: 'The request with this client token failed before; use a new client token.',
  },
  // Codes real clients retry (docs/local-cloud.md "Codes real clients see"; the audit's list): the model raises few of
  // them itself, fault rules inject them with these statuses (Response results, per-API pages, terway, Terraform).
  'Operation.Conflict': { status: 403, message: 'The operation is conflict, ecs task is conflicted.' },
  'InvalidOperation.Conflict': { status: 403, message: 'The operation conflicts with another operation.' },
  VPC_TASK_CONFLICT: { status: 400, message: 'Another task is running in the VPC.' },
  SystemBusy: { status: 400, message: 'The system is busy. Please try again later.' },
  IncorrectStatus: {
    status: 400,
    message: 'The resource is in a status that does not allow this operation.',
  },
  'IncorrectStatus.NatGateway': { status: 400, message: 'The NAT gateway is in a transitional status.' },
  IncorrectVSwitchStatus: {
    status: 400,
    message: 'The vSwitch is in a status that does not allow this operation.',
  },
  'InvalidOperation.HasMemberEniAttached': {
    status: 403,
    message: 'The trunk network interface still has member network interfaces attached.',
  },
  'InvalidStatus.InstanceHasBandWidth': {
    status: 400,
    message: 'The instance still has public bandwidth; the operation is not supported.',
  },
  'InvalidStatus.NotAllow': { status: 400, message: 'The operation is not allowed in the current status.' },
  'InvalidStatus.SnatOrDnat': { status: 400, message: 'The EIP is used by an SNAT or DNAT entry.' },
  'InvalidIpStatus.HasBeenUsedByForwardEntry': {
    status: 400,
    message: 'The EIP is used by a DNAT (forward) entry.',
  },
  'OperationFailed.EcsMigrating': { status: 400, message: 'The ECS instance is being migrated.' },
  'OperationFailed.LastTokenProcessing': { status: 400, message: 'The last token request is processing.' },
  'ServiceUnavailable.RegionMaintaining': {
    status: 503,
    message: 'The region is under maintenance. Please try again later.',
  },
  'QuotaExceeded.PrivateIpAddress': {
    status: 403,
    message: 'The number of private IP addresses exceeds the quota.',
  },
  SecurityGroupInstanceLimitExceed: {
    status: 403,
    message: 'The security group has reached its limit of instances.',
  },
  'Forbidden.RAM': { status: 403, message: 'User not authorized to operate on the specified resource.' },
  // Model and actions (src/local-cloud/model, src/local-cloud/api). Statuses per the reference note §7/§9;
  // docs/local-cloud.md marks which code/status pairs are documented and which are assumed.
  'InvalidRegionId.NotFound': { status: 404, message: 'The specified RegionId "{0}" does not exist.' },
  'InvalidInstanceId.NotFound': { status: 404, message: 'The specified InstanceId "{0}" does not exist.' },
  // Cloud Assistant (RunCommand's documented codes)
  'InvalidInstance.NotFound': { status: 404, message: 'The specified instance "{0}" does not exist.' },
  'InvalidInstance.NotMatch': {
    status: 403,
    message:
      'The specified instance "{0}" does not match the command: the Cloud Assistant agent is not installed.',
  },
  'InvalidCmdType.NotFound': { status: 403, message: 'The specified command type "{0}" does not exist.' },
  'InstanceIds.ExceedLimit': { status: 403, message: 'The number of instance IDs exceeds the upper limit.' },
  'InvalidEcsId.NotFound': { status: 404, message: 'The specified ECS instance "{0}" does not exist.' },
  'InvalidEniId.NotFound': { status: 404, message: 'The specified EniId "{0}" is not found.' },
  'InvalidVSwitchId.NotFound': { status: 404, message: 'The specified VSwitchId "{0}" does not exist.' },
  'InvalidSecurityGroupId.NotFound': {
    status: 404,
    message: 'The specified SecurityGroupId "{0}" does not exist.',
  },
  'InvalidAllocationId.NotFound': { status: 404, message: 'Specified allocation ID "{0}" is not found.' },
  'InvalidStatus.NotFound': { status: 404, message: 'The specified Status "{0}" is not valid.' },
  'InvalidInstanceChargeType.NotFound': {
    status: 404,
    message: 'The specified InstanceChargeType "{0}" is not valid.',
  },
  'InvalidParameter.Conflict': {
    status: 400,
    message: 'The specified parameters "{0}" conflict with each other.',
  },
  'InvalidOperation.InvalidEniState': {
    status: 400,
    message:
      'The operation is not allowed in the current ENI state. Expecting status is "{0}" while current status is "{1}".',
  },
  'InvalidOperation.InvalidEcsState': {
    status: 400,
    message:
      'The operation is not allowed in the current ECS instance state. Expecting status is "{0}" while current status is "{1}".',
  },
  'InvalidOperation.DetachPrimaryEniNotAllowed': {
    status: 400,
    message: 'The primary network interface "{0}" cannot be detached.',
  },
  'InvalidOperation.InvalidEniType': {
    status: 403,
    message: 'The operation is not allowed on the network interface "{0}" of type "{1}".',
  },
  'InvalidOperation.AvailabilityZoneMismatch': {
    status: 403,
    message: 'The network interface is in zone "{0}" while the instance is in zone "{1}".',
  },
  'InvalidOperation.VpcMismatch': { status: 403, message: 'The {0} does not belong to the VPC "{1}".' },
  EniPerInstanceLimitExceeded: {
    status: 403,
    message: 'The instance type "{0}" supports at most {1} network interfaces, the primary one included.',
  },
  'InvalidVSwitchId.IpInvalid': {
    status: 403,
    message: 'The IP address "{0}" is not a usable address of the vSwitch "{1}" ({2}).',
  },
  'InvalidVSwitchId.IpNotEnough': { status: 403, message: 'The vSwitch "{0}" has no free IP address left.' },
  'InvalidPrivateIpAddress.Duplicated': {
    status: 400,
    message: 'The private IP address "{0}" is already in use.',
  },
  IncorrectEipStatus: {
    status: 400,
    message: 'The EIP "{0}" is in status "{1}"; the operation is not allowed now.',
  },
  IncorrectInstanceStatus: {
    status: 400,
    message: 'The instance "{0}" is in status "{1}"; it must be Running or Stopped.',
  },
  'InvalidAssociation.Duplicated': { status: 400, message: 'The association already exists: {0}.' },
  InvalidBindingStatus: {
    status: 400,
    message: 'The EIP "{0}" is associated with {1}, not with the specified instance.',
  },
  'InvalidInstanceType.ValueNotSupported': {
    status: 400,
    message: 'The InstanceType "{0}" is not supported.',
  },
  'InvalidStatus.EniStatusNotSupport': {
    status: 400,
    message: 'The network interface "{0}" in status "{1}" does not support this operation.',
  },
  'InvalidIpStatus.HasBeenUsedBySnatTable': {
    status: 400,
    message: 'The EIP "{0}" is used by an SNAT entry.',
  },
  OperationDenied: { status: 403, message: 'The operation is denied. {0}' },
  'InvalidInternetChargeType.ValueNotSupported': {
    status: 403,
    message:
      'The internet charge type "{0}" of the subscription instance does not support this operation; it must be PayByTraffic.',
  },
  // Convert's documented refusals (API page error table): a scheduled change waiting, no EIP quota left.
  'InvalidInstanceId.PlanedChange': {
    status: 403,
    message: 'The instance "{0}" has a scheduled configuration change; the operation is not supported.',
  },
  'InvalidRouteTableId.NotFound': {
    status: 404,
    message: 'The specified RouteTableId "{0}" does not exist.',
  },
  MaxEIPQuotaExceeded: { status: 403, message: 'The number of EIP exceeds the limit per region.' },
  'InvalidNetworkChargeType.ValueNotSupported': {
    status: 400,
    message: 'The specified NetworkChargeType "{0}" is not valid: PayByTraffic or PayByBandwidth.',
  },
  'InvalidEndTime.OperateNotSupport': {
    status: 403,
    message: 'The subscription instance expires within 24 hours; the operation is not supported.',
  },
  'InvalidParameter.InstanceIds': {
    status: 400,
    message: 'The specified parameter "InstanceIds" is not valid.',
  },
  InstancesIdQuotaExceed: {
    status: 400,
    message: 'The number of instance IDs exceeds the upper limit of 20.',
  },
  'InvalidStatus.ValueNotSupported': {
    status: 400,
    message: 'The instance "{0}" in status "{1}" does not support this operation.',
  },
  'InvalidInstanceChargeType.ValueNotSupported': {
    status: 400,
    message: 'The InstanceChargeType "{0}" is not supported for this operation.',
  },
  ReleaseTimeHaveBeenSet: { status: 400, message: 'The instance "{0}" has an automatic release time set.' },
  InvalidPeriod: { status: 400, message: 'The specified Period "{0}" is not valid. {1}' },
  // The real cloud's rules (issue 8): quotas, conflicts between concurrent operations, Alibaba's not-found spellings.
  MaxEniCountExceeded: {
    status: 403,
    message: 'The number of network interfaces in the region has reached the quota ({0}).',
  },
  'InvalidOperation.Ipv4CountExceeded': {
    status: 403,
    message:
      'The network interface "{0}" has {1} private IPv4 addresses; the instance type "{2}" allows {3} per network interface.',
  },
  OperationConflict: {
    status: 409,
    message: 'The operation against this instance is too frequent, please try again later: {0}.',
  },
  TaskConflict: {
    status: 400,
    message: 'The resource "{0}" has a task in progress (EIP "{1}" is {2}); try again later.',
  },
  'InvalidStatus.EcsStatusNotSupport': {
    status: 400,
    message: 'The ECS instance "{0}" in status "{1}" does not support this operation.',
  },
  'InvalidInstanId.NotFound': { status: 404, message: 'The specified instance "{0}" does not exist.' },
  'InvalidParams.NotFound': { status: 400, message: 'The specified {0} "{1}" is not found.' },
  'InvalidPeriod.UnitMismatch': { status: 400, message: 'The specified PeriodUnit "{0}" is not valid.' },
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
    return new CloudError(
      code,
      status,
      message.replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? ''),
    );
  }
}
