/**
 * OpenSSH known_hosts files, read-only: which host keys a user has already accepted for a host. Used for the
 * ProxyJump bastion, whose key the migration has no other way to know (an instance's key is pinned from its first
 * answer, in the workflow).
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fingerprintOf } from './fingerprint';

export interface KnownHostKeys {
  /** Fingerprints (SHA256:...) listed for the host. Empty: the host is not known. */
  accepted: Set<string>;
  /** Fingerprints marked @revoked: refused whatever else is listed. */
  revoked: Set<string>;
}

/** The name known_hosts records a host under: `host`, or `[host]:port` off port 22, or the HostKeyAlias as is. */
export function knownHostsName(host: string, port: number, hostKeyAlias?: string): string {
  if (hostKeyAlias) return hostKeyAlias;
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The keys these files list for `name` (missing files count as empty, like OpenSSH). */
export function knownHostKeys(files: readonly string[], name: string): KnownHostKeys {
  const found: KnownHostKeys = { accepted: new Set(), revoked: new Set() };
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const fields = raw.trim().split(/\s+/);
      if (!fields[0] || fields[0].startsWith('#')) continue;
      const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
      if (marker === '@cert-authority') continue; // certificates are not offered by ssh2's host verifier
      const [hosts, , keyBase64] = fields;
      if (!hosts || !keyBase64 || !hostsMatch(hosts, name)) continue;
      const fingerprint = fingerprintOf(Buffer.from(keyBase64, 'base64'));
      (marker === '@revoked' ? found.revoked : found.accepted).add(fingerprint);
    }
  }
  return found;
}

/**
 * Whether a host presenting `fingerprint` is accepted: refused when revoked or when known under other keys; a host
 * that is not listed is accepted, like StrictHostKeyChecking=accept-new (but nothing is written: the worker never
 * edits the user's files).
 */
export function isAcceptedHostKey(known: KnownHostKeys, fingerprint: string): boolean {
  if (known.revoked.has(fingerprint)) return false;
  return known.accepted.size === 0 || known.accepted.has(fingerprint);
}

/** A known_hosts host field: comma-separated patterns (`*`, `?`, `!negation`) or one hashed name (|1|salt|hash). */
function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatch(pattern: string, name: string): boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(name);
}
