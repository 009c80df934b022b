/**
 * Writes the workflow bundle the worker loads (lib/workflows.bundle.js) and its manifest (see src/workflow-bundle.ts).
 * Part of `npm run build`; `npm run demo` passes --if-stale so that a current bundle is kept and the demo starts fast.
 *
 * `npm run build` writes both bundles, the plain one and the traced one (lib/workflows-traced.bundle.js, with tracing's
 * workflow interceptors), which a worker with OTEL_EXPORTER_OTLP_ENDPOINT loads.
 *
 *   node --import tsx scripts/build-workflow-bundle.ts [--if-stale] [--traced] [--out <path>.js]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { workflowTracingModule } from '../src/observability/tracing';
import {
  buildWorkflowBundle,
  chooseWorkflowBundle,
  TRACED_WORKFLOW_BUNDLE_PATH,
  WORKFLOW_BUNDLE_PATH,
} from '../src/workflow-bundle';

const { values } = parseArgs({
  options: { 'if-stale': { type: 'boolean' }, out: { type: 'string' }, traced: { type: 'boolean' } },
});

async function build(bundlePath: string, interceptorModules: string[] = []): Promise<void> {
  if (values['if-stale'] && 'codePath' in chooseWorkflowBundle({ bundlePath, checkSources: true })) return;
  const started = Date.now();
  const { bytes, sources } = await buildWorkflowBundle(bundlePath, interceptorModules);
  process.stderr.write(
    `workflow bundle: ${path.relative(process.cwd(), bundlePath)} (${(bytes / 1e6).toFixed(1)} MB, ` +
      `${sources.length} sources) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

async function main(): Promise<void> {
  if (values.out) return build(path.resolve(values.out), values.traced ? [workflowTracingModule()] : []);
  await build(WORKFLOW_BUNDLE_PATH);
  // The worker with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT) loads this one; the demo does not trace.
  if (values.traced || !values['if-stale'])
    await build(TRACED_WORKFLOW_BUNDLE_PATH, [workflowTracingModule()]);
}

main().catch((err: unknown) => {
  process.stderr.write(`workflow bundle: failed: ${(err as Error).message}\n`);
  process.exit(1);
});
