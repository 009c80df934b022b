/**
 * Flags shared by `batch start` and `schedule create`: which VPCs and instances, how fast, and the options every child
 * migration gets (the same flags as `migrate`). Every parser refuses a bad value before Temporal is reached; commander
 * then prints "option '--max-errors <n|n%>' argument 'abc' is invalid. …" and the CLI exits 2.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import ms, { type StringValue } from 'ms';
import type { AppConfig } from '../../config';
import { CONCURRENCY_MAX, type FleetMigrationOptions, type FleetSelection } from '../../shared/fleet';
import { EGRESS_CHECK_SCRIPT_DEFAULT } from '../../shared/migration';
import { CliError, ExitCode } from '../exit-codes';
import {
  guestPrepareScriptOption,
  guestSetupOf,
  guestSetupOption,
  type GuestSetupFlags,
} from '../guest-setup-option';
import { offlineBudgetOption, rollbackRetryMaxOption } from '../saga-options';
import { parseInstanceId, parseRegionId, parseScriptName, parseVSwitchId, positiveInt } from '../validate';

/** The workflow's own bound (src/workflows/migrate-fleet.ts refuses anything else). */
export { CONCURRENCY_MAX };

const REGION = '[a-z]{2,}(?:-[a-z0-9]+)+';
const VPC = 'vpc-[a-z0-9]{2,40}';

/** A VPC, with the region it is in when the flag named one (`cn-shanghai:vpc-…`). */
export interface VpcTarget {
  regionId?: string;
  vpcId: string;
}

/** `vpc-…` or `<region>:vpc-…`. */
export function parseVpcTarget(value: string): VpcTarget {
  const m = new RegExp(`^(?:(${REGION}):)?(${VPC})$`).exec(value);
  if (!m) {
    throw new InvalidArgumentError(
      'expected a VPC id such as vpc-bp1opxu1zkhn00gzvxxxx, or region:VPC such as cn-shanghai:vpc-uf6f7l4fg90oxxxx.',
    );
  }
  return { ...(m[1] ? { regionId: m[1] } : {}), vpcId: m[2] };
}

/** --vpc may repeat: one batch (or schedule) per VPC. */
export function collectVpc(value: string, previous: VpcTarget[] = []): VpcTarget[] {
  return [...previous, parseVpcTarget(value)];
}

/** --instances i-a,i-b (may repeat); duplicates collapse. */
export function collectInstances(value: string, previous: string[] = []): string[] {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('expected instance ids separated by commas: i-…,i-….');
  for (const id of ids) parseInstanceId(id);
  return [...new Set([...previous, ...ids])];
}

/** --tag key=value (may repeat; every tag must match). */
export function collectTag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  const key = at > 0 ? value.slice(0, at).trim() : '';
  if (!key) throw new InvalidArgumentError('expected key=value, such as app=web.');
  const tagValue = value.slice(at + 1);
  if (key in previous && previous[key] !== tagValue)
    throw new InvalidArgumentError(`tag ${key} is given twice with different values.`);
  return { ...previous, [key]: tagValue };
}

export function parseZoneId(value: string): string {
  if (!new RegExp(`^${REGION}$`).test(value))
    throw new InvalidArgumentError('expected a zone id such as cn-hangzhou-i.');
  return value;
}

export function parseNamePattern(value: string): string {
  if (!value.trim()) throw new InvalidArgumentError('expected a glob on the instance name, such as web-*.');
  return value;
}

/** A count ("3") or a share of the batch ("10%"), as AWS SSM's MaxErrors. */
export function parseMaxErrors(value: string): string {
  const m = /^(\d+)(%?)$/.exec(value.trim());
  if (!m || (m[2] === '%' && Number(m[1]) > 100)) {
    throw new InvalidArgumentError(
      'expected a count of errors (such as 3) or a percentage of the batch (such as 10%, at most 100%).',
    );
  }
  return value.trim();
}

export function nonNegativeInt(what: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > max)
      throw new InvalidArgumentError(`expected ${what}: a whole number from 0 to ${max}.`);
    return n;
  };
}

/** A duration with its unit, such as 90m, 2h or 1d (the `ms` package's syntax), in milliseconds. */
export function parseDuration(minMs: number, maxMs = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const shape = `a duration with its unit, such as 90m, 2h or 1d (at least ${ms(minMs, { long: true })})`;
  return (value) => {
    // A bare number would be milliseconds to `ms`, which nobody means here.
    if (!/[a-z]\s*$/i.test(value.trim())) throw new InvalidArgumentError(`expected ${shape}.`);
    let n: number;
    try {
      n = ms(value.trim() as StringValue);
    } catch {
      n = Number.NaN;
    }
    if (!Number.isFinite(n) || n < minMs || n > maxMs) throw new InvalidArgumentError(`expected ${shape}.`);
    return n;
  };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * --window-end: an ISO 8601 time (without an offset: this machine's local time), or a duration from now (2h). It
 * must lie ahead: a window that has closed would defer every instance.
 */
export function parseWindowEnd(value: string): string {
  const v = value.trim();
  let at: number;
  if (ISO_TIME.test(v)) {
    at = Date.parse(v.replace(' ', 'T'));
  } else {
    try {
      at = Date.now() + parseDuration(1000)(v);
    } catch {
      at = Number.NaN;
    }
  }
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      'expected an ISO 8601 time such as 2026-12-01T06:00:00Z (no offset: local time), or a duration from now such as 90m or 2h.',
    );
  }
  if (at <= Date.now())
    throw new InvalidArgumentError(`${new Date(at).toISOString()} has passed: give a time ahead.`);
  return new Date(at).toISOString();
}

export interface SelectionFlags {
  instances?: string[];
  tag?: Record<string, string>;
  zone?: string;
  vswitch?: string;
  name?: string;
}

export interface PaceFlags {
  concurrency?: number;
  canary?: number;
  maxErrors?: string;
}

export interface MigrationFlags extends GuestSetupFlags {
  verify: boolean;
  verifyTimeout?: number;
  keepOnVerifyFailure?: boolean;
  allowChargeTypeChange?: boolean;
  bandwidthPayByTraffic?: boolean;
  egressCheckScript?: string;
  offlineBudget?: number;
  rollbackRetryMax?: number;
}

/** --vpc (repeatable for a batch: one batch per VPC) and --region. */
export function addVpcOptions(command: Command, repeatable: boolean): Command {
  return command
    .requiredOption(
      '--vpc <id>',
      repeatable
        ? 'VPC whose instances to migrate (vpc-…, or region:vpc-… for another region); repeat it for more VPCs, one batch each'
        : 'VPC whose instances to migrate (vpc-…, or region:vpc-…); one schedule per VPC',
      collectVpc,
    )
    .option(
      '--region <id>',
      repeatable
        ? 'region of the VPCs given without one (default: ALIBABA_CLOUD_REGION_ID)'
        : 'region of the VPC when given without one (default: ALIBABA_CLOUD_REGION_ID)',
      parseRegionId,
    );
}

/** Which of the VPC's instances: every filter given must match. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option(
      '--instances <ids>',
      'only these instances, comma-separated (they must be in the VPC; one --vpc only)',
      collectInstances,
    )
    .option('--tag <key=value>', 'only instances with this tag (repeatable: all must match)', collectTag)
    .option('--zone <id>', 'only instances in this zone', parseZoneId)
    .option('--vswitch <id>', 'only instances in this vSwitch', parseVSwitchId)
    .option('--name <glob>', 'only instances whose name matches, e.g. "web-*"', parseNamePattern);
}

/** Concurrency, canary, failure breaker (for `batch start`, or for every batch a schedule starts). */
export function addPaceOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--concurrency <n>',
        'migrations in flight at once, a sliding window (default 5; a running batch takes `batch concurrency`)',
      ).argParser(positiveInt('a count', CONCURRENCY_MAX)),
    )
    .addOption(
      new Option(
        '--canary <n>',
        'the first n instances migrate alone and must verify before the rest start (default 1; 0: none)',
      ).argParser(nonNegativeInt('a count', 10_000)),
    )
    .addOption(
      new Option(
        '--max-errors <n|n%>',
        'pause the batch (never abort it) once errors exceed this count or share of the batch (default 0: the first error pauses)',
      ).argParser(parseMaxErrors),
    );
}

/** The options every child migration gets, as `migrate` takes them. */
export function addMigrationOptions(command: Command): Command {
  return command
    .option('--no-verify', 'skip the SSH verification of every migration')
    .addOption(
      new Option('--verify-timeout <seconds>', 'how long verification may retry (default 120)').argParser(
        positiveInt('seconds', 3600),
      ),
    )
    .option(
      '--keep-on-verify-failure',
      'keep the migrated state when verification fails (default: roll back)',
    )
    .option(
      '--allow-charge-type-change',
      'switch PrePaid instances that cannot convert as they are to PostPaid first (default: refuse them)',
    )
    .option(
      '--bandwidth-pay-by-traffic',
      'bill the bandwidth of PrePaid instances billed by fixed bandwidth by traffic first (default: refuse them)',
    )
    .addOption(guestPrepareScriptOption())
    .addOption(guestSetupOption())
    .option(
      '--egress-check-script <name>',
      `guest script whose answer must be the SNAT IP (default: ${EGRESS_CHECK_SCRIPT_DEFAULT})`,
      parseScriptName,
    )
    .addOption(offlineBudgetOption())
    .addOption(rollbackRetryMaxOption());
}

export function selectionOf(flags: SelectionFlags): FleetSelection | undefined {
  const select: FleetSelection = {
    ...(flags.instances?.length ? { instanceIds: flags.instances } : {}),
    ...(flags.tag ? { tags: flags.tag } : {}),
    ...(flags.zone ? { zoneId: flags.zone } : {}),
    ...(flags.vswitch ? { vSwitchId: flags.vswitch } : {}),
    ...(flags.name ? { namePattern: flags.name } : {}),
  };
  return Object.keys(select).length ? select : undefined;
}

export function migrationOf(flags: MigrationFlags): FleetMigrationOptions | undefined {
  const options: FleetMigrationOptions = {
    ...(flags.verify === false ? { verify: false } : {}),
    ...(flags.verifyTimeout ? { verifyTimeoutSeconds: flags.verifyTimeout } : {}),
    ...(flags.keepOnVerifyFailure ? { keepOnVerifyFailure: true } : {}),
    ...(flags.allowChargeTypeChange ? { allowChargeTypeChange: true } : {}),
    ...(flags.bandwidthPayByTraffic ? { allowPayByTraffic: true } : {}),
    ...(flags.guestPrepareScript ? { guestPrepareScript: flags.guestPrepareScript } : {}),
    guestSetup: guestSetupOf(flags),
    ...(flags.egressCheckScript ? { egressCheckScript: flags.egressCheckScript } : {}),
    ...(flags.offlineBudget ? { offlineBudgetSeconds: flags.offlineBudget } : {}),
    ...(flags.rollbackRetryMax ? { rollbackRetryMaxIntervalSeconds: flags.rollbackRetryMax } : {}),
  };
  return Object.keys(options).length ? options : undefined;
}

/** Each VPC with its region: its own (`region:vpc-…`), else --region, else ALIBABA_CLOUD_REGION_ID. */
export function resolveVpcs(
  vpcs: VpcTarget[],
  region: string | undefined,
  config: AppConfig,
): Array<{ regionId: string; vpcId: string }> {
  const seen = new Set<string>();
  const out: Array<{ regionId: string; vpcId: string }> = [];
  for (const v of vpcs) {
    const regionId = v.regionId ?? region ?? config.cloud.regionId;
    if (!regionId) {
      throw new CliError(
        `no region for ${v.vpcId}: pass --region <id>, write it as <region>:${v.vpcId}, or set ALIBABA_CLOUD_REGION_ID`,
        ExitCode.USAGE,
      );
    }
    const key = `${regionId}/${v.vpcId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ regionId, vpcId: v.vpcId });
  }
  return out;
}
