import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it). Someone else may take it before
 * we bind it, so callers that start a server on it must be ready to retry.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
