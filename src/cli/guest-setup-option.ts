/** --guest-setup and --guest-prepare-script, shared by `migrate`, `batch start` and `schedule create`. */
import { Option } from 'commander';
import type { GuestSetup } from '../shared/migration';
import { CliError, ExitCode } from './exit-codes';
import { parseScriptName } from './validate';

export interface GuestSetupFlags {
  guestPrepareScript?: string;
  guestSetup?: GuestSetup;
}

/** --guest-prepare-script: input `guestPrepareScript`. */
export const guestPrepareScriptOption = () =>
  new Option(
    '--guest-prepare-script <name>',
    "guest script (of the worker's configuration) that sets the guest up for its new NIC, e.g. secondary-nic-setup (with --guest-setup cloud-assistant: instead of the built-in one for the instance's OS)",
  ).argParser(parseScriptName);

/** --guest-setup: input `guestSetup`. */
export const guestSetupOption = () =>
  new Option(
    '--guest-setup <how>',
    'how the guest is set up for its new NIC after step 3: a script through Cloud Assistant, over SSH (needs --guest-prepare-script), or none (default: cloud-assistant; ssh when only --guest-prepare-script is given)',
  ).choices(['cloud-assistant', 'ssh', 'none']);

/**
 * --guest-setup, or its default: Cloud Assistant, except that a lone --guest-prepare-script keeps release 0.4's SSH
 * route. The CLI always states it in the input, so the workflow never falls back to 0.4's input default (`none`).
 */
export function guestSetupOf(flags: GuestSetupFlags): GuestSetup {
  const how = flags.guestSetup ?? (flags.guestPrepareScript ? 'ssh' : 'cloud-assistant');
  if (how === 'ssh' && !flags.guestPrepareScript)
    throw new CliError(
      '--guest-setup ssh needs --guest-prepare-script <name>: the script to run over SSH (e.g. secondary-nic-setup)',
      ExitCode.USAGE,
    );
  return how;
}
