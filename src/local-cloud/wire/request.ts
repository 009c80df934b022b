/**
 * Turns an HTTP request into what the rest of the wire needs: the decoded query, the decoded form body,
 * the routing pair (Action, Version) and the business parameters handed to an action handler.
 * Spec: ../shared/reference/alicloud-ecs-vpc-api.md §3.
 */
import type { IncomingMessage } from 'node:http';
import { CloudError } from '../errors';

/** Bodies are small form posts; anything larger is a mistake or an attack on a local port. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Protocol parameters of the legacy RPC format and of the SDK's signing. They are stripped before a handler
 * sees the parameters: a handler that compares "same parameters" (ClientToken idempotency) must not see a fresh
 * nonce and timestamp on every retry.
 */
const PROTOCOL_PARAMS = new Set([
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'AccessKeyId',
  'SecurityToken',
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'SignatureType',
  'BearerToken',
]);

export interface DecodedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Decoded URL query parameters. */
  query: Record<string, string>;
  /** Decoded application/x-www-form-urlencoded body parameters (empty for other bodies). */
  form: Record<string, string>;
  /** Query and form together (the form wins on a clash, as in the SDK's own signing). */
  all: Record<string, string>;
  /** `all` without the protocol parameters: what the action handler receives. */
  params: Record<string, string>;
  /** True when the request is signed the legacy way (Signature parameter, no Authorization header). */
  legacySigned: boolean;
  action: string;
  version: string;
}

/**
 * Parses `a=1&b=%20x`. The SDK encodes with querystring.stringify (`%20`, never `+`), so the query is decoded
 * with decodeURIComponent semantics and a literal `+` stays `+`. HTML-form bodies use `+` for a space.
 */
export function parseUrlEncoded(text: string, plusIsSpace: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey, plusIsSpace);
    out[key] = decode(rawValue, plusIsSpace, key);
  }
  return out;
}

function decode(text: string, plusIsSpace: boolean, key?: string): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    throw CloudError.of('InvalidParameter', key ?? text, 'It is not valid percent-encoding.');
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          CloudError.of('InvalidParameter', 'body', `The request body exceeds ${MAX_BODY_BYTES} bytes.`),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function decodeRequest(req: IncomingMessage, body: Buffer): DecodedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = parseUrlEncoded(q < 0 ? '' : url.slice(q + 1), false);
  const contentType = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  const form =
    contentType === 'application/x-www-form-urlencoded' ? parseUrlEncoded(body.toString('utf8'), true) : {};
  const all = { ...query, ...form };
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) if (!PROTOCOL_PARAMS.has(k)) params[k] = v;

  const legacySigned = header(req, 'authorization') === undefined && all.Signature !== undefined;
  // A legacy request signs Action/Version in its parameters but sends the x-acs-* headers unsigned:
  // route it on what its signature covers.
  const headerAction = header(req, 'x-acs-action');
  const headerVersion = header(req, 'x-acs-version');
  const action = (legacySigned ? (all.Action ?? headerAction) : (headerAction ?? all.Action)) ?? '';
  const version = (legacySigned ? (all.Version ?? headerVersion) : (headerVersion ?? all.Version)) ?? '';

  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    headers: req.headers,
    body,
    query,
    form,
    all,
    params,
    legacySigned,
    action,
    version,
  };
}
