// The workflow bundle that `npm run build` writes (scripts/build-workflow-bundle.ts): a worker runs workflows from it,
// and a worker running from sources notices when it no longer matches them (src/workflow-bundle.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { chooseWorkflowBundle, loadWorkflowBundle } from '../src/workflow-bundle';

const ROOT = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'workflow-bundle-'));
const bundlePath = path.join(dir, 'workflows.bundle.js');
const manifestPath = path.join(dir, 'workflows.bundle.json');
const readManifest = () => JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, string>;

/** A copy of the built bundle whose manifest `edit` changed. */
function copyWith(edit: (manifest: Record<string, string>) => void): string {
  const copy = mkdtempSync(path.join(dir, 'copy-'));
  copyFileSync(bundlePath, path.join(copy, 'workflows.bundle.js'));
  const manifest = readManifest();
  edit(manifest);
  writeFileSync(path.join(copy, 'workflows.bundle.json'), JSON.stringify(manifest));
  return path.join(copy, 'workflows.bundle.js');
}

describe('workflow bundle', () => {
  before(async () => {
    // The script exactly as `npm run build` runs it, into a directory of the test's own.
    const { stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts', 'build-workflow-bundle.ts'), '--out', bundlePath],
      { cwd: ROOT },
    );
    assert.match(
      stderr,
      /^workflow bundle: .*workflows\.bundle\.js \([\d.]+ MB, \d+ sources\) in [\d.]+ s\n$/,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the workflows: a recorded migration replays against it', async () => {
    const history = JSON.parse(
      readFileSync(path.join(ROOT, 'test', 'fixtures', 'histories', '0.1.0', 'verified.json'), 'utf8'),
    );
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: bundlePath }, replayName: 'prebuilt' },
      history,
      'replay-prebuilt',
    );
  });

  it('lists in its manifest the files bundled, not the activities (imported for their types only)', () => {
    const files = Object.keys(readManifest());
    for (const file of ['src/workflows/index.ts', 'src/shared/migration.ts', 'package-lock.json'])
      assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
    // Besides workflows and shared types: the metric names the workflows record (src/observability/metrics.ts) and
    // the messages they log (src/observability/log-events.ts).
    // And how the bundle is made (its options: preloaded modules), so that a change to them makes it stale.
    assert.deepEqual(
      files.filter((f) => !f.startsWith('src/workflows/') && !f.startsWith('src/shared/')),
      [
        'package-lock.json',
        'src/observability/log-events.ts',
        'src/observability/metrics.ts',
        'src/workflow-bundle.ts',
      ],
    );
  });

  it('preloads the workflow modules once for every workflow, so none of them keeps state of its own', () => {
    const code = readFileSync(bundlePath, 'utf8');
    const preload = /function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    assert.match(preload, /src\/workflows\/index\.ts/, 'the workflows are preloaded');
    // Preloaded modules are shared by every workflow of a worker: a module-level variable or collection written by one
    // workflow would be seen by the next. None may exist but these, read-only or written by activities only.
    const allowed = new Map([
      ['src/workflows/migrate-instance.ts', ['BIND_BACK_IMPOSSIBLE']], // read-only set of codes
      ['src/workflows/revert-instance.ts', ['ENI_GONE']], // read-only set of codes
      ['src/observability/metrics.ts', ['instrumentsOf']], // per MetricMeter; only activities record cloud calls
    ]);
    for (const file of Object.keys(readManifest()).filter((f) => f.startsWith('src/'))) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const [, kind, name] of text.matchAll(
        /^(?:export )?(let|var|const) (\w+)(?:: [^=]+)? = new (?:Map|Set|WeakMap|WeakSet|Array)\b/gm,
      ))
        assert.ok(allowed.get(file)?.includes(name), `${file}: top-level ${kind} ${name} is a collection`);
      for (const [line] of text.matchAll(/^(?:export )?(?:let|var) \w+.*$/gm))
        assert.fail(`${file}: top-level "${line}" is state every workflow would share`);
    }
  });

  it('is loaded as it is while the sources match it', async () => {
    assert.deepEqual(chooseWorkflowBundle({ bundlePath, checkSources: true }), { codePath: bundlePath });
    const lines: string[] = [];
    assert.deepEqual(await loadWorkflowBundle((l) => lines.push(l), { bundlePath, checkSources: true }), {
      codePath: bundlePath,
    });
    assert.deepEqual(lines, []);
  });

  it('is bundled again at start when a source changed, or when the bundle or its manifest is missing', () => {
    const changed = copyWith((m) => (m['src/workflows/index.ts'] = 'an older hash'));
    assert.match(
      (chooseWorkflowBundle({ bundlePath: changed, checkSources: true }) as { rebundle: string }).rebundle,
      /older than src\/workflows\/index\.ts$/,
    );
    const gone = copyWith((m) => (m['src/workflows/deleted.ts'] = 'a hash'));
    assert.match(
      (chooseWorkflowBundle({ bundlePath: gone, checkSources: true }) as { rebundle: string }).rebundle,
      /older than src\/workflows\/deleted\.ts$/,
    );
    const noManifest = copyWith(() => undefined);
    rmSync(noManifest.replace(/\.js$/, '.json'));
    assert.match(
      (chooseWorkflowBundle({ bundlePath: noManifest, checkSources: true }) as { rebundle: string }).rebundle,
      /no readable manifest/,
    );
    const missing = path.join(dir, 'nowhere', 'workflows.bundle.js');
    assert.match(
      (chooseWorkflowBundle({ bundlePath: missing, checkSources: true }) as { rebundle: string }).rebundle,
      /is missing$/,
    );
  });

  it('is trusted as it is when running from lib/ (an installed package has no sources to compare)', () => {
    const changed = copyWith((m) => (m['src/workflows/index.ts'] = 'an older hash'));
    assert.deepEqual(chooseWorkflowBundle({ bundlePath: changed, checkSources: false }), {
      codePath: changed,
    });
  });
});
