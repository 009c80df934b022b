#!/usr/bin/env node
// Runs the compiled CLI when the package is built (npm pack / global install), else the TypeScript sources
// through tsx (both its require and import hooks: the CLI loads some modules lazily).
const path = require('node:path');
const fs = require('node:fs');
const { pathToFileURL } = require('node:url');

const compiled = path.join(__dirname, '..', 'lib', 'cli.js');
if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  import(pathToFileURL(require.resolve('tsx')).href).then(() =>
    require(path.join(__dirname, '..', 'src', 'cli.ts')),
  );
}
