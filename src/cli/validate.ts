/**
 * Flag parsers: each rejects a malformed value before anything talks to Temporal or the cloud, with a message
 * that says what a good value looks like. Commander prints "option '--instance <id>' argument 'x' is invalid. …".
 */
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { GUEST_SCRIPT_NAME, GUEST_SCRIPT_NAME_HELP } from '../guest-scripts/script';
import { REVERT_STEP_ORDER, STEP_ORDER, type Outcome, type StepName } from '../shared/migration';

/** Alibaba resource ids: a type prefix, a dash, lowercase letters and digits (e.g. i-bp67acfmxazb4ph2xxxx). */
function resourceId(prefix: string, what: string, example: string): (value: string) => string {
  const shape = new RegExp(`^${prefix}-[a-z0-9]{2,40}$`);
  return (value) => {
    if (!shape.test(value)) throw new InvalidArgumentError(`expected ${what} such as ${example}.`);
    return value;
  };
}

export const parseInstanceId = resourceId('i', 'an ECS instance id', 'i-bp67acfmxazb4ph2xxxx');
export const parseVSwitchId = resourceId('vsw', 'a vSwitch id', 'vsw-bp1s5fnvk4gn2tws0xxxx');
export const parseSecurityGroupId = resourceId('sg', 'a security group id', 'sg-bp1fg655nh68xyz9xxxx');
export const parseVpcId = resourceId('vpc', 'a VPC id', 'vpc-bp1opxu1zkhn00gzvxxxx');

export function parseRegionId(value: string): string {
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(value)) {
    throw new InvalidArgumentError('expected a region id such as cn-hangzhou or ap-southeast-1.');
  }
  return value;
}

export function parseIPv4(value: string): string {
  if (!isIPv4(value)) throw new InvalidArgumentError('expected an IPv4 address such as 192.168.1.20.');
  return value;
}

export function positiveInt(what: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected ${what}: a whole number from 1 to ${max}.`);
    }
    return n;
  };
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError('expected a TCP port from 0 (any free) to 65535.');
  return n;
}

export const STEP_NAMES: readonly (StepName | 'done')[] = [
  ...new Set([...STEP_ORDER, ...REVERT_STEP_ORDER]),
  'done',
];

/** MigrationOutcome values: the report's outcomes, and `running` until the workflow ends. */
export const OUTCOMES: readonly (Outcome | 'running' | 'cancelled' | 'refused')[] = [
  'running',
  'verified',
  'migrated',
  'reverted',
  'rolled-back',
  'rolled-forward',
  'cancelled',
  'refused',
  'failed',
  'planned',
  'already-migrated',
];

/** MigrationStep values: a step name, `awaiting-approval`, `rollback:<step>`, `rollback-stuck:<step>`, or `done`. */
export function parseStepFilter(value: string): string {
  const known = [...STEP_NAMES, 'awaiting-approval'];
  const step = value.replace(/^rollback(-stuck)?:/, '');
  if (!known.includes(step as StepName)) {
    throw new InvalidArgumentError(
      `expected one of ${known.join(', ')} (or rollback:<step>, rollback-stuck:<step>).`,
    );
  }
  return value;
}

/** The name of a guest script defined in the worker's configuration (never shell text). */
export function parseScriptName(value: string): string {
  if (!GUEST_SCRIPT_NAME.test(value)) {
    throw new InvalidArgumentError(
      `expected the name of a guest script of the worker (${GUEST_SCRIPT_NAME_HELP}), not shell text.`,
    );
  }
  return value;
}

/** A flag of an earlier release that is gone: any value is refused with what to use instead (exit 2). */
export function removedFlag(replacement: string): (value: string) => never {
  return () => {
    throw new InvalidArgumentError(
      `this flag was removed: shell text in a migration's input is no longer run. Define a named guest script in the worker's configuration (ENI_MIGRATE_GUEST_SCRIPTS, see docs/configuration.md) and pass ${replacement}.`,
    );
  };
}

/** `<workflow-id>`, or an instance id (then the workflow id derives from it and the region). */
export function looksLikeInstanceId(value: string): boolean {
  return /^i-[a-z0-9]{2,40}$/.test(value);
}
