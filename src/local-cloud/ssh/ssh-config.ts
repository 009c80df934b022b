import { writeFile } from 'node:fs/promises';

export interface SshConfigEntry {
  /** The public address a user types: `ssh 203.0.113.10`. */
  publicIp: string;
  host: string;
  port: number;
}

export interface SshConfigOptions {
  user: string;
  identityFile: string;
  knownHostsFile: string;
}

/** OpenSSH splits arguments on whitespace; paths with spaces must be double-quoted. */
function arg(value: string): string {
  return /[\s"]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value;
}

/**
 * One `Host` block per public address, so `ssh -F <file> 203.0.113.10` needs nothing else.
 * HostKeyAlias records the host key under the public address rather than under 127.0.0.1:<port>: known_hosts
 * then reads like it would against the real cloud, and an address that starts answering with another
 * instance's key is flagged by OpenSSH exactly as a real man-in-the-middle warning would be.
 * The known_hosts file belongs to this cloud (its host keys are born with it), so another cloud's or an
 * earlier run's entries can never block a connection; `accept-new` records each key on first contact.
 */
export function renderSshConfig(entries: SshConfigEntry[], opts: SshConfigOptions): string {
  const header = [
    '# Written by the eni-migrate local cloud: every public address of the region, mapped to the',
    '# loopback port behind which answers the instance the address routes to now.',
    '',
  ];
  const blocks = entries.map((e) =>
    [
      `Host ${e.publicIp}`,
      `  HostName ${e.host}`,
      `  Port ${e.port}`,
      `  User ${arg(opts.user)}`,
      `  IdentityFile ${arg(opts.identityFile)}`,
      '  IdentitiesOnly yes',
      `  HostKeyAlias ${e.publicIp}`,
      `  UserKnownHostsFile ${arg(opts.knownHostsFile)}`,
      '  StrictHostKeyChecking accept-new',
      '',
    ].join('\n'),
  );
  return header.join('\n') + blocks.join('\n');
}

export async function writeSshConfig(
  path: string,
  entries: SshConfigEntry[],
  opts: SshConfigOptions,
): Promise<void> {
  // OpenSSH refuses a config that others can write; 0600 also keeps it out of other users' sight.
  await writeFile(path, renderSshConfig(entries, opts), { mode: 0o600 });
  // A fresh cloud has fresh host keys: start its known_hosts empty.
  await writeFile(opts.knownHostsFile, '', { mode: 0o600 });
}
