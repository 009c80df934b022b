/**
 * Configuration from the environment, shared by the worker, the client and the CLI.
 *
 * Alibaba Cloud credentials are deliberately NOT read here: @alicloud/credentials' default chain reads
 * ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, ~/.alibabacloud profiles, RAM roles and OIDC,
 * so every way a fleet already authenticates keeps working and no secret passes through this module.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { keyId, type PayloadKeys } from './codec/payload-codec';
import type { TracingSettings } from './observability/tracing';
import { DEFAULT_LOG_SETTINGS, LOG_FORMATS, LOG_LEVELS, type LogSettings } from './observability/logging';
import {
  CHANGE_ACTIONS,
  formatRate,
  rateLimitsWith,
  type ChangeAction,
  type Rate,
  type RateLimits,
  type RateUnit,
} from './shared/cloud-changes';
import { TASK_QUEUE_DEFAULT } from './shared/migration';
import {
  formatTransitionMs,
  TRANSITION_ACTIONS,
  TYPICAL_TRANSITION_MS,
  type TransitionTimes,
} from './shared/transitions';

/** One documented variable: its name, default and meaning (`worker --help` prints them; docs/configuration.md's table says the same). */
export interface EnvVarDoc {
  name: string;
  default?: string;
  description: string;
  secret?: boolean;
}

/**
 * What a worker holding many migrations asks of glibc's malloc (docs/configuration.md, "A worker for many
 * migrations"): not read by the worker, since glibc reads them when the process starts. `worker --help` shows them
 * and the bench's section 4 runs its worker with them.
 */
export const MANY_MIGRATIONS_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/**
 * What a worker holding many migrations asks of V8 (docs/configuration.md, "A worker for many migrations"), on node's
 * command line: `node --heap-growing-percent=50 bin/eni-migrate.js worker` (NODE_OPTIONS refuses it). The next full
 * collection comes when the heap has grown 1.5× from what the last one left, in place of V8's adaptive 1.1–4× (the
 * worker's main thread grew ~2× by default). `worker --help` shows it and the bench's section 4 runs its worker with it.
 */
export const MANY_MIGRATIONS_NODE_FLAGS: readonly string[] = ['--heap-growing-percent=50'];

export const ENV_VARS: readonly EnvVarDoc[] = [
  { name: 'TEMPORAL_ADDRESS', default: 'localhost:7233', description: 'Temporal frontend, host:port.' },
  { name: 'TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace.' },
  {
    name: 'TEMPORAL_TASK_QUEUE',
    default: TASK_QUEUE_DEFAULT,
    description:
      'Base name of the task queues: a migration in region R runs on `<base>-R`, where the worker of region R polls.',
  },
  {
    name: 'TEMPORAL_API_KEY',
    description: 'Temporal Cloud API key (turns TLS on).',
    secret: true,
  },
  {
    name: 'TEMPORAL_TLS_CERT_PATH',
    description: 'mTLS client certificate (PEM); with TEMPORAL_TLS_KEY_PATH.',
  },
  {
    name: 'TEMPORAL_TLS_KEY_PATH',
    description: 'mTLS client private key (PEM); with TEMPORAL_TLS_CERT_PATH.',
  },
  {
    name: 'TEMPORAL_TLS_CA_PATH',
    description: 'Root CA of the Temporal server (PEM), when not publicly trusted.',
  },
  { name: 'TEMPORAL_TLS_SERVER_NAME', description: 'TLS server name override (SNI).' },
  {
    name: 'ALIBABA_CLOUD_REGION_ID',
    description:
      'Region of the instances, e.g. cn-hangzhou (required by the worker; default of migrate --region).',
  },
  {
    name: 'ALIBABA_CLOUD_ECS_ENDPOINT',
    description: 'ECS endpoint, host:port or URL. Unset: the real regional endpoint over HTTPS.',
  },
  {
    name: 'ALIBABA_CLOUD_VPC_ENDPOINT',
    description: 'VPC endpoint, host:port or URL. Unset: the real regional endpoint over HTTPS.',
  },
  {
    name: 'ENI_MIGRATE_SSH_CONFIG',
    description: 'OpenSSH ssh_config used for verification (HostName, Port, User, IdentityFile, ProxyJump).',
  },
  {
    name: 'ENI_MIGRATE_SSH_USER',
    description: 'SSH user when the ssh_config names none for the host (default root).',
  },
  { name: 'ENI_MIGRATE_SSH_KEY', description: 'Path of the SSH private key when no ssh_config names one.' },
  {
    name: 'ENI_MIGRATE_GUEST_SCRIPTS',
    description:
      "JSON file of the operator's guest scripts (added to the built-in ones, or replacing them by name); migrations name them, never carry shell text.",
  },
  {
    name: 'ENI_MIGRATE_POLL_INTERVAL_MS',
    default: '2000',
    description: 'First interval of the status polls (they back off from there).',
  },
  {
    name: 'ENI_MIGRATE_TRANSITION_MS',
    default: "Alibaba Cloud's typical durations",
    description:
      "How long the cloud typically takes per transition, in ms (at most 120000, the ENI waits' budget), e.g. `attach=10000,convert=2000`, of convert, create, attach, detach, delete, associate, unassociate and command (a Cloud Assistant command): a wait first looks then; the worker learns within ¼–4× of it, upward fast, downward slowly (err low); unnamed ones keep their defaults.",
  },
  {
    name: 'ENI_MIGRATE_EIP_QUOTA',
    description:
      "The account's EIP quota in the region (default 20, Alibaba Cloud's): preflight refuses a conversion that would exceed it.",
  },
  {
    name: 'ENI_MIGRATE_MAX_CACHED_WORKFLOWS',
    default: "the SDK's: about 600 per GB of heap",
    description:
      'Migrations and batches the worker keeps in memory between their steps (~0.1 MB of heap each); one not kept replays its whole history at each of its steps.',
  },
  {
    name: 'ENI_MIGRATE_RATE_LIMITS',
    description:
      'Per-API rates of the calls that change the cloud, for all workers of a region together, e.g. `CreateNetworkInterface=300/min,AssociateEipAddress=2/s` (unnamed actions keep their defaults).',
  },
  {
    name: 'ENI_MIGRATE_METRICS',
    description:
      'Serve Prometheus metrics at `ip:port` (`/metrics`): the Temporal runtime\'s and the migrations\' (docs/operations.md "Metrics"); e.g. `0.0.0.0:9464`. Unset: no metrics.',
  },
  {
    name: 'ENI_MIGRATE_LOG_FORMAT',
    default: DEFAULT_LOG_SETTINGS.format,
    description:
      "The worker's logs: `json` (one JSON object a line: time, level, message, workflowId, instanceId, step, attempt, …) or `pretty` (for a person).",
  },
  {
    name: 'ENI_MIGRATE_LOG_LEVEL',
    default: DEFAULT_LOG_SETTINGS.level,
    description:
      "The worker's log level: `trace`, `debug` (adds one line per cloud API call), `info` (one per step start and end), `warn` or `error`.",
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description:
      'Trace with OpenTelemetry: export spans over OTLP/HTTP to this URL, e.g. `http://otel-collector:4318` (the worker: a trace per migration, with its steps, cloud calls and SSH sessions; the CLI: its client calls). The other `OTEL_EXPORTER_OTLP_*` variables (headers, `_TRACES_ENDPOINT`) apply. Unset: no tracing, at no cost.',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    default: 'eni-migrate',
    description: 'The service name on the spans (with `OTEL_RESOURCE_ATTRIBUTES`).',
  },
  {
    name: 'ENI_MIGRATE_PAYLOAD_KEY',
    description:
      'AES-256 key (base64 of 32 bytes) that encrypts every payload the worker, the client and the CLI send to Temporal.',
    secret: true,
  },
  {
    name: 'ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS',
    description:
      'Comma-separated older payload keys (base64), still used to decrypt histories written before a rotation.',
    secret: true,
  },
  {
    name: 'ENI_MIGRATE_PAYLOAD_KEY_FILE',
    description:
      'Instead of the two above: a file of base64 payload keys, one a line, the first the current one ("#" comments).',
  },
];

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** The base of the task queue names; see taskQueueFor. */
  taskQueue: string;
  apiKey?: string;
  tls?: {
    clientCertPath?: string;
    clientKeyPath?: string;
    caPath?: string;
    serverName?: string;
  };
  /** Payload encryption keys (ENI_MIGRATE_PAYLOAD_KEY...): set, every payload is encrypted; unset, none is. */
  payloadKeys?: PayloadKeys;
}

export interface CloudSettings {
  regionId?: string;
  ecsEndpoint?: string;
  vpcEndpoint?: string;
}

export interface SshSettings {
  sshConfigPath?: string;
  user?: string;
  privateKeyPath?: string;
}

export interface AppConfig {
  temporal: TemporalSettings;
  cloud: CloudSettings;
  ssh: SshSettings;
  /** The operator's guest script file (ENI_MIGRATE_GUEST_SCRIPTS), read by the worker at start. */
  guestScriptsPath?: string;
  pollIntervalMs?: number;
  /** How long each transition typically takes (ENI_MIGRATE_TRANSITION_MS over Alibaba Cloud's typical durations). */
  transitionMs?: Partial<TransitionTimes>;
  /** The account's EIP quota in the region (ENI_MIGRATE_EIP_QUOTA). Default 20. */
  eipQuota?: number;
  /**
   * Workflows the worker keeps in memory between their workflow tasks (ENI_MIGRATE_MAX_CACHED_WORKFLOWS). Unset: the
   * SDK's default, which grows with the heap limit (600 per GB beyond 200 MB).
   */
  maxCachedWorkflows?: number;
  /** The rate of each action that changes the cloud (ENI_MIGRATE_RATE_LIMITS over the defaults). Default: the defaults. */
  rateLimits?: RateLimits;
  /** Where the worker serves Prometheus metrics (ENI_MIGRATE_METRICS), `ip:port`; unset: no metrics. */
  metricsAddress?: string;
  /** The worker's logs (ENI_MIGRATE_LOG_FORMAT, ENI_MIGRATE_LOG_LEVEL). Default: pretty, info. */
  logging?: LogSettings;
  /** OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT); unset: off. */
  tracing?: TracingSettings;
}

/** A configuration problem: names the variable and what to set. The CLI maps it to exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const optional = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const hostPort = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. localhost:7233');

const endpoint = optional.refine(
  (v) => v === undefined || /^(https?:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/.test(v),
  'must be host:port or a URL such as http://127.0.0.1:8080 or https://ecs.cn-hangzhou.aliyuncs.com',
);

/** An OTLP/HTTP endpoint: a URL, as the OpenTelemetry exporter takes it. */
const otlpEndpoint = optional.refine(
  (v) => v === undefined || /^https?:\/\/[^\s/]+/.test(v),
  'must be an http:// or https:// URL, e.g. http://otel-collector:4318',
);

/** The exporter speaks OTLP over HTTP (JSON): a collector's port 4318, not gRPC's 4317. */
const otlpProtocol = optional.refine(
  (v) => v === undefined || v.startsWith('http/'),
  "must be http/json or http/protobuf: eni-migrate exports OTLP over HTTP (as JSON, a collector's port 4318); gRPC is not supported",
);

/** An optional whole number of `unit`, at least `min` (empty: unset), each fault named with an example. */
const wholeNumber = (unit: string, example: string, min: number, tooSmall: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce
      .number({ error: `must be a number of ${unit}, e.g. ${example}` })
      .int(`must be a whole number of ${unit}`)
      .min(min, tooSmall)
      .optional(),
  );

const regionId = optional.refine(
  (v) => v === undefined || /^[a-z]{2,}(-[a-z0-9]+)+$/.test(v),
  'must be a region id such as cn-hangzhou or ap-southeast-1',
);

/**
 * ENI_MIGRATE_RATE_LIMITS: `Action=<n>/<s|min|h>`, comma-separated. Each problem is named with the fix, so a typo in
 * an action never leaves that action at a default the operator did not mean.
 */
const rateLimits = optional.transform((value, ctx): Partial<Record<ChangeAction, Rate>> | undefined => {
  if (value === undefined) return undefined;
  const limits: Partial<Record<ChangeAction, Rate>> = {};
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const m = /^([A-Za-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*\/\s*(s|min|h)$/.exec(entry);
    if (!m) {
      problem(`"${entry}" is not Action=<calls>/<s|min|h>, e.g. CreateNetworkInterface=300/min`);
      continue;
    }
    const [, name, count, per] = m;
    const action = CHANGE_ACTIONS.find((a) => a === name);
    if (!action) {
      problem(
        `names ${name}, which is not an action the worker rate-limits: use one of ${CHANGE_ACTIONS.join(', ')}`,
      );
    } else if (!(Number(count) > 0)) {
      problem(`${name}: the rate must be more than 0 calls per ${per}`);
    } else if (limits[action]) {
      problem(`${name} is given twice: keep one`);
    } else {
      limits[action] = { count: Number(count), per: per as RateUnit };
    }
  }
  return limits;
});

/**
 * ENI_MIGRATE_TRANSITION_MS: `<transition>=<ms>`, comma-separated, by the transitions' names (`attach`, not
 * `attachMs`). As with the rate limits, a misspelt name is refused rather than left at its default; so is a duration
 * past the ENI waits' budget (2 minutes: their first look would come when they give up), and one in seconds, each
 * with the entry that would do. `3000ms` is taken as 3000.
 */
export const TRANSITION_MS_MAX = 120_000;

const transitionMs = optional.transform((value, ctx): Partial<TransitionTimes> | undefined => {
  if (value === undefined) return undefined;
  const times: Partial<TransitionTimes> = {};
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const m = /^([A-Za-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(entry);
    if (!m || (m[3] !== 's' && !/^\d+$/.test(m[2]))) {
      problem(`"${entry}" is not <transition>=<milliseconds>, e.g. attach=10000`);
      continue;
    }
    const [, written, amount, unit] = m;
    const ms = unit === 's' ? Math.round(Number(amount) * 1000) : Number(amount);
    const name = TRANSITION_ACTIONS.find((a) => a === written || `${a}Ms` === written);
    // What the entry should have been, when only its name's suffix or its unit is wrong.
    const fix = `${name}=${Math.min(ms, TRANSITION_MS_MAX)}`;
    if (!name) {
      problem(
        `names ${written}, which is not a transition the worker waits for: use one of ${TRANSITION_ACTIONS.join(', ')}`,
      );
    } else if (ms > TRANSITION_MS_MAX) {
      problem(
        `"${entry}" is more than ${TRANSITION_MS_MAX} ms, the ENI waits' budget (2 minutes): a wait would look only when it gives up; at most ${fix}`,
      );
    } else if (written !== name || unit === 's') {
      problem(`"${entry}": write ${fix} (the transition's name, milliseconds)`);
    } else if (times[`${name}Ms`] !== undefined) {
      problem(`${name} is given twice: keep one`);
    } else {
      times[`${name}Ms`] = ms;
    }
  }
  return times;
});

/**
 * ENI_MIGRATE_METRICS: the address the Temporal runtime's Prometheus exporter binds, an IP address and a port (it
 * resolves no name: `localhost` is taken as 127.0.0.1).
 */
const metricsAddress = optional.transform((value, ctx): string | undefined => {
  if (value === undefined) return undefined;
  const m = /^(\[([0-9a-fA-F:.]+)\]|[^:]+):(\d{1,5})$/.exec(value);
  const host = m ? (m[2] ?? (m[1] === 'localhost' ? '127.0.0.1' : m[1])) : '';
  const port = m ? Number(m[3]) : NaN;
  const ipOk = m?.[2] !== undefined ? isIP(host) === 6 : isIP(host) === 4;
  if (!m || !ipOk || !(port >= 1 && port <= 65535)) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be ip:port where the worker serves /metrics, e.g. 0.0.0.0:9464 (every interface), 127.0.0.1:9464 or [::1]:9464',
    });
    return undefined;
  }
  return m[2] !== undefined ? `[${host}]:${port}` : `${host}:${port}`;
});

/** One of `allowed`, any case (`JSON`, `Debug`); unset or empty: `fallback`. */
const oneOf = <T extends string>(allowed: readonly T[], fallback: T) =>
  optional.transform((value, ctx): T => {
    if (value === undefined) return fallback;
    const found = allowed.find((a) => a === value.toLowerCase());
    if (!found) ctx.addIssue({ code: 'custom', message: `must be one of ${allowed.join(', ')}` });
    return found ?? fallback;
  });

const envSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1, 'must not be empty').default('default'),
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1, 'must not be empty').default(TASK_QUEUE_DEFAULT),
  TEMPORAL_API_KEY: optional,
  TEMPORAL_TLS_CERT_PATH: optional,
  TEMPORAL_TLS_KEY_PATH: optional,
  TEMPORAL_TLS_CA_PATH: optional,
  TEMPORAL_TLS_SERVER_NAME: optional,
  ALIBABA_CLOUD_REGION_ID: regionId,
  ALIBABA_CLOUD_ECS_ENDPOINT: endpoint,
  ALIBABA_CLOUD_VPC_ENDPOINT: endpoint,
  ENI_MIGRATE_SSH_CONFIG: optional,
  ENI_MIGRATE_SSH_USER: optional,
  ENI_MIGRATE_SSH_KEY: optional,
  ENI_MIGRATE_GUEST_SCRIPTS: optional,
  ENI_MIGRATE_PAYLOAD_KEY: optional,
  ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS: optional,
  ENI_MIGRATE_PAYLOAD_KEY_FILE: optional,
  ENI_MIGRATE_RATE_LIMITS: rateLimits,
  ENI_MIGRATE_METRICS: metricsAddress,
  ENI_MIGRATE_LOG_FORMAT: oneOf(LOG_FORMATS, DEFAULT_LOG_SETTINGS.format),
  ENI_MIGRATE_LOG_LEVEL: oneOf(LOG_LEVELS, DEFAULT_LOG_SETTINGS.level),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpoint,
  OTEL_SERVICE_NAME: optional,
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_SDK_DISABLED: optional,
  OTEL_TRACES_EXPORTER: optional,
  ENI_MIGRATE_POLL_INTERVAL_MS: wholeNumber('milliseconds', '2000', 1, 'must be > 0'),
  ENI_MIGRATE_TRANSITION_MS: transitionMs,
  ENI_MIGRATE_MAX_CACHED_WORKFLOWS: wholeNumber(
    'workflows',
    '1000',
    0,
    'must be ≥ 0 (0: no cache, every step replays)',
  ),
  ENI_MIGRATE_EIP_QUOTA: wholeNumber('EIPs', '20 (the quota in Quota Center)', 0, 'must be ≥ 0'),
});

/** Reads and validates the environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings count as unset: `FOO= cmd` is a common way to switch a variable off.
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      const secret = ENV_VARS.find((v) => v.name === name)?.secret;
      return secret ? `${name} ${i.message}` : `${name}=${JSON.stringify(env[name])} ${i.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError(
      'invalid configuration: set both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH for mTLS, or neither',
    );
  }
  const tlsWanted = Boolean(
    e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CERT_PATH || e.TEMPORAL_TLS_CA_PATH || e.TEMPORAL_TLS_SERVER_NAME,
  );
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      payloadKeys: payloadKeysFrom(e),
      tls: tlsWanted
        ? {
            clientCertPath: e.TEMPORAL_TLS_CERT_PATH,
            clientKeyPath: e.TEMPORAL_TLS_KEY_PATH,
            caPath: e.TEMPORAL_TLS_CA_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
    },
    cloud: {
      regionId: e.ALIBABA_CLOUD_REGION_ID,
      ecsEndpoint: e.ALIBABA_CLOUD_ECS_ENDPOINT,
      vpcEndpoint: e.ALIBABA_CLOUD_VPC_ENDPOINT,
    },
    ssh: {
      sshConfigPath: e.ENI_MIGRATE_SSH_CONFIG,
      user: e.ENI_MIGRATE_SSH_USER,
      privateKeyPath: e.ENI_MIGRATE_SSH_KEY,
    },
    guestScriptsPath: e.ENI_MIGRATE_GUEST_SCRIPTS,
    pollIntervalMs: e.ENI_MIGRATE_POLL_INTERVAL_MS,
    ...(e.ENI_MIGRATE_TRANSITION_MS ? { transitionMs: e.ENI_MIGRATE_TRANSITION_MS } : {}),
    ...(e.ENI_MIGRATE_EIP_QUOTA !== undefined ? { eipQuota: e.ENI_MIGRATE_EIP_QUOTA } : {}),
    ...(e.ENI_MIGRATE_MAX_CACHED_WORKFLOWS !== undefined
      ? { maxCachedWorkflows: e.ENI_MIGRATE_MAX_CACHED_WORKFLOWS }
      : {}),
    rateLimits: rateLimitsWith(e.ENI_MIGRATE_RATE_LIMITS),
    ...(e.ENI_MIGRATE_METRICS ? { metricsAddress: e.ENI_MIGRATE_METRICS } : {}),
    logging: { format: e.ENI_MIGRATE_LOG_FORMAT, level: e.ENI_MIGRATE_LOG_LEVEL },
    ...tracingFrom(e),
  };
}

/**
 * Tracing is on when an OTLP endpoint is set, as the OpenTelemetry SDKs read it, unless OpenTelemetry's own switches
 * turn it off (OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none).
 */
function tracingFrom(e: {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
  OTEL_SDK_DISABLED?: string;
  OTEL_TRACES_EXPORTER?: string;
}): { tracing?: TracingSettings } {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || e.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || e.OTEL_TRACES_EXPORTER === 'none')
    return {};
  return { tracing: { endpoint, ...(e.OTEL_SERVICE_NAME ? { serviceName: e.OTEL_SERVICE_NAME } : {}) } };
}

/**
 * The payload keys: ENI_MIGRATE_PAYLOAD_KEY (+ ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS), or ENI_MIGRATE_PAYLOAD_KEY_FILE
 * (one key a line, the first current). A bad key is named by its variable (or file and line), never printed.
 */
function payloadKeysFrom(e: {
  ENI_MIGRATE_PAYLOAD_KEY?: string;
  ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS?: string;
  ENI_MIGRATE_PAYLOAD_KEY_FILE?: string;
}): PayloadKeys | undefined {
  const file = e.ENI_MIGRATE_PAYLOAD_KEY_FILE;
  if (file && (e.ENI_MIGRATE_PAYLOAD_KEY || e.ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS)) {
    throw new ConfigError(
      'invalid configuration: set ENI_MIGRATE_PAYLOAD_KEY_FILE or ENI_MIGRATE_PAYLOAD_KEY (with ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS), not both',
    );
  }
  let keys: Buffer[];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`ENI_MIGRATE_PAYLOAD_KEY_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
    keys = text
      .split(/\r?\n/)
      .map((line, i) => ({ line: line.trim(), n: i + 1 }))
      .filter(({ line }) => line !== '' && !line.startsWith('#'))
      .map(({ line, n }) => parsePayloadKey(line, `ENI_MIGRATE_PAYLOAD_KEY_FILE (${file}, line ${n})`));
    if (keys.length === 0) {
      throw new ConfigError(`ENI_MIGRATE_PAYLOAD_KEY_FILE: ${file} holds no key (one base64 key a line)`);
    }
  } else if (e.ENI_MIGRATE_PAYLOAD_KEY) {
    keys = [parsePayloadKey(e.ENI_MIGRATE_PAYLOAD_KEY, 'ENI_MIGRATE_PAYLOAD_KEY')];
    const previous = (e.ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== '');
    previous.forEach((k, i) =>
      keys.push(parsePayloadKey(k, `ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS (key ${i + 1} of ${previous.length})`)),
    );
  } else if (e.ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS) {
    throw new ConfigError(
      'invalid configuration: ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS is set without ENI_MIGRATE_PAYLOAD_KEY (the current key)',
    );
  } else {
    return undefined;
  }
  return { current: keys[0], previous: keys.slice(1) };
}

/** A base64 AES-256 key: exactly 32 bytes, or a ConfigError naming `where` (never the value). */
export function parsePayloadKey(value: string, where: string): Buffer {
  const text = value.trim();
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0 || key.length !== 32) {
    throw new ConfigError(
      `invalid configuration: ${where} must be the base64 of 32 random bytes (an AES-256 key), e.g. from \`openssl rand -base64 32\``,
    );
  }
  return key;
}

/** The region the worker serves: required there, because the regional endpoint derives from it. */
export function requireRegion(cloud: CloudSettings): string {
  if (!cloud.regionId) {
    throw new ConfigError(
      'ALIBABA_CLOUD_REGION_ID is not set: set it to the region of the instances, e.g. cn-hangzhou',
    );
  }
  return cloud.regionId;
}

/**
 * The task queue of one region's migrations: `<base>-<regionId>`. Activities after preflight act on resource ids
 * alone, so a worker configured for another region must never pick them up: each region gets its own queue, which
 * the client starts on and only that region's worker polls.
 */
export function taskQueueFor(regionId: string, base: string = TASK_QUEUE_DEFAULT): string {
  return `${base}-${regionId}`;
}

/** Connection options for both @temporalio/client Connection and @temporalio/worker NativeConnection. */
export function temporalConnectionOptions(t: TemporalSettings): {
  address: string;
  apiKey?: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
} {
  const read = (path: string, variable: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${variable}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const tls = t.tls
    ? {
        serverNameOverride: t.tls.serverName,
        serverRootCACertificate: t.tls.caPath ? read(t.tls.caPath, 'TEMPORAL_TLS_CA_PATH') : undefined,
        clientCertPair:
          t.tls.clientCertPath && t.tls.clientKeyPath
            ? {
                crt: read(t.tls.clientCertPath, 'TEMPORAL_TLS_CERT_PATH'),
                key: read(t.tls.clientKeyPath, 'TEMPORAL_TLS_KEY_PATH'),
              }
            : undefined,
      }
    : undefined;
  return { address: t.address, apiKey: t.apiKey, tls };
}

/** The effective configuration for logs: paths and names only, never a secret (the API key shows as set/unset). */
export function describeConfig(config: AppConfig): Record<string, unknown> {
  const t = config.temporal;
  return {
    temporal: {
      address: t.address,
      namespace: t.namespace,
      taskQueue: config.cloud.regionId
        ? taskQueueFor(config.cloud.regionId, t.taskQueue)
        : taskQueueFor('<region>', t.taskQueue),
      tls: t.tls ? (t.tls.clientCertPath ? 'mTLS' : 'on') : 'off',
      apiKey: t.apiKey ? 'set' : 'unset',
      payloadEncryption: t.payloadKeys
        ? `on (key id ${keyId(t.payloadKeys.current)}${t.payloadKeys.previous.length ? `; previous ${t.payloadKeys.previous.map(keyId).join(', ')}` : ''})`
        : 'off',
      ...(t.tls?.serverName ? { tlsServerName: t.tls.serverName } : {}),
    },
    cloud: {
      regionId: config.cloud.regionId ?? '(unset)',
      ecsEndpoint: config.cloud.ecsEndpoint ?? 'regional default (HTTPS)',
      vpcEndpoint: config.cloud.vpcEndpoint ?? 'regional default (HTTPS)',
      credentials: '@alicloud/credentials default chain',
    },
    ssh: {
      sshConfig: config.ssh.sshConfigPath ?? '(unset)',
      user: config.ssh.user ?? '(default)',
      privateKey: config.ssh.privateKeyPath ?? '(unset)',
    },
    guestScripts: config.guestScriptsPath ?? '(built-in only)',
    rateLimits: Object.fromEntries(
      Object.entries(config.rateLimits ?? rateLimitsWith()).map(([action, rate]) => [
        action,
        formatRate(rate),
      ]),
    ),
    ...(config.pollIntervalMs ? { pollIntervalMs: config.pollIntervalMs } : {}),
    // What the waits start from, the configured over Alibaba Cloud's typical durations, as the variable takes it.
    transitionMs: formatTransitionMs({ ...TYPICAL_TRANSITION_MS, ...config.transitionMs }),
    eipQuota: config.eipQuota ?? 20,
    maxCachedWorkflows: config.maxCachedWorkflows ?? "the SDK's default (from the heap size)",
    metrics: config.metricsAddress ? `http://${config.metricsAddress}/metrics` : 'off',
    logs: `${config.logging?.format ?? DEFAULT_LOG_SETTINGS.format}, ${config.logging?.level ?? DEFAULT_LOG_SETTINGS.level}`,
    tracing: config.tracing ? `OTLP ${config.tracing.endpoint}` : 'off',
  };
}
