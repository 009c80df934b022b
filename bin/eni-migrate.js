#!/usr/bin/env node
// Runs the compiled CLI when it is current (a package, or a clone built since its last change), else the TypeScript
// sources through tsx (both its require and import hooks: the CLI loads some modules lazily).
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { COMPILED, SOURCES, compiledCliIsCurrent } = require('./compiled-cli');

if (compiledCliIsCurrent()) {
  require(COMPILED);
} else {
  let tsx;
  try {
    tsx = require.resolve('tsx');
  } catch {
    process.stderr.write(
      'eni-migrate: its dependencies are not installed: run `npm ci` (or `npm run setup`) first\n',
    );
    process.exit(2);
  }
  import(pathToFileURL(tsx).href).then(() => require(path.join(SOURCES, 'cli.ts')));
}
