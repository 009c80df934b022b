import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Server, type AuthContext, type Connection, type ParsedKey } from 'ssh2';
import type { CloudModel } from '../contracts';
import { fingerprint, generateEd25519, parseKey } from './keys';
import { serveSession } from './guest-session';

export interface InstanceServerOptions {
  model: CloudModel;
  instanceId: string;
  user: string;
  /** The one public key allowed to log in. */
  authorizedKey: ParsedKey;
}

/**
 * The sshd of one instance. It never listens itself: the listener of whichever public address routes to the
 * instance hands it accepted sockets. One ssh2 Server per instance because ssh2 fixes the host keys at
 * construction, and an instance must present its own key whichever address it is reached on.
 */
export class InstanceServer {
  readonly hostKeyFingerprint: string;
  private readonly server: Server;

  constructor(private readonly opts: InstanceServerOptions) {
    const hostKey = generateEd25519(`root@${opts.instanceId}`);
    this.hostKeyFingerprint = fingerprint(parseKey(hostKey.privateKey, 'host key').getPublicSSH());
    this.server = new Server({ hostKeys: [hostKey.privateKey] }, (client) => this.onClient(client));
  }

  accept(socket: Socket): void {
    this.server.injectSocket(socket);
  }

  private onClient(client: Connection): void {
    // Resets and half-finished handshakes are a network's everyday life, not a reason to crash the cloud.
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => this.authenticate(ctx));
    client.on('ready', () => {
      client.on('session', (accept) => {
        serveSession(accept(), this.opts.model, this.opts.instanceId, this.opts.user);
      });
    });
  }

  /** Public key only, for the configured user and key; like `PasswordAuthentication no` on the image. */
  private authenticate(ctx: AuthContext): void {
    const { authorizedKey, user } = this.opts;
    if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
    const allowed = authorizedKey.getPublicSSH();
    const offered = ctx.key.data;
    if (offered.length !== allowed.length || !timingSafeEqual(offered, allowed))
      return ctx.reject(['publickey']);
    // Without a signature the client only asks whether this key would do; with one it proves it holds it.
    if (!ctx.signature) return ctx.accept();
    if (ctx.blob && authorizedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.accept();
    ctx.reject(['publickey']);
  }
}
