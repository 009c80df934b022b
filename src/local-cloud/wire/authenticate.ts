/**
 * Who may call the local cloud: one AccessKey pair (given, or generated at start), optionally STS tokens.
 * Verifies ACS3-HMAC-SHA256 and legacy RPC v1 HMAC-SHA1 requests, the ±15 min clock window and nonce reuse,
 * answering with the codes of ../shared/reference/alicloud-ecs-vpc-api.md §4 and §9.
 */
import { randomBytes } from 'node:crypto';
import { CloudError } from '../errors';
import type { DecodedRequest } from './request';
import {
  ACS3_ALGORITHM,
  acs3CanonicalRequest,
  acs3Signature,
  acs3StringToSign,
  rpcV1Signature,
  rpcV1StringToSign,
  sha256Hex,
  signaturesEqual,
} from './signature';

/** The documented window for x-acs-date / Timestamp, and how long a nonce stays used. */
export const SIGNATURE_WINDOW_MS = 15 * 60 * 1000;

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  /**
   * STS security tokens accepted with this key. Unset: any non-empty token is accepted (the local cloud has no
   * STS service to mint them). Set: only these.
   */
  stsTokens?: readonly string[];
  /**
   * The key is an STS one: a call without a security token is refused (`InvalidSecurityToken.MismatchWithAccessKey`),
   * so a client that dropped its token cannot go unnoticed. Default false: a token is optional.
   */
  requireSecurityToken?: boolean;
}

/** A fresh local pair. The id is plainly local (no `LTAI` prefix) so secret scanners never mistake it for a real key. */
export function generateCredentials(): Credentials {
  return {
    accessKeyId: `LOCALCLOUDAK${randomBytes(6).toString('hex').toUpperCase()}`,
    accessKeySecret: randomBytes(22).toString('base64url').slice(0, 30),
  };
}

export interface Caller {
  accessKeyId: string;
  scheme: typeof ACS3_ALGORITHM | 'HMAC-SHA1';
  securityToken?: string;
}

/** Nonces seen within the window, per AccessKey. Entries expire in insertion order, so pruning is a scan from the front. */
class NonceCache {
  private readonly seen = new Map<string, number>();

  /** Records the nonce; false when it was already used within the window. */
  use(key: string, now: number): boolean {
    for (const [k, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(k);
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, now + SIGNATURE_WINDOW_MS);
    return true;
  }
}

/** The parameters that mark a legacy RPC v1 request (besides `Signature` itself). */
const V1_PARAMETERS = ['AccessKeyId', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce'] as const;

function incomplete(detail: string): CloudError {
  return CloudError.of('IncompleteSignature', detail);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export class Authenticator {
  private readonly nonces = new NonceCache();

  constructor(
    private readonly credentials: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws the CloudError a real endpoint would answer with; returns the caller when the request is authentic. */
  verify(req: DecodedRequest): Caller {
    const authorization = single(req.headers.authorization);
    if (authorization !== undefined) return this.verifyAcs3(req, authorization);
    if (req.all.Signature !== undefined) return this.verifyRpcV1(req);
    // A v1 request (its signing parameters present) that lacks only the signature: the documented MissingParameter.
    if (V1_PARAMETERS.some((field) => req.all[field] !== undefined)) {
      throw CloudError.of('MissingParameter', 'Signature');
    }
    throw incomplete('The request has neither an Authorization header nor a Signature parameter.');
  }

  private secretOf(accessKeyId: string): string {
    if (accessKeyId !== this.credentials.accessKeyId) throw CloudError.of('InvalidAccessKeyId.NotFound');
    return this.credentials.accessKeySecret;
  }

  private checkTime(value: string, field: string): void {
    const t = Date.parse(value);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) || Number.isNaN(t)) {
      throw CloudError.of('IllegalTimestamp', field, value);
    }
    if (Math.abs(this.now() - t) > SIGNATURE_WINDOW_MS) throw CloudError.of('InvalidTimeStamp.Expired');
  }

  private checkToken(token: string | undefined): void {
    if (token === undefined) {
      if (this.credentials.requireSecurityToken)
        throw CloudError.of('InvalidSecurityToken.MismatchWithAccessKey');
      return;
    }
    const allowed = this.credentials.stsTokens;
    if (token === '' || (allowed !== undefined && !allowed.includes(token))) {
      throw CloudError.of('InvalidSecurityToken.Malformed');
    }
  }

  private useNonce(accessKeyId: string, nonce: string): void {
    if (!this.nonces.use(`${accessKeyId}\n${nonce}`, this.now())) throw CloudError.of('SignatureNonceUsed');
  }

  private verifyAcs3(req: DecodedRequest, authorization: string): Caller {
    const m = /^(\S+)\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)$/.exec(
      authorization.trim(),
    );
    if (!m) throw incomplete('The Authorization header is malformed.');
    const [, algorithm, accessKeyId, signedList, signature] = m;
    if (algorithm !== ACS3_ALGORITHM) {
      throw incomplete(
        `Signature algorithm ${algorithm} is not supported here; use ${ACS3_ALGORITHM} or HMAC-SHA1.`,
      );
    }
    const secret = this.secretOf(accessKeyId);
    const signedHeaders = signedList.split(';');
    // Every header that changes the meaning of the request must be covered, or it could be altered in flight.
    for (const name of Object.keys(req.headers)) {
      const mustSign = name === 'host' || name === 'content-type' || name.startsWith('x-acs-');
      if (mustSign && !signedHeaders.includes(name)) throw incomplete(`Header ${name} is not signed.`);
    }
    const date = single(req.headers['x-acs-date']);
    const nonce = single(req.headers['x-acs-signature-nonce']);
    const contentHash = single(req.headers['x-acs-content-sha256']);
    if (date === undefined) throw incomplete('Header x-acs-date is missing.');
    if (nonce === undefined || nonce === '') throw incomplete('Header x-acs-signature-nonce is missing.');
    if (contentHash === undefined) throw incomplete('Header x-acs-content-sha256 is missing.');
    this.checkTime(date, 'x-acs-date');

    const payloadHash = sha256Hex(req.body);
    if (!signaturesEqual(payloadHash, contentHash.toLowerCase())) {
      throw CloudError.of(
        'SignatureDoesNotMatch',
        'x-acs-content-sha256 is not the SHA-256 of the request body.',
      );
    }
    const stringToSign = acs3StringToSign(
      acs3CanonicalRequest({
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signedHeaders,
        payloadHash,
      }),
    );
    if (!signaturesEqual(acs3Signature(secret, stringToSign), signature.toLowerCase())) {
      throw CloudError.of('SignatureDoesNotMatch', stringToSign);
    }
    const keyHeader = single(req.headers['x-acs-accesskey-id']);
    if (keyHeader !== undefined && keyHeader !== accessKeyId) {
      throw incomplete(
        'Header x-acs-accesskey-id does not match the Credential of the Authorization header.',
      );
    }
    const securityToken = single(req.headers['x-acs-security-token']);
    this.checkToken(securityToken);
    this.useNonce(accessKeyId, nonce);
    return { accessKeyId, scheme: ACS3_ALGORITHM, securityToken };
  }

  private verifyRpcV1(req: DecodedRequest): Caller {
    const p = req.all;
    for (const field of [
      'AccessKeyId',
      'SignatureMethod',
      'SignatureVersion',
      'SignatureNonce',
      'Timestamp',
    ]) {
      if (!p[field]) throw incomplete(`Parameter ${field} is missing.`);
    }
    if (p.SignatureMethod !== 'HMAC-SHA1')
      throw incomplete(`SignatureMethod ${p.SignatureMethod} is not supported.`);
    if (p.SignatureVersion !== '1.0')
      throw incomplete(`SignatureVersion ${p.SignatureVersion} is not supported.`);
    const secret = this.secretOf(p.AccessKeyId);
    this.checkTime(p.Timestamp, 'Timestamp');
    const stringToSign = rpcV1StringToSign(req.method, p);
    if (!signaturesEqual(rpcV1Signature(secret, stringToSign), p.Signature)) {
      throw CloudError.of('SignatureDoesNotMatch', stringToSign);
    }
    this.checkToken(p.SecurityToken);
    this.useNonce(p.AccessKeyId, p.SignatureNonce);
    return { accessKeyId: p.AccessKeyId, scheme: 'HMAC-SHA1', securityToken: p.SecurityToken };
  }
}
