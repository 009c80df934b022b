import type { CommandResult, RunOptions, SshRunner } from '../ssh';
import { commandLine, type GuestScript } from './script';

/** Runs a guest script over SSH on `address`, through sudo when it needs root and the login user is not root. */
export function runGuestScript(
  ssh: SshRunner,
  address: string,
  script: GuestScript,
  opts?: RunOptions,
): Promise<CommandResult> {
  return ssh.run(address, commandLine(script, ssh.user(address)), opts);
}
