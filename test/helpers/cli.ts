// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cliArgv } = require('../../bin/compiled-cli') as { cliArgv(): string[] };

/**
 * How a test runs `eni-migrate`: `process.execPath` with these arguments, then the command's own. The compiled CLI
 * (lib/, from `npm run build`, as CI runs it) when it is newer than every source file: it starts in about half the
 * time of the sources through tsx, and the CLI tests spawn it about a hundred times. Otherwise (a source edited since
 * the last build) the sources through tsx, so a test never runs stale code (bin/compiled-cli.js, as bin/eni-migrate.js).
 */
export const CLI_ARGV: readonly string[] = cliArgv();
