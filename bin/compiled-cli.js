'use strict';
// Which CLI runs: the compiled one (lib/cli.js) when it is current, else the TypeScript sources through tsx. In a
// package (npm pack, a global install) there are no sources and lib/ is current by construction; in a clone, a lib/
// older than any source file is stale (a pull or an edit since the last `npm run build`) and would run old code.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const COMPILED = path.join(ROOT, 'lib', 'cli.js');
const SOURCES = path.join(ROOT, 'src');

function compiledCliIsCurrent() {
  if (!fs.existsSync(COMPILED)) return false;
  if (!fs.existsSync(SOURCES)) return true;
  const built = fs.statSync(COMPILED).mtimeMs;
  // An editor's lock file or a file removed meanwhile cannot be compared: the sources run, rather than a crash.
  const older = (f) => {
    try {
      return fs.statSync(path.join(SOURCES, f)).mtimeMs <= built;
    } catch {
      return false;
    }
  };
  return fs
    .readdirSync(SOURCES, { recursive: true })
    .filter((f) => f.endsWith('.ts'))
    .every(older);
}

/** `process.execPath` with these arguments, then the command's own, runs `eni-migrate`. */
function cliArgv() {
  return compiledCliIsCurrent() ? [COMPILED] : ['--import', 'tsx', path.join(SOURCES, 'cli.ts')];
}

module.exports = { COMPILED, SOURCES, compiledCliIsCurrent, cliArgv };
