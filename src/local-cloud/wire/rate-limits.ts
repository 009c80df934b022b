/**
 * API flow control as Alibaba Cloud does it (ECS "API throttling" page): per API, per account and region, in fixed
 * one-minute windows: a call throttled in minute T can be made again in minute T+1. The answer is the documented
 * `Throttling` (400) by default; what real clients also see (`Throttling.User`, `Throttling.Api`, `Rejected.Throttling`,
 * `ServiceUnavailable` 503) can be chosen instead. It carries `x-acs-retry-after`: the ms until the next window, which
 * the SDK exposes as ThrottlingError.retryAfter.
 *
 * The per-API quotas are terway's client budgets (pkg/aliyun/client/ratelimit.go, per minute: the calls Alibaba's
 * own ENI manager allows itself per account), which are the published figures closest to the server's quotas.
 *
 * A token bucket per action (`{rps, burst}`) stays available: it was the first contract of the admin API, and the
 * tests and the bench use a generous one so that hundreds of fast-polling migrations are never throttled.
 */
import { CloudError, type KnownErrorCode } from '../errors';

/** Token bucket: refilled at `rps`, holding at most `burst`. */
export interface RateLimit {
  /** Tokens added per second. */
  rps: number;
  /** Bucket size: how many calls may arrive at once. */
  burst: number;
}

/** Fixed window: at most `perMinute` calls in each window (a minute unless `windowMs` says otherwise). */
export interface WindowQuota {
  perMinute: number;
}

export type ActionLimit = RateLimit | WindowQuota;

/** The codes a throttled call may get; the documented one is the default. */
export const THROTTLING_CODES = [
  'Throttling',
  'Throttling.User',
  'Throttling.Api',
  'Rejected.Throttling',
  'ServiceUnavailable',
] as const satisfies readonly KnownErrorCode[];
export type ThrottlingCode = (typeof THROTTLING_CODES)[number];

export const DEFAULT_WINDOW_MS = 60_000;
export const DEFAULT_THROTTLING_CODE: ThrottlingCode = 'Throttling';

/** terway's default budget for an API without its own entry (ratelimit.go). */
export const DEFAULT_QUOTA: WindowQuota = { perMinute: 500 };

/** Per-API quotas per minute: terway's ratelimit.go, and the EIP quota page for AllocateEipAddress. */
export const API_QUOTAS: Readonly<Record<string, WindowQuota>> = {
  AttachNetworkInterface: { perMinute: 500 },
  CreateNetworkInterface: { perMinute: 500 },
  DeleteNetworkInterface: { perMinute: 500 },
  DetachNetworkInterface: { perMinute: 400 },
  DescribeNetworkInterfaces: { perMinute: 800 },
  AllocateEipAddress: { perMinute: 120 },
};

/** The old default bucket (50 rps, burst 100): what tests, the bench and chaos ask for explicitly. */
export const GENEROUS_RATE_LIMIT: RateLimit = { rps: 50, burst: 100 };

export interface RateLimitSettings {
  default: ActionLimit;
  actions: Record<string, ActionLimit>;
  windowMs: number;
  code: ThrottlingCode;
}

/** Who is counted: the caller's account (its AccessKey) and the region the call names. */
export interface CallScope {
  account: string;
  region: string;
}

interface Counter {
  /** Bucket: tokens left; window: calls made in the window starting at `at`. */
  n: number;
  at: number;
}

function isBucket(limit: ActionLimit): limit is RateLimit {
  return 'rps' in limit;
}

export class RateLimiter {
  private settings: RateLimitSettings;
  private readonly counters = new Map<string, Counter>();

  /**
   * `bucket`: one token bucket for every action (the explicit, generous choice of tests and the bench); without it,
   * the realistic per-API quotas in one-minute windows.
   */
  constructor(
    private readonly bucket?: RateLimit,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.settings = RateLimiter.initial(bucket);
  }

  private static initial(bucket?: RateLimit): RateLimitSettings {
    return {
      default: bucket ? { ...bucket } : { ...DEFAULT_QUOTA },
      actions: bucket ? {} : structuredClone({ ...API_QUOTAS }),
      windowMs: DEFAULT_WINDOW_MS,
      code: DEFAULT_THROTTLING_CODE,
    };
  }

  /** `action` `*` sets the limit of every action that has none of its own. Counters restart. */
  set(action: string, limit: ActionLimit): void {
    if (action === '*') this.settings.default = { ...limit };
    else this.settings.actions[action] = { ...limit };
    this.counters.clear();
  }

  /** The window length and the code throttled calls get. Counters restart. */
  configure(change: { windowMs?: number; code?: ThrottlingCode }): void {
    if (change.windowMs !== undefined) this.settings.windowMs = change.windowMs;
    if (change.code !== undefined) this.settings.code = change.code;
    this.counters.clear();
  }

  /** Back to the limits the cloud started with. */
  reset(): void {
    this.settings = RateLimiter.initial(this.bucket);
    this.counters.clear();
  }

  list(): RateLimitSettings {
    return structuredClone(this.settings);
  }

  /** Counts one call of `action`, or throws the throttling answer. */
  take(action: string, scope: CallScope): void {
    const limit = this.settings.actions[action] ?? this.settings.default;
    const key = `${scope.account}\u0000${scope.region}\u0000${action}`;
    const retryAfterMs = isBucket(limit) ? this.takeToken(key, limit) : this.countInWindow(key, limit);
    if (retryAfterMs === undefined) return;
    const error = CloudError.of(this.settings.code);
    throw new CloudError(error.code, error.status, error.message, {
      'x-acs-retry-after': String(Math.max(1, Math.ceil(retryAfterMs))),
    });
  }

  /** Undefined when a token was taken, else the ms until one is back. */
  private takeToken(key: string, limit: RateLimit): number | undefined {
    const now = this.now();
    const c = this.counters.get(key) ?? { n: limit.burst, at: now };
    c.n = Math.min(limit.burst, c.n + ((now - c.at) / 1000) * limit.rps);
    c.at = now;
    this.counters.set(key, c);
    if (c.n >= 1) {
      c.n -= 1;
      return undefined;
    }
    return ((1 - c.n) / limit.rps) * 1000;
  }

  /** Undefined when the call fits in the current window, else the ms until the next one starts. */
  private countInWindow(key: string, limit: WindowQuota): number | undefined {
    const now = this.now();
    const { windowMs } = this.settings;
    // Windows are aligned on the clock (minute T is a calendar minute), so every caller agrees when T+1 starts.
    const start = Math.floor(now / windowMs) * windowMs;
    let c = this.counters.get(key);
    if (!c || c.at !== start) {
      c = { n: 0, at: start };
      this.counters.set(key, c);
    }
    if (c.n < limit.perMinute) {
      c.n += 1;
      return undefined;
    }
    return start + windowMs - now;
  }
}
