import { createHash } from 'node:crypto';

/** SHA256:<base64 without padding> of the key blob: the format `ssh-keygen -lf` and `ssh -v` print. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}
