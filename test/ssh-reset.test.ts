/**
 * A host that resets the connection before the SSH handshake (what a secondary NIC whose guest is not set up answers
 * in the local cloud, and what a firewall's RST looks like) fails the command with an SshError, and never ends the
 * process: ssh2 emits two 'error' events for it (the socket's, then "Connection lost before handshake"). Found by the
 * chaos run, where it took whole worker processes down.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { utils } from 'ssh2';
import { createSshRunner, SshError } from '../src/ssh';

let server: Server;
let sshConfigPath: string;
before(async () => {
  // After a moment: the client has connected and sent its identification, as on a loaded machine.
  server = createServer((socket) => void setTimeout(() => socket.resetAndDestroy(), 30));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'ssh-reset-'));
  const key = join(dir, 'id_ed25519');
  writeFileSync(key, utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  sshConfigPath = join(dir, 'ssh_config');
  writeFileSync(
    sshConfigPath,
    `Host 203.0.113.99\n  HostName 127.0.0.1\n  Port ${(server.address() as AddressInfo).port}\n  User root\n  IdentityFile ${key}\n`,
  );
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('a connection reset before the handshake is an unreachable host, not a crash', async () => {
  const ssh = createSshRunner({ sshConfigPath, connectTimeoutMs: 2000 });
  for (let i = 0; i < 5; i++) {
    await assert.rejects(
      ssh.run('203.0.113.99', 'hostname'),
      (err: unknown) => err instanceof SshError && err.kind === 'unreachable',
    );
  }
  // A second 'error' event without a listener would surface as an uncaught exception by now.
  await new Promise((r) => setTimeout(r, 200));
});
