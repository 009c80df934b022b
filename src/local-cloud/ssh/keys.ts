import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';

/** An OpenSSH key pair: the private key in OpenSSH PEM form, the public key as one authorized_keys line. */
export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

/** The key that logs in to every instance of the local cloud, and the file OpenSSH reads it from. */
export interface UserKey {
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA… comment`, as in authorized_keys. */
  publicKey: string;
  /** The key a client must present, and prove it holds, to log in. */
  parsed: ParsedKey;
}

export function generateEd25519(comment: string): KeyPair {
  // ssh2 1.17 drops a leading zero byte of the ed25519 key now and then (about 1 key in 200), writing a file
  // that it and OpenSSH then reject as malformed: draw again until the pair parses.
  for (let attempt = 0; ; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) || attempt >= 20) {
      return { privateKey: pair.private, publicKey: pair.public };
    }
  }
}

export function parseKey(text: string | Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`${what}: ${parsed.message}`);
  // Newer OpenSSH files may hold several keys; like ssh2's own server, use the first.
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

/** The fingerprint OpenSSH prints (`ssh-keygen -l`, `ssh -v`): SHA-256 of the key blob, unpadded base64. */
export function fingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The user key pair: a given private key is used where it is (OpenSSH insists on its 0600 mode, so we do not
 * copy it around); otherwise a fresh ed25519 pair goes into workDir, private half readable by the owner only.
 */
export async function loadOrCreateUserKey(workDir: string, givenPrivateKeyPath?: string): Promise<UserKey> {
  if (givenPrivateKeyPath) {
    const parsed = parseKey(await readFile(givenPrivateKeyPath), `private key ${givenPrivateKeyPath}`);
    if (!parsed.isPrivateKey()) throw new Error(`${givenPrivateKeyPath} is not a private key`);
    const publicKey = `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
    return { privateKeyPath: givenPrivateKeyPath, publicKey, parsed };
  }
  const pair = generateEd25519('eni-migrate-local-cloud');
  const privateKeyPath = join(workDir, 'id_ed25519');
  // `mode` applies only when the file is created, so replace any key left by an earlier run rather than rewrite it.
  await rm(privateKeyPath, { force: true });
  await writeFile(privateKeyPath, pair.privateKey, { mode: 0o600, flag: 'wx' });
  await writeFile(`${privateKeyPath}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKey: pair.publicKey, parsed: parseKey(pair.privateKey, 'generated key') };
}
