/** `eni-migrate worker`: run the migration worker (configuration from the environment). */
import { Command, Help } from 'commander';
import { ENV_VARS, MANY_MIGRATIONS_MALLOC_ENV, MANY_MIGRATIONS_NODE_FLAGS } from '../config';
import { ExitCode } from './exit-codes';
import { loadWorker } from './lazy';
import { runCommand } from './output';

/** The variables' table (and node's flags) after the options, wrapped to the terminal as commander wraps the options. */
function environmentHelp(): string {
  const help = new Help();
  help.prepareContext({ helpWidth: process.stdout.isTTY ? process.stdout.columns : 80 });
  const item = (term: string, description: string) => help.formatItem(term, 34, description, help);
  return [
    '',
    'Environment:',
    ...ENV_VARS.map((v) => item(v.name, `${v.description}${v.default ? ` Default: ${v.default}.` : ''}`)),
    item(
      'Alibaba Cloud credentials',
      'The @alicloud/credentials default chain (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, ~/.alibabacloud/credentials profiles, ECS RAM roles, OIDC).',
    ),
    // glibc's, not the worker's: it reads them when the process starts.
    ...Object.entries(MANY_MIGRATIONS_MALLOC_ENV).map(([name, value]) =>
      item(
        name,
        `glibc's: ${value} for a worker of many migrations (docs/configuration.md, "A worker for many migrations").`,
      ),
    ),
    '',
    // V8's, on node's command line: NODE_OPTIONS refuses it, and npx or the bin's shebang cannot carry it.
    'Node flags:',
    ...MANY_MIGRATIONS_NODE_FLAGS.map((flag) =>
      item(
        flag,
        `V8's, for a worker of many migrations: node ${flag} <path>/bin/eni-migrate.js worker (not through npx; docs/configuration.md, "A worker for many migrations").`,
      ),
    ),
  ].join('\n');
}

export function workerCommand(setExitCode: (code: number) => void): Command {
  return new Command('worker')
    .description('run the migration worker until SIGINT/SIGTERM (configured by environment variables)')
    .addHelpText('after', environmentHelp)
    .action(async () =>
      setExitCode(
        await runCommand(false, async () => {
          const { runWorker } = loadWorker();
          await runWorker();
          return ExitCode.OK;
        }),
      ),
    );
}
