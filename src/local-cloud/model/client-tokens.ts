import { CloudError } from '../errors';

interface Remembered {
  fingerprint: string;
  result: Record<string, unknown>;
}

/**
 * ClientToken idempotency [DOC]: a request that repeats a token with the same parameters gets the first result
 * back and changes nothing; the same token with different parameters is refused with IdempotentParameterMismatch.
 * Only successful calls are remembered, so a retry after a failure runs again (the docs are silent; assumed).
 */
export class ClientTokens {
  private readonly seen = new Map<string, Remembered>();

  run(
    action: string,
    token: string | undefined,
    fingerprint: string,
    work: () => Record<string, unknown>,
  ): Record<string, unknown> {
    if (!token) return work();
    if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token))
      throw CloudError.of('InvalidParameter', 'ClientToken', 'It must be at most 64 ASCII characters.');
    const key = `${action}\u0000${token}`;
    const before = this.seen.get(key);
    if (before) {
      if (before.fingerprint !== fingerprint) throw CloudError.of('IdempotentParameterMismatch');
      return structuredClone(before.result);
    }
    const result = work();
    this.seen.set(key, { fingerprint, result: structuredClone(result) });
    return result;
  }
}
