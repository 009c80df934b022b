import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { resolveTemporalCli, withSdkDownload } from './cli-path';
import { freePort } from './free-port';
import { guardAgainstOrphan, signalGroup } from './orphan-guard';
import { ensureSearchAttributes, missingSearchAttributes, searchAttributeFlags } from './search-attributes';

/** A running `temporal server start-dev` on loopback. */
export interface DevServer {
  /** gRPC frontend, `127.0.0.1:<port>`. */
  address: string;
  namespace: string;
  /** Web UI, when started with `ui: true`. */
  uiUrl?: string;
  /** The server process (absent when the SDK started it from its own download). */
  pid?: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Created at start (`default` always exists too). Default `default`. */
  namespace?: string;
  /** gRPC port. Default: a free one. */
  port?: number;
  /** Serve the Web UI. Default false. */
  ui?: boolean;
  /** Web UI port when `ui`. Default: a free one. */
  uiPort?: number;
  /**
   * The Web UI's codec endpoint when `ui` (`--ui-codec-endpoint`): a codec server (e.g. `eni-migrate codec-server`)
   * the browser calls to decode payloads, which must answer CORS for the UI's origin. Default: none.
   */
  uiCodecEndpoint?: string;
  /** SQLite file to keep workflow histories across restarts. Default: in memory. */
  dbFilename?: string;
  /** Server log level. Default `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait until the server answers and lists the search attributes. Default 60 s. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  stopGraceMs?: number;
}

/**
 * The dynamic config the SDK's own ephemeral dev server sets (sdk-core ephemeral_server/mod.rs): updates
 * enabled, and no version check phoning home (there is no internet here).
 */
const DYNAMIC_CONFIG = [
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  'frontend.enableServerVersionCheck=false',
];

/**
 * One partition per task queue (the server's default is 4): a queue's rate limit is split evenly among its
 * partitions, so with several it admits bursts of up to rate + partitions (docs/configuration.md, "Rate limits").
 */
const ONE_PARTITION = ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'];

const PORT_ATTEMPTS = 3;

/**
 * Starts a real Temporal dev server with the project's search attributes and waits until it accepts work.
 *
 * We spawn `temporal server start-dev` ourselves rather than through the SDK: the SDK gives the server a hard-coded
 * 5 s to come up, too short on a loaded 2-core CI machine. Only when no CLI is installed do we fall back to the
 * SDK's download (internet needed).
 *
 * The server does not keep this process alive, and it dies with this process (see orphan-guard.ts): keep the
 * process busy (a Worker, a signal wait) for as long as you need the server, and call stop() for a clean exit.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = await resolveTemporalCli();
  if (cli.source === 'sdk-download') return startFromSdkDownload(opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnDevServer(cli.path, opts);
    } catch (err) {
      // Another process took a probed port between our probe and the server's bind: probe again.
      const portsWerePicked = opts.port === undefined && (!opts.ui || opts.uiPort === undefined);
      if (err instanceof PortTakenError && portsWerePicked && attempt < PORT_ATTEMPTS) continue;
      throw err;
    }
  }
}

class PortTakenError extends Error {
  override name = 'PortTakenError';
}

async function spawnDevServer(cliPath: string, opts: DevServerOptions): Promise<DevServer> {
  const namespace = opts.namespace ?? 'default';
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    opts.logLevel ?? 'warn',
    // No internet: the UI's news feed would only log fetch errors.
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-disable-news-fetch']),
    ...(uiPort !== undefined && opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
    ...(opts.dbFilename ? ['--db-filename', opts.dbFilename] : []),
    ...[...DYNAMIC_CONFIG, ...ONE_PARTITION].flatMap((value) => ['--dynamic-config-value', value]),
    ...searchAttributeFlags(SEARCH_ATTRIBUTES),
  ];

  const started = Date.now();
  const child = spawn(cliPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches us first, and we can signal the server with whatever it spawned.
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  const output = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  // The server must not keep this process alive; the orphan guard kills it when we go.
  child.unref();
  for (const stream of [child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  const release = guardAgainstOrphan(child);
  const exited = exitOf(child);

  const stop = once(async () => {
    await terminate(child, exited, opts.stopGraceMs ?? 10_000);
    release();
  });

  try {
    await waitUntilReady(address, namespace, started + (opts.startTimeoutMs ?? 60_000), exited);
  } catch (err) {
    await stop();
    const tail = output.text();
    if (/address already in use/i.test(tail)) throw new PortTakenError(`port taken: ${tail}`);
    throw new Error(
      `Temporal dev server (${cliPath} ${args.join(' ')}) did not become ready: ${(err as Error).message}` +
        (tail ? `\n--- server output ---\n${tail}` : ''),
      { cause: err },
    );
  }
  return {
    address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    pid: child.pid,
    stop,
  };
}

/**
 * Ready means: the frontend answers, the namespace exists and it lists the project's search attributes.
 * (A listening socket alone is not enough: the frontend accepts connections before the namespace is registered.)
 */
async function waitUntilReady(
  address: string,
  namespace: string,
  deadline: number,
  exited: Promise<ExitInfo>,
) {
  const died = exited.then((info) => {
    throw new Error(`the server exited (${info.signal ?? `code ${info.code}`})`);
  });
  died.catch(() => undefined);
  let connection: Connection | undefined;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      try {
        await Promise.race([
          died,
          (async () => {
            connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
            const conn = connection;
            await conn.withDeadline(Date.now() + 5_000, async () => {
              await conn.workflowService.getSystemInfo({});
              await conn.workflowService.describeNamespace({ namespace });
              const missing = await missingSearchAttributes(conn, namespace);
              if (missing.length > 0)
                throw new Error(`search attributes not listed yet: ${missing.map((k) => k.name)}`);
            });
          })(),
        ]);
        return;
      } catch (err) {
        lastError = err;
        if (await isSettled(died)) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`not ready within the start timeout; last error: ${(lastError as Error)?.message}`);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Without a CLI binary: let the SDK download one (internet needed), within a time limit. */
async function startFromSdkDownload(opts: DevServerOptions): Promise<DevServer> {
  const namespace = opts.namespace ?? 'default';
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const env = await withSdkDownload(
    'cli',
    () =>
      TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'cached-download' },
          namespace,
          ip: '127.0.0.1',
          port: opts.port,
          ui: opts.ui,
          uiPort,
          dbFilename: opts.dbFilename,
          log: { format: 'pretty', level: opts.logLevel ?? 'warn' },
          searchAttributes: [...SEARCH_ATTRIBUTES],
          extraArgs: [
            ...ONE_PARTITION.flatMap((value) => ['--dynamic-config-value', value]),
            ...(opts.ui && opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
          ],
        },
      }),
    (late) => late.teardown(),
  );
  try {
    await ensureSearchAttributes(env.connection, namespace);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return {
    address: env.address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    stop: once(() => env.teardown()),
  };
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // spawn failures (ENOENT, EACCES) emit 'error' and possibly no 'exit'.
    child.once('error', () => resolve({ code: child.exitCode ?? -1, signal: child.signalCode }));
  });
}

async function terminate(child: ChildProcess, exited: Promise<ExitInfo>, graceMs: number): Promise<void> {
  if (child.pid === undefined) return;
  signalGroup(child, 'SIGTERM');
  // This timer is ref'd on purpose: it keeps us alive until the server is gone.
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace-over'>((resolve) => {
    timer = setTimeout(() => resolve('grace-over'), graceMs);
  });
  if ((await Promise.race([exited, graceOver])) === 'grace-over') {
    signalGroup(child, 'SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    Promise.resolve(pending),
  ]);
  return winner !== pending;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/** The last lines the server printed, for error messages. */
class OutputTail {
  private chunks: string[] = [];
  private size = 0;
  private static readonly LIMIT = 16_384;

  push(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > OutputTail.LIMIT && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return this.chunks.join('').slice(-OutputTail.LIMIT).trim();
  }
}
