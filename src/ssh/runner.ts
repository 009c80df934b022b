import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Client, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { resolveTarget, SshError, type SshOptions, type SshTarget } from './config';
import { fingerprintOf } from './fingerprint';
import { isAcceptedHostKey, knownHostKeys } from './known-hosts';

export { fingerprintOf } from './fingerprint';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The host key the address presented, as OpenSSH prints it (SHA256:...). */
  hostKeyFingerprint: string;
}

export interface RunOptions {
  /** Refuse the connection before authenticating unless the host presents this key (SHA256:...). */
  expectedHostKey?: string;
}

/** The product's SSH client: runs a command on the machine behind a public address. */
export interface SshRunner {
  /** The SHA256 fingerprint of the host key presented on `address`; no credentials are sent. */
  hostKeyFingerprint(address: string): Promise<string>;
  /** The user `run` logs in as on `address` (the ssh_config's User, else the configured user, else root). */
  user(address: string): string;
  run(address: string, command: string, opts?: RunOptions): Promise<CommandResult>;
}

export function createSshRunner(opts: SshOptions = {}): SshRunner {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 60_000;

  function authMethods(target: SshTarget): PublicKeyAuthMethod[] {
    if (target.identityFiles.length === 0) {
      throw new SshError(
        'config',
        `no private key for ${target.alias}: set IdentityFile in the ssh_config or a key path`,
      );
    }
    // Read at connection time and handed to ssh2 only: keys are never returned, logged or stored.
    return target.identityFiles.map((f) => ({
      type: 'publickey',
      username: target.user,
      key: readFileSync(f),
    }));
  }

  /** Opens an authenticated connection to `target`, through its bastion when it has one. */
  async function connect(
    target: SshTarget,
    onHostKey: (fingerprint: string) => boolean,
  ): Promise<{ client: Client; close: () => void }> {
    let bastion: Client | undefined;
    let sock: Readable | undefined;
    if (target.jump) {
      // The bastion is checked against the user's known_hosts (UserKnownHostsFile), as `ssh -J` would; one it
      // does not list is accepted like StrictHostKeyChecking=accept-new. The instance behind it is pinned by the caller.
      const jump = target.jump;
      const known = knownHostKeys(jump.knownHostsFiles, jump.knownHostsName);
      const hop = await connect(jump, (fp) => isAcceptedHostKey(known, fp));
      bastion = hop.client;
      sock = await new Promise<Readable>((resolve, reject) =>
        hop.client.forwardOut('127.0.0.1', 0, target.host, target.port, (err, stream) =>
          err
            ? reject(new SshError('unreachable', `via ${target.jump?.alias}: ${err.message}`))
            : resolve(stream),
        ),
      ).catch((err) => {
        hop.close();
        throw err;
      });
    }
    const client = new Client();
    let rejectedKey: string | undefined;
    const config: ConnectConfig = {
      host: sock ? undefined : target.host,
      port: sock ? undefined : target.port,
      sock,
      username: target.user,
      readyTimeout: connectTimeoutMs,
      authHandler: authMethods(target),
      hostVerifier: (key: Buffer) => {
        const fp = fingerprintOf(key);
        const accepted = onHostKey(fp);
        if (!accepted) rejectedKey = fp;
        return accepted;
      },
    };
    const close = () => {
      client.end();
      bastion?.end();
    };
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      // `on`, not `once`: a connection reset before the handshake emits twice (the socket's error, then "Connection
      // lost before handshake"), and an 'error' without a listener would end the worker process.
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        close();
        reject(classify(target, err, rejectedKey));
      });
      client.connect(config);
    });
    return { client, close };
  }

  return {
    async hostKeyFingerprint(address) {
      const target = resolveTarget(address, opts);
      let seen: string | undefined;
      try {
        // Refusing the key ends the handshake before any credential is offered.
        const { close } = await connect(target, (fp) => {
          seen = fp;
          return false;
        });
        close();
      } catch (err) {
        if (seen) return seen;
        throw err;
      }
      if (!seen) throw new SshError('unreachable', `${address} presented no host key`);
      return seen;
    },

    user(address) {
      return resolveTarget(address, opts).user;
    },

    async run(address, command, runOpts = {}) {
      const target = resolveTarget(address, opts);
      let hostKey = '';
      const { client, close } = await connect(target, (fp) => {
        hostKey = fp;
        return runOpts.expectedHostKey === undefined || fp === runOpts.expectedHostKey;
      });
      try {
        return await new Promise<CommandResult>((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(
                new SshError('timeout', `${address}: command did not finish within ${commandTimeoutMs} ms`),
              ),
            commandTimeoutMs,
          );
          client.exec(command, (err, stream) => {
            if (err) {
              clearTimeout(timer);
              reject(new SshError('unreachable', `${address}: exec failed: ${err.message}`));
              return;
            }
            let stdout = '';
            let stderr = '';
            let exitCode = -1;
            stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
            stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
            stream.on('exit', (code: number | null) => (exitCode = code ?? -1));
            stream.on('close', () => {
              clearTimeout(timer);
              resolve({ stdout, stderr, exitCode, hostKeyFingerprint: hostKey });
            });
          });
        });
      } finally {
        close();
      }
    },
  };
}

function classify(
  target: SshTarget,
  err: Error & { level?: string; code?: string },
  rejectedKey?: string,
): SshError {
  const where = `${target.alias} (${target.host}:${target.port})`;
  if (rejectedKey) {
    return new SshError(
      'host-key-mismatch',
      `${where} presented host key ${rejectedKey}, not the expected one`,
    );
  }
  if (err.level === 'client-authentication') {
    return new SshError('auth', `${where}: authentication as ${target.user} failed (${err.message})`);
  }
  if (/timed out/i.test(err.message) || err.level === 'client-timeout') {
    return new SshError('timeout', `${where}: no SSH handshake within the connect timeout`);
  }
  return new SshError('unreachable', `${where}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
}
