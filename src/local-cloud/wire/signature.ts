/**
 * The two signature algorithms the official clients use, as pure functions (no key lookup, no clock):
 * ACS3-HMAC-SHA256, the default of @alicloud/openapi-core, and the legacy RPC v1 HMAC-SHA1 (`signatureAlgorithm: 'v2'`).
 * Spec: ../shared/reference/alicloud-ecs-vpc-api.md §4; cross-checked against openapi-core's own
 * `getAuthorization` / `getRPCSignature` by test/local-cloud-wire.test.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** RFC 3986 percent-encoding, as the SDK does it: encodeURIComponent plus `!'()*`. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Compares two signatures without leaking, through timing, how many leading characters matched. */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  // Lengths are public (hex or base64 of a fixed-size MAC); comparing them first is safe.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Keys sorted by UTF-16 code unit (JavaScript's default sort), as both algorithms require. */
function canonicalPairs(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
    .join('&');
}

export interface Acs3Input {
  method: string;
  /** The request path without the query, e.g. `/`. */
  path: string;
  /** The decoded URL query (form-body parameters are covered by the payload hash, not listed here). */
  query: Readonly<Record<string, string>>;
  /** Lower-case header names to values, as Node's IncomingMessage gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Header names in the order of the Authorization header's SignedHeaders. */
  signedHeaders: readonly string[];
  /** hex SHA-256 of the raw body. */
  payloadHash: string;
}

export function acs3CanonicalRequest(input: Acs3Input): string {
  const uri = input.path.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const headers = input.signedHeaders
    .map((name) => {
      const value = input.headers[name];
      const text = Array.isArray(value)
        ? value
            .map((v) => v.trim())
            .sort()
            .join(',')
        : (value ?? '').trim();
      return `${name}:${text}\n`;
    })
    .join('');
  return [
    input.method.toUpperCase(),
    uri,
    canonicalPairs(input.query),
    headers,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function acs3StringToSign(canonicalRequest: string): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
}

export function acs3Signature(secret: string, stringToSign: string): string {
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

/** `METHOD&%2F&pct(sorted k=v pairs)`, over query and form parameters minus `Signature`. */
export function rpcV1StringToSign(method: string, params: Readonly<Record<string, string>>): string {
  const { Signature: _omit, ...signed } = params;
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalPairs(signed))}`;
}

export function rpcV1Signature(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}
