/**
 * The workflow bundle. Temporal runs workflow code from one webpack bundle, and bundling takes seconds: so
 * `npm run build` bundles once (scripts/build-workflow-bundle.ts writes lib/workflows.bundle.js) and the worker loads
 * that file instead of bundling src/workflows at every start.
 *
 * Staleness: the CLI and the demo usually run from the TypeScript sources (bin/eni-migrate.js through tsx), where a
 * bundle built before an edit to src/workflows would silently run the old workflow code. So the build writes a
 * manifest beside the bundle (lib/workflows.bundle.json): the SHA-256 of every project file webpack read, plus
 * package-lock.json (the bundle also holds the SDK's workflow runtime from node_modules). Running from sources, the
 * worker loads the bundle only when none of those files changed; otherwise it bundles at start and says so. Running
 * from lib/ (the installed package, which has no sources) lib/ is one build: its bundle matches the code beside it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BundleOptions, Logger, WorkflowBundleOption } from '@temporalio/worker';
import { bundlerLogger } from './observability/logging';

// Required only to bundle: `build-workflow-bundle.ts --if-stale`, run before every `npm run demo`, decides ~1 s sooner.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundler = (): typeof import('@temporalio/worker') => require('@temporalio/worker');

const ROOT = path.resolve(__dirname, '..');
export const WORKFLOW_BUNDLE_PATH = path.join(ROOT, 'lib', 'workflows.bundle.js');
/** The same workflow code with tracing's workflow interceptors (src/observability/workflow-tracing.ts). */
export const TRACED_WORKFLOW_BUNDLE_PATH = path.join(ROOT, 'lib', 'workflows-traced.bundle.js');
/** This module runs from src/ (tsx), not from lib/: the sources are what runs, and the bundle must match them. */
const RUNNING_FROM_SOURCES = __filename.endsWith('.ts');

/** Project-relative path → SHA-256 of the file as bundled. */
type Manifest = Record<string, string>;

/** Where to find the bundle, and whether to check it against the sources (default: when running from them). */
export interface BundleLocation {
  bundlePath?: string;
  checkSources?: boolean;
}

/** Load the bundle at `codePath`, or bundle from the sources at start, because of `rebundle`. */
export type BundleChoice = { codePath: string } | { rebundle: string };

export function chooseWorkflowBundle({
  bundlePath = WORKFLOW_BUNDLE_PATH,
  checkSources = RUNNING_FROM_SOURCES,
}: BundleLocation = {}): BundleChoice {
  const shown = path.relative(ROOT, bundlePath);
  if (!existsSync(bundlePath)) return { rebundle: `${shown} is missing` };
  if (!checkSources) return { codePath: bundlePath };
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(bundlePath), 'utf8')) as Manifest;
  } catch {
    return { rebundle: `${shown} has no readable manifest` };
  }
  if (Object.keys(manifest).length === 0) return { rebundle: `${shown} has an empty manifest` };
  const changed = Object.keys(manifest).filter((file) => hashFile(path.join(ROOT, file)) !== manifest[file]);
  if (changed.length > 0)
    return {
      rebundle: `${shown} is older than ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''}`,
    };
  return { codePath: bundlePath };
}

/**
 * For Worker.create: the prebuilt bundle when it is current, else a bundle made now (one log line says why). With a
 * `logger` (the runtime's), webpack's statistics go there at debug; without, nowhere (its errors to stderr).
 */
export async function loadWorkflowBundle(
  log: (line: string) => void,
  location: BundleLocation & {
    /** Workflow interceptor modules (tracing's): the prebuilt bundle has none, so these bundle at start. */
    interceptorModules?: string[];
  } = {},
  logger?: Logger,
): Promise<WorkflowBundleOption> {
  const interceptorModules = location.interceptorModules ?? [];
  // With interceptors (tracing's), the traced bundle; its manifest vouches for the interceptor module too.
  const choice = chooseWorkflowBundle(
    interceptorModules.length > 0 && !location.bundlePath
      ? { ...location, bundlePath: TRACED_WORKFLOW_BUNDLE_PATH }
      : location,
  );
  if ('codePath' in choice) return choice;
  log(
    `eni-migrate worker: bundling the workflow code at start (a few seconds) because ${choice.rebundle}; ` +
      '`npm run build` avoids this',
  );
  // src/workflows from sources, lib/workflows from an installed package without a bundle.
  return bundler().bundleWorkflowCode({
    ...workflowBundleOptions(require.resolve('./workflows'), interceptorModules),
    ...(logger ? { logger: bundlerLogger(logger) } : {}),
  });
}

/** Bundles src/workflows into `bundlePath` and writes its manifest. Used by scripts/build-workflow-bundle.ts. */
export async function buildWorkflowBundle(
  bundlePath = WORKFLOW_BUNDLE_PATH,
  interceptorModules: string[] = [],
): Promise<{ bytes: number; sources: string[] }> {
  const started = Date.now();
  // A build that fails from here on must not leave the last bundle beside newer code: remove it first.
  rmSync(manifestPath(bundlePath), { force: true });
  rmSync(bundlePath, { force: true });
  const read: string[] = [];
  const { code } = await bundler().bundleWorkflowCode({
    ...workflowBundleOptions(path.join(ROOT, 'src', 'workflows', 'index.ts'), interceptorModules),
    // Webpack knows exactly which files went into the bundle: record them, rather than guess a list of folders.
    webpackConfigHook: (config) => ({ ...config, plugins: [...(config.plugins ?? []), recordInputs(read)] }),
  });
  const src = path.join(ROOT, 'src') + path.sep;
  const sources = [
    ...new Set(read.filter((f) => f.startsWith(src) && existsSync(f) && statSync(f).isFile())),
    path.join(ROOT, 'package-lock.json'),
    // How the bundle is made (workflowBundleOptions: preloaded modules): a bundle made otherwise is stale too.
    __filename.replace(/\.js$/, '.ts').replace(`${path.sep}lib${path.sep}`, `${path.sep}src${path.sep}`),
  ];
  const manifest: Manifest = {};
  for (const file of sources.sort()) {
    // A file edited while webpack ran may be bundled in its old version: mark it changed, never vouch for it.
    const hash = statSync(file).mtimeMs >= started ? 'edited during the build' : hashFile(file);
    manifest[path.relative(ROOT, file).split(path.sep).join('/')] = hash ?? 'missing';
  }
  mkdirSync(path.dirname(bundlePath), { recursive: true });
  writeFileSync(bundlePath, code);
  writeFileSync(manifestPath(bundlePath), `${JSON.stringify(manifest, null, 2)}\n`);
  return { bytes: Buffer.byteLength(code), sources: Object.keys(manifest) };
}

/**
 * How every workflow bundle of this project is made (the build, a bundle made at start, the tests'): the workflow code
 * at `workflowsPath`, with its modules preloaded. A reusable V8 context otherwise evaluates every module of the
 * workflow code again for each workflow it runs (about 70 KB each: 70 MB of a worker's memory at 1,000 migrations in
 * flight); preloaded, they are evaluated once and shared. That is safe only while no module they load keeps state of
 * its own: each workflow's state lives in its function's scope (the trackers, the saga), and module scope holds
 * constants, pure functions, and proxies (proxyActivities, defineQuery…) that find the current workflow when called.
 * The SDK freezes what preloaded modules export, not their local variables: test/workflow-bundle.test.ts fails on a
 * module-level `let` or collection in any bundled file. Interceptor modules (tracing's, which keeps its tracer in a
 * module variable) are not preloaded: they stay per workflow.
 */
export function workflowBundleOptions(
  workflowsPath: string,
  interceptorModules: string[] = [],
): BundleOptions {
  return {
    workflowsPath,
    workflowInterceptorModules: interceptorModules,
    preloadModules: [workflowsPath],
    logger: quietBundlerLogger,
  };
}

const manifestPath = (bundlePath: string): string => bundlePath.replace(/\.js$/, '') + '.json';

function hashFile(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
type WebpackPlugin = Extract<NonNullable<WebpackConfig['plugins']>[number], (...args: never[]) => void>;

/** A webpack plugin that appends every file the compilation read to `into`. */
const recordInputs =
  (into: string[]): WebpackPlugin =>
  (compiler) =>
    compiler.hooks.done.tap('eni-migrate:record-inputs', (stats) => {
      into.push(...stats.compilation.fileDependencies);
    });

/** Webpack's statistics are noise on a worker's or a build's output; its errors are not. */
export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
