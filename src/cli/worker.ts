/** `eni-migrate worker`: run the migration worker (configuration from the environment). */
import { Command } from 'commander';
import { ENV_VARS } from '../config';
import { ExitCode } from './exit-codes';
import { loadWorker } from './lazy';
import { runCommand } from './output';

export function workerCommand(setExitCode: (code: number) => void): Command {
  const envHelp = ENV_VARS.map(
    (v) => `  ${v.name.padEnd(34)} ${v.description}${v.default ? ` Default: ${v.default}.` : ''}`,
  );
  return new Command('worker')
    .description('run the migration worker until SIGINT/SIGTERM (configured by environment variables)')
    .addHelpText(
      'after',
      [
        '',
        'Environment:',
        ...envHelp,
        '  Alibaba Cloud credentials: the @alicloud/credentials default chain (ALIBABA_CLOUD_ACCESS_KEY_ID /',
        '  ALIBABA_CLOUD_ACCESS_KEY_SECRET, ~/.alibabacloud/credentials profiles, ECS RAM roles, OIDC).',
        "  Many migrations on one worker (Linux): glibc's MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 keep",
        '  its memory down (docs/configuration.md, "A worker for many migrations").',
      ].join('\n'),
    )
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
