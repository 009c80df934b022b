import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const COMPILED = path.join(ROOT, 'lib', 'cli.js');

/**
 * How a test runs `eni-migrate`: `process.execPath` with these arguments, then the command's own. The compiled CLI
 * (lib/, from `npm run build`, as CI runs it) when it is newer than every source file: it starts in about half the
 * time of the sources through tsx, and the CLI tests spawn it about a hundred times. Otherwise (a source edited since
 * the last build) the sources through tsx, so a test never runs stale code.
 */
export const CLI_ARGV: readonly string[] = compiledIsCurrent()
  ? [COMPILED]
  : ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts')];

function compiledIsCurrent(): boolean {
  if (!existsSync(COMPILED)) return false;
  const built = statSync(COMPILED).mtimeMs;
  const src = path.join(ROOT, 'src');
  return (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .every((f) => statSync(path.join(src, f)).mtimeMs <= built);
}
