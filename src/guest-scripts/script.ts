/**
 * A guest script: shell text that the worker's operator defines and a workflow input only names. Whoever may start a
 * workflow must not be able to run commands of their own (as root) on an instance, and the text must stay out of the
 * workflow history: the name travels through Temporal, the text stays on the worker.
 */
export interface GuestScript {
  name: string;
  /** What it does and for which images: shown by the docs and in error messages. */
  description: string;
  /** The shell text, run over SSH as one command line. */
  command: string;
  /** It needs root: a non-root SSH user runs it through `sudo -n` (which fails at once instead of asking a password). */
  root: boolean;
  /**
   * What its answer (stdout) must be. `ipv4`: the first address in it is the instance's outbound IPv4 address (an
   * egress check). Absent: only the exit code counts.
   */
  answer?: 'ipv4';
  /**
   * The script takes the new NIC's `{{device}}`, `{{address}}`, `{{prefixLength}}`, `{{gateway}}` and `{{table}}` as
   * Cloud Assistant custom parameters: it runs through Cloud Assistant only.
   */
  nicParameters?: boolean;
}

/** Script names: short, lowercase, safe in a flag, a log line and a file. Shared by the CLI and the registry file. */
export const GUEST_SCRIPT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const GUEST_SCRIPT_NAME_HELP =
  'lowercase letters, digits, ".", "_" and "-", at most 64, e.g. secondary-nic-setup';

/** POSIX single quotes: nothing inside is special, and a quote is closed, escaped and reopened. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs `script` when logged in as `user`. A root script runs through `sudo -n sh -c` for any
 * other user, so a whole script (with `&&`, `;`) runs as root, not just its first command.
 */
export function commandLine(script: GuestScript, user: string): string {
  if (!script.root || user === 'root') return script.command;
  return `sudo -n sh -c ${shellQuote(script.command)}`;
}
