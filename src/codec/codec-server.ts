/**
 * The Temporal codec server protocol, so the Web UI shows plaintext while the server stores ciphertext: POST /encode
 * and POST /decode take and answer `{"payloads": [...]}`, each payload `{metadata: {key: base64}, data: base64}` as the
 * Web UI sends them. The payloads pass through this process only: nothing is logged or kept.
 *
 * The browser calls it cross-origin, so it answers CORS for the configured Web UI origin(s) (the OPTIONS preflight
 * included). With a token, every POST needs `Authorization: Bearer <token>` (401 otherwise). It binds to loopback
 * unless told otherwise: whoever reaches it can decrypt.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8888; 0: any free port. */
  port?: number;
  /** The Web UI origins allowed to call it (default http://localhost:8233, the dev server's UI). */
  origins?: string[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
}

export interface CodecServer {
  /** http://host:port, what the Web UI's codec endpoint is set to. */
  url: string;
  server: Server;
  /**
   * Answers CORS for one more Web UI origin (`scheme://host[:port]`) from now on: for a UI whose address is known
   * only once it runs, as a dev server's on a free port that is started pointing at this server.
   */
  allowOrigin(origin: string): void;
  stop(): Promise<void>;
}

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_UI_ORIGIN = 'http://localhost:8233';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  // A copy: allowOrigin adds to it, and handle() reads it on each request.
  const origins = [...(options.origins ?? [DEFAULT_UI_ORIGIN])];
  // Bound to loopback, only a loopback Host is answered: a web page whose name an attacker points at 127.0.0.1 (DNS
  // rebinding) sends its own name as Host, and must not read plaintext.
  const loopbackOnly = isLoopback(host);
  const server = createServer((req, res) => {
    if (loopbackOnly && !isLoopback(hostnameOf(req.headers.host))) {
      reply(res, 403, { error: 'codec server: this server answers only to localhost / 127.0.0.1 / [::1]' });
      return;
    }
    handle(req, res, options.codec, origins, options.token).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: `codec server: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_CODEC_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    server,
    allowOrigin: (origin) => {
      const { origin: normalized } = new URL(origin);
      if (!origins.includes(normalized)) origins.push(normalized);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  codec: PayloadCodec,
  origins: string[],
  token: string | undefined,
): Promise<void> {
  const origin = req.headers.origin;
  // A browser on another origin gets nothing, not merely no CORS grant: the request would be decrypted all the same.
  if (origin !== undefined && !origins.includes(origin)) {
    return reply(res, 403, {
      error: `origin ${origin} is not allowed: start the codec server with --origin ${origin}`,
    });
  }
  if (origin) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Namespace');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Vary', 'Origin');
  }
  const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
  const op = path === '/encode' ? 'encode' : path === '/decode' ? 'decode' : undefined;
  if (!op) return reply(res, 404, { error: 'not found: POST /encode or /decode' });
  // The preflight carries no credentials: answer it before the token check.
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST, OPTIONS');
    return reply(res, 405, { error: 'use POST' });
  }
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    return reply(res, 401, { error: 'missing or wrong bearer token' });
  }
  // JSON only: a cross-origin `text/plain` POST needs no preflight, so a page could send one without asking.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return reply(res, 415, { error: 'send Content-Type: application/json' });
  }
  let payloads: Payload[];
  try {
    payloads = fromJson(JSON.parse(await readBody(req)));
  } catch (err) {
    return reply(res, 400, { error: `bad request: ${(err as Error).message}` });
  }
  let result: Payload[];
  try {
    result = op === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
  } catch (err) {
    return reply(res, 422, { error: (err as Error).message });
  }
  reply(res, 200, { payloads: result.map(toJson) });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1].trim());
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function fromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown })?.payloads;
  if (!Array.isArray(list)) throw new Error('expected {"payloads": [...]}');
  return list.map((p: JsonPayload) => ({
    metadata: Object.fromEntries(
      Object.entries(p?.metadata ?? {}).map(([k, v]) => [
        k,
        new Uint8Array(Buffer.from(String(v), 'base64')),
      ]),
    ),
    data: new Uint8Array(Buffer.from(String(p?.data ?? ''), 'base64')),
  }));
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  try {
    return new URL(`http://${hostHeader}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function isLoopback(host: string): boolean {
  // An address, not a name that starts like one (`127.0.0.1.attacker.example`).
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
