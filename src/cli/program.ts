/** The `eni-migrate` command tree: one file per command under src/cli/, as oclif lays them out. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { approveCommand } from './approve';
import { batchCommand } from './batch';
import { cancelCommand } from './cancel';
import { cloudCommand } from './cloud';
import { codecServerCommand } from './codec-server';
import { demoCommand } from './demo';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { listCommand } from './list';
import { migrateCommand } from './migrate';
import { revertCommand } from './revert';
import { retryRollbackCommand, rollForwardCommand } from './rollback';
import { scheduleCommand } from './schedule';
import { statusCommand } from './status';
import { workerCommand } from './worker';

// src/cli/ and lib/cli/ both sit two levels below the package root.
const VERSION: string = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('eni-migrate')
    .description(
      "Move an Alibaba Cloud ECS instance's NAT public IP onto a secondary ENI (EIP in NAT mode, egress via SNAT),\n" +
        'as a Temporal durable workflow. Try it locally first: eni-migrate demo',
    )
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const make of [
    migrateCommand,
    statusCommand,
    approveCommand,
    cancelCommand,
    revertCommand,
    retryRollbackCommand,
    rollForwardCommand,
    listCommand,
    batchCommand,
    scheduleCommand,
    workerCommand,
    cloudCommand,
    codecServerCommand,
    demoCommand,
  ]) {
    program.addCommand(make(setExitCode));
  }
  // Commander exits by itself on a usage error; route that through our exit codes instead (2, not 1).
  const exitOverride = (err: CommanderError) => {
    throw err;
  };
  // Every level of the tree: `batch start`'s usage errors too.
  const override = (command: Command): void => {
    command.exitOverride(exitOverride);
    for (const sub of command.commands) override(sub);
  };
  override(program);
  return program;
}

/** Parses argv, runs the command, returns the exit code (usage errors: 2; --help and --version: 0). */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (naming the flag) on stderr.
      if (err.exitCode === 0) return ExitCode.OK; // --help, --version
      // A script that asked for --json reads stdout: give it the one document, as for any other error.
      if (wantsJson(argv)) {
        const doc = { error: err.message.replace(/^error: /, ''), exitCode: ExitCode.USAGE };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      }
      return ExitCode.USAGE;
    }
    throw err;
  }
  return exitCode;
}

/** Whether --json is among the options (argv as process.argv: node and the script first; `--` ends options). */
function wantsJson(argv: string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}
