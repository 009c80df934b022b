/**
 * The worker's logs (ENI_MIGRATE_LOG_FORMAT, ENI_MIGRATE_LOG_LEVEL): one logger, the Temporal Runtime's, receives
 * everything: the SDK's own lines (worker, activities, workflow lifecycle), Temporal core's (forwarded from Rust), the
 * workflows' `log` (a sink: nothing in the history, skipped during replay) and the activities' `Context.log`
 * (activity metadata added by the SDK). It writes one line per entry, as JSON (time, level, message and the fields)
 * or for a person to read.
 *
 * The fields an operator filters on: workflowId (from the SDK's metadata), instanceId and step (the workflows pass
 * them; in activities `activityLogContext` adds them), attempt (the SDK's, in activity lines). What must never appear
 * in a line: a secret. Nothing here logs a request's parameters; fields whose name says secret, password, token,
 * private key or authorization are redacted all the same, whoever logs them (the SDK's taskToken among them).
 *
 * Not imported by workflow code (it needs the worker package): workflows use src/observability/log-events.ts.
 */
import type {
  ActivityInterceptorsFactory,
  Logger,
  LogLevel,
  LogMetadata,
  RuntimeOptions,
} from '@temporalio/worker';

/**
 * The SDK's key of an entry's time (nanoseconds) in its metadata: `LogTimestamp` of @temporalio/worker, a registered
 * symbol. Named here so that src/config.ts (the client and the CLI load it) does not load the worker package.
 */
const LogTimestamp = Symbol.for('log_timestamp');

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** ENI_MIGRATE_LOG_FORMAT and ENI_MIGRATE_LOG_LEVEL. */
export interface LogSettings {
  format: LogFormat;
  level: LogLevelName;
}

export const DEFAULT_LOG_SETTINGS: LogSettings = { format: 'pretty', level: 'info' };

/**
 * The SDK warns this once per worker that registers no workflow: the worker's per-action activity workers (eight)
 * all do, by design (src/worker.ts createActionWorkers). Not a warning here: debug.
 */
export const NO_WORKFLOWS_REGISTERED = 'No workflows registered, not polling for workflow tasks';

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** Field names whose values are never written. */
const SECRET_FIELD = /secret|password|passphrase|token|private.?key|api.?key|authorization|credential/i;
const REDACTED = '[redacted]';

/** Fields the pretty format leaves out (the SDK adds them to every line; JSON keeps them). */
const PRETTY_OMITS = new Set(['namespace', 'runId', 'workflowRunId', 'isLocal', 'activityId']);
/** Fields the pretty format shows first, in this order. */
const PRETTY_FIRST = ['workflowId', 'instanceId', 'step', 'attempt', 'activityType', 'action'];

export interface ProductLoggerOptions extends Partial<LogSettings> {
  /** Where each line goes (without its newline). Default: stderr. */
  write?: (line: string) => void;
}

/** The Runtime's logger: filters by level, downgrades the action workers' warnings, writes JSON or pretty lines. */
export class ProductLogger implements Logger {
  readonly format: LogFormat;
  readonly level: LogLevelName;
  private readonly severity: number;
  private readonly write: (line: string) => void;

  constructor(options: ProductLoggerOptions = {}) {
    this.format = options.format ?? DEFAULT_LOG_SETTINGS.format;
    this.level = options.level ?? DEFAULT_LOG_SETTINGS.level;
    this.severity = SEVERITY[sdkLevel(this.level)];
    this.write = options.write ?? ((line) => void process.stderr.write(`${line}\n`));
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const effective = level === 'WARN' && message === NO_WORKFLOWS_REGISTERED ? 'DEBUG' : level;
    if (SEVERITY[effective] < this.severity) return;
    const time = timeOf(meta?.[LogTimestamp]);
    let line: string;
    try {
      // A field named like one of the line's own keys cannot overwrite it: time, level and message come first.
      const { time: _t, level: _l, message: _m, ...fields } = fieldsOf(meta);
      line =
        this.format === 'json'
          ? stringify({ time, level: effective.toLowerCase(), message, ...fields })
          : prettyLine(time, effective, message, fields);
    } catch {
      // A field that cannot be read (a throwing getter) must not take the worker down: the line, without fields.
      line =
        this.format === 'json'
          ? JSON.stringify({ time, level: effective.toLowerCase(), message })
          : `${time} ${effective.padEnd(5)} ${message}`;
    }
    this.write(line);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

export const sdkLevel = (level: LogLevelName): LogLevel => level.toUpperCase() as LogLevel;

/** The level of the runtime's logger, once runtimeLogging made it; before, everything counts as written. */
let runtimeSeverity = SEVERITY.TRACE;

/**
 * Whether a line at `level` would be written by the runtime's logger: a caller with a costly line (one per cloud
 * call, at debug) skips building it when it would be dropped.
 */
export function logsAt(level: LogLevel): boolean {
  return SEVERITY[level] >= runtimeSeverity;
}

/**
 * The Runtime options of the logs: the product's logger, and Temporal core's own lines forwarded to it (so a JSON
 * stream stays JSON). Core is chatty below WARN (every poll): it forwards warnings and errors only, at any level.
 */
export function runtimeLogging(
  settings: Partial<LogSettings> = {},
  write?: (line: string) => void,
): Pick<RuntimeOptions, 'logger' | 'telemetryOptions'> {
  const logger = new ProductLogger({ ...settings, write });
  runtimeSeverity = SEVERITY[sdkLevel(logger.level)];
  const quiet: LogLevel = logger.level === 'error' ? 'ERROR' : 'WARN';
  return {
    logger,
    telemetryOptions: { logging: { forward: {}, filter: { core: quiet, other: 'ERROR' } } },
  };
}

/**
 * For bundleWorkflowCode: webpack's statistics (the bundler's info lines) at debug, its warnings and errors as they
 * are, through the runtime's logger.
 */
export function bundlerLogger(logger: Logger): Logger {
  const meta = { sdkComponent: 'worker' };
  return {
    log: (level, message) => logger.log(level === 'INFO' ? 'DEBUG' : level, message, meta),
    trace: (message) => logger.trace(message, meta),
    debug: (message) => logger.debug(message, meta),
    info: (message) => logger.debug(message, meta),
    warn: (message) => logger.warn(message, meta),
    error: (message) => logger.error(message, meta),
  };
}

/**
 * The step of the runbook an activity works for, by workflow type: a compensation as `rollback:<step>`, as the
 * MigrationStep search attribute names it. Activities of a batch, or unknown ones, have none.
 */
const ACTIVITY_STEPS: Record<string, Record<string, string>> = {
  migrateInstance: {
    preflight: 'preflight',
    switchToPostPaid: 'convertToEip',
    convertNatPublicIpToEip: 'convertToEip',
    findEipByAddress: 'convertToEip',
    createNetworkInterface: 'createEni',
    deleteNetworkInterface: 'rollback:createEni',
    attachNetworkInterface: 'attachEni',
    detachNetworkInterface: 'rollback:attachEni',
    prepareGuest: 'prepareGuest',
    unassociateEipFromInstance: 'unassociateEip',
    associateEipToInstance: 'rollback:unassociateEip',
    associateEipToEni: 'associateEipToEni',
    unassociateEipFromEni: 'rollback:associateEipToEni',
    verifyMigration: 'verify',
  },
  revertInstance: {
    revertPreflight: 'preflight',
    unassociateEipFromEni: 'unassociateEipFromEni',
    associateEipToEni: 'rollback:unassociateEipFromEni',
    associateEipToInstance: 'associateEipToInstance',
    unassociateEipFromInstance: 'rollback:associateEipToInstance',
    detachNetworkInterface: 'detachEni',
    deleteNetworkInterface: 'deleteEni',
    verifyMigration: 'verify',
  },
};

export function stepOfActivity(workflowType: string | undefined, activityType: string): string | undefined {
  return workflowType ? ACTIVITY_STEPS[workflowType]?.[activityType] : undefined;
}

/** The instance of a migration's workflow id, `eni-migration/<region>/<instance>` (migrationWorkflowId). */
const MIGRATION_WORKFLOW_ID = /^eni-migration\/[^/]+\/([^/]+)$/;

/** The instance an activity acts on: its input's (or its step 2 input's, for the ENI's deletion), else its workflow's. */
function instanceIdOf(input: unknown, workflowId: string | undefined): string | undefined {
  const i = input as { instanceId?: unknown; create?: { instanceId?: unknown } } | null | undefined;
  if (typeof i?.instanceId === 'string') return i.instanceId;
  if (typeof i?.create?.instanceId === 'string') return i.create.instanceId;
  return workflowId ? MIGRATION_WORKFLOW_ID.exec(workflowId)?.[1] : undefined;
}

/**
 * Adds instanceId (from the activity's input, or its migration's workflow id) and step (from its type) to every line
 * an activity logs, the SDK's own included, and so to each cloud call's line. Give it to every worker:
 * `interceptors: { activity: [activityLogContext] }`.
 */
export const activityLogContext: ActivityInterceptorsFactory = (ctx) => {
  const step = stepOfActivity(ctx.info.workflowType, ctx.info.activityType);
  const workflowId = ctx.info.workflowExecution?.workflowId;
  let instanceId = instanceIdOf(undefined, workflowId);
  return {
    inbound: {
      execute: (input, next) => {
        instanceId = instanceIdOf(input.args[0], workflowId);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) =>
        next({ ...attrs, ...(instanceId ? { instanceId } : {}), ...(step ? { step } : {}) }),
    },
  };
};

function timeOf(nanos: unknown): string {
  return new Date(typeof nanos === 'bigint' ? Number(nanos / 1_000_000n) : Date.now()).toISOString();
}

/** The entry's metadata as plain fields: no symbol keys, secrets redacted, errors as name, message, type, stack. */
function fieldsOf(meta: LogMetadata | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!meta) return fields;
  for (const [key, value] of Object.entries(meta)) {
    if (value === undefined) continue;
    fields[key] = SECRET_FIELD.test(key) ? REDACTED : plain(value, new WeakSet());
  }
  return fields;
}

function plain(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { type?: unknown; cause?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      ...(e.cause instanceof Error ? { cause: plain(e.cause, seen) } : {}),
      ...(e.stack ? { stack: e.stack } : {}),
    };
  }
  if (value instanceof Date) return value.toISOString();
  // Bytes (a key, a payload) and maps (a codec's keys) are never written out, whatever holds them.
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Map || value instanceof Set) return `[${value.constructor.name} of ${value.size}]`;
  if (Array.isArray(value)) return value.map((v) => plain(v, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = SECRET_FIELD.test(k) ? REDACTED : plain(v, seen);
  }
  return out;
}

function stringify(entry: Record<string, unknown>): string {
  try {
    return JSON.stringify(entry);
  } catch {
    return JSON.stringify({ time: entry.time, level: entry.level, message: entry.message });
  }
}

function prettyLine(time: string, level: LogLevel, message: string, fields: Record<string, unknown>): string {
  const keys = Object.keys(fields).filter((k) => !PRETTY_OMITS.has(k) && k !== 'sdkComponent');
  const ordered = [
    ...PRETTY_FIRST.filter((k) => keys.includes(k)),
    ...keys.filter((k) => !PRETTY_FIRST.includes(k)),
  ];
  const shown = ordered.map((k) => `${k}=${prettyValue(fields[k])}`);
  const line = [`${time} ${level.padEnd(5)} ${message}`, ...shown].join(' ');
  // A person reading a failure wants its stack: below the line, indented, as Node prints one.
  const stacks = ordered.map((k) => stackOf(fields[k])).filter((st): st is string => st !== undefined);
  return [line, ...stacks.map((st) => st.replace(/^/gm, '    '))].join('\n');
}

function stackOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('stack' in value)) return undefined;
  const { stack } = value as { stack: unknown };
  return typeof stack === 'string' && stack !== '' ? stack : undefined;
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null && 'message' in value && 'name' in value) {
    const e = value as { name: unknown; message: unknown };
    return JSON.stringify(`${String(e.name)}: ${String(e.message)}`);
  }
  return JSON.stringify(value) ?? String(value);
}
