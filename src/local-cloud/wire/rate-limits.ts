/**
 * Per-action flow control, like the real API's per-API, per-account limits (terway keeps a table of them):
 * one token bucket per Action, refilled at `rps`, holding at most `burst`. An empty bucket answers
 * `Throttling.User` with `x-acs-retry-after` (ms until a token is back), which the SDK exposes as
 * ThrottlingError.retryAfter.
 */
import { CloudError } from '../errors';

export interface RateLimit {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: how many calls may arrive at once. */
  burst: number;
}

/** Generous enough that normal use (polling every few hundred ms, a handful of workflows) never notices. */
export const DEFAULT_RATE_LIMIT: RateLimit = { rps: 50, burst: 100 };

interface Bucket {
  tokens: number;
  updatedAt: number;
  limit: RateLimit;
}

export class RateLimiter {
  private defaultLimit: RateLimit;
  private readonly perAction = new Map<string, RateLimit>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly initial: RateLimit = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.defaultLimit = { ...initial };
  }

  /** `action` `*` sets the limit of every action that has none of its own. Buckets restart full. */
  set(action: string, limit: RateLimit): void {
    if (action === '*') this.defaultLimit = { ...limit };
    else this.perAction.set(action, { ...limit });
    this.buckets.clear();
  }

  /** Back to the limits the cloud started with. */
  reset(): void {
    this.defaultLimit = { ...this.initial };
    this.perAction.clear();
    this.buckets.clear();
  }

  list(): { default: RateLimit; actions: Record<string, RateLimit> } {
    return { default: { ...this.defaultLimit }, actions: Object.fromEntries(this.perAction) };
  }

  /** Takes a token for one call of `action`, or throws Throttling.User. */
  take(action: string): void {
    const limit = this.perAction.get(action) ?? this.defaultLimit;
    const now = this.now();
    let bucket = this.buckets.get(action);
    if (!bucket) {
      bucket = { tokens: limit.burst, updatedAt: now, limit };
      this.buckets.set(action, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * limit.rps);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.max(1, Math.ceil(((1 - bucket.tokens) / limit.rps) * 1000));
    const error = CloudError.of('Throttling.User');
    throw new CloudError(error.code, error.status, error.message, {
      'x-acs-retry-after': String(retryAfterMs),
    });
  }
}
