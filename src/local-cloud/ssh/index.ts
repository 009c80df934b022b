import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { CloudModel, PublicRoute } from '../contracts';
import { InstanceServer } from './instance-server';
import { loadOrCreateUserKey } from './keys';
import { writeSshConfig, type SshConfigEntry } from './ssh-config';

export { WELCOME_BANNER } from './guest-session';

export interface InstanceSshOptions {
  model: CloudModel;
  workDir: string;
  /** The login user; default 'root', as on Alibaba Cloud's Linux images. */
  user?: string;
  /** A user-given private key to accept; default: generate an ed25519 pair into workDir. */
  privateKeyPath?: string;
  /** Where the address listeners bind; default 127.0.0.1. */
  host?: string;
}

export interface InstanceSsh {
  sshConfigPath: string;
  privateKeyPath: string;
  publicKey: string;
  user: string;
  /** Public IP -> loopback port. */
  ports: Record<string, number>;
  /** `SHA256:…`, as OpenSSH prints it. */
  hostKeyFingerprint(instanceId: string): string;
  stop(): Promise<void>;
}

function listen(server: NetServer, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
      resolvePort(address.port);
    });
  });
}

/**
 * Makes every instance an SSH server: one loopback port per public address of the region, and behind it
 * whichever instance the address routes to when the TCP connection arrives. A connection lives on the
 * instance it reached; moving the address later affects only the next connection, as on a real network.
 *
 * An address that routes nowhere resets the connection at once. The real network would drop the packets
 * and leave the client to time out, but a loopback port has already accepted the TCP connection, and the
 * nearest quick and unambiguous answer is a reset: OpenSSH fails at once with "Connection reset by peer",
 * ssh2's Client with ECONNRESET, rather than after a ConnectTimeout that would slow every check down.
 */
export async function startInstanceSsh(opts: InstanceSshOptions): Promise<InstanceSsh> {
  const { model } = opts;
  const workDir = resolve(opts.workDir);
  const user = opts.user ?? 'root';
  const host = opts.host ?? '127.0.0.1';
  const userKey = await loadOrCreateUserKey(workDir, opts.privateKeyPath && resolve(opts.privateKeyPath));

  // Host keys are born with the instance's first connection (or fingerprint query) and live as long as the cloud.
  const instances = new Map<string, InstanceServer>();
  const instance = (instanceId: string): InstanceServer => {
    let server = instances.get(instanceId);
    if (!server) {
      server = new InstanceServer({ model, instanceId, user, authorizedKey: userKey.parsed });
      instances.set(instanceId, server);
    }
    return server;
  };

  const sockets = new Set<Socket>();
  const listeners: NetServer[] = [];
  const ports: Record<string, number> = {};
  const entries: SshConfigEntry[] = [];

  const stop = async (): Promise<void> => {
    const closed = listeners.map((l) => new Promise<void>((done) => l.close(() => done())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  };

  try {
    for (const publicIp of model.publicAddresses()) {
      const listener = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        let route: PublicRoute | undefined;
        try {
          route = model.routePublicAddress(publicIp);
        } catch {
          // A model bug reads as a network that lost the packet, not as a crashed cloud.
        }
        if (!route) return void socket.resetAndDestroy();
        instance(route.instanceId).accept(socket);
      });
      listeners.push(listener);
      const port = await listen(listener, host);
      ports[publicIp] = port;
      entries.push({ publicIp, host, port });
    }
    const sshConfigPath = join(workDir, 'ssh_config');
    await writeSshConfig(sshConfigPath, entries, {
      user,
      identityFile: userKey.privateKeyPath,
      knownHostsFile: join(workDir, 'known_hosts'),
    });
    return {
      sshConfigPath,
      privateKeyPath: userKey.privateKeyPath,
      publicKey: userKey.publicKey,
      user,
      ports,
      hostKeyFingerprint: (instanceId) => instance(instanceId).hostKeyFingerprint,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
