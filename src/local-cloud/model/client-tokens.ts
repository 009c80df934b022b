import type { ClientTokenBehaviours, TokenAfterFailure } from '../contracts';
import { CloudError } from '../errors';

interface Remembered {
  fingerprint: string;
  /** When the first call with the token arrived. */
  at: number;
  result?: Record<string, unknown>;
  error?: CloudError;
}

/** Parameters that vary between two sends of the same logical request, and so never count for idempotency. */
const NOT_PART_OF_REQUEST = new Set([
  'ClientToken',
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'Signature',
  'AccessKeyId',
  'SecurityToken',
  'OwnerId',
  'OwnerAccount',
  'ResourceOwnerId',
  'ResourceOwnerAccount',
]);

/** "The same request": its parameters but those that change with every send. */
export function requestFingerprint(raw: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(raw)
      .filter((k) => !NOT_PART_OF_REQUEST.has(k))
      .sort()
      .map((k) => [k, raw[k]]),
  );
}

/** The VPC API's actions that take a ClientToken here; the others are ECS's (the processing code differs). */
const VPC_TOKEN_ACTIONS = new Set(['AssociateEipAddress', 'UnassociateEipAddress', 'AllocateEipAddress']);

/**
 * A failure is remembered for its token when the request itself was answered: a 4xx that is not throttling (a
 * throttled call was never processed, and the docs tell clients to retry 5xx and lost answers with the same token).
 */
function isDefiniteFailure(error: CloudError): boolean {
  return error.status >= 400 && error.status < 500 && !/Throttling/.test(error.code);
}

/**
 * ClientToken idempotency [doc]: a request that repeats a token with the same parameters gets the first answer back
 * and changes nothing: its result, or (ECS idempotence page) its 4xx failure again; the same token with other
 * parameters is refused with IdempotentParameterMismatch. A token still being processed answers LastTokenProcessing /
 * IdempotentProcessing.
 */
export class ClientTokens {
  private readonly seen = new Map<string, Remembered>();
  afterFailure: TokenAfterFailure = 'replay';
  processingMs = 0;

  constructor(private readonly now: () => number = () => Date.now()) {}

  configure(b: ClientTokenBehaviours): void {
    if (b.clientTokenAfterFailure !== undefined) this.afterFailure = b.clientTokenAfterFailure;
    if (b.clientTokenProcessingMs !== undefined) this.processingMs = b.clientTokenProcessingMs;
  }

  run(
    action: string,
    raw: Record<string, string>,
    work: () => Record<string, unknown>,
  ): Record<string, unknown> {
    const token = raw.ClientToken;
    if (!token) return work();
    const key = this.keyOf(action, token);
    const fingerprint = requestFingerprint(raw);
    const before = this.seen.get(key);
    if (before) {
      if (before.fingerprint !== fingerprint) throw CloudError.of('IdempotentParameterMismatch');
      if (this.now() - before.at < this.processingMs)
        throw CloudError.of(VPC_TOKEN_ACTIONS.has(action) ? 'LastTokenProcessing' : 'IdempotentProcessing');
      if (before.result) return structuredClone(before.result);
      if (before.error && this.afterFailure === 'replay') throw before.error;
      if (before.error && this.afterFailure === 'idempotent-failed') throw CloudError.of('IdempotentFailed');
      this.seen.delete(key);
    }
    const at = this.now();
    try {
      const result = work();
      this.seen.set(key, { fingerprint, at, result: structuredClone(result) });
      return result;
    } catch (error) {
      if (error instanceof CloudError) this.failed(action, raw, error, at);
      throw error;
    }
  }

  /**
   * The call with this token failed (in its handler, or by an injected fault that stands for the action failing):
   * a repeat gets the failure again, unless it was not a definite answer (throttling, 5xx).
   */
  failed(action: string, raw: Record<string, string>, error: CloudError, at = this.now()): void {
    const token = raw.ClientToken;
    if (!token || !isDefiniteFailure(error)) return;
    const key = this.keyOf(action, token);
    if (this.seen.has(key)) return;
    this.seen.set(key, {
      fingerprint: requestFingerprint(raw),
      at,
      error: new CloudError(error.code, error.status, error.message),
    });
  }

  private keyOf(action: string, token: string): string {
    if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token))
      throw CloudError.of('InvalidParameter', 'ClientToken', 'It must be at most 64 ASCII characters.');
    return `${action}\u0000${token}`;
  }
}
