/**
 * Writes the workflow bundle the worker loads (lib/workflows.bundle.js) and its manifest (see src/workflow-bundle.ts).
 * Part of `npm run build`; `npm run demo` passes --if-stale so that a current bundle is kept and the demo starts fast.
 *
 *   node --import tsx scripts/build-workflow-bundle.ts [--if-stale] [--out <path>.js]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildWorkflowBundle, chooseWorkflowBundle, WORKFLOW_BUNDLE_PATH } from '../src/workflow-bundle';

const { values } = parseArgs({ options: { 'if-stale': { type: 'boolean' }, out: { type: 'string' } } });
const bundlePath = path.resolve(values.out ?? WORKFLOW_BUNDLE_PATH);

async function main(): Promise<void> {
  if (values['if-stale'] && 'codePath' in chooseWorkflowBundle({ bundlePath, checkSources: true })) return;
  const started = Date.now();
  const { bytes, sources } = await buildWorkflowBundle(bundlePath);
  process.stderr.write(
    `workflow bundle: ${path.relative(process.cwd(), bundlePath)} (${(bytes / 1e6).toFixed(1)} MB, ` +
      `${sources.length} sources) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`workflow bundle: failed: ${(err as Error).message}\n`);
  process.exit(1);
});
