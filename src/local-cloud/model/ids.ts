import { createHash } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Deterministic, Alibaba-looking resource ids (`i-bp1…`, `eni-bp1…`, `eip-bp1…`): the same topology and the same
 * sequence of calls give the same ids on every run, which keeps demos, logs and tests reproducible.
 * `bp1` is the prefix Alibaba uses in cn-hangzhou; 17 more characters give the real ids' length.
 */
export class IdFactory {
  private readonly counters = new Map<string, number>();

  constructor(
    private readonly seed: string,
    private readonly isTaken: (id: string) => boolean = () => false,
  ) {}

  next(prefix: string): string {
    for (;;) {
      const n = (this.counters.get(prefix) ?? 0) + 1;
      this.counters.set(prefix, n);
      const id = `${prefix}-bp1${chars(`${this.seed}:${prefix}:${n}`, 17)}`;
      if (!this.isTaken(id)) return id;
    }
  }

  /** A MAC address in Alibaba's OUI (00:16:3e). */
  mac(key: string): string {
    const h = createHash('sha256').update(`${this.seed}:mac:${key}`).digest();
    return ['00', '16', '3e', ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  }

  /** A numeric order id, as ModifyInstanceChargeType returns. */
  orderId(): string {
    const n = (this.counters.get('order') ?? 0) + 1;
    this.counters.set('order', n);
    const h = createHash('sha256').update(`${this.seed}:order:${n}`).digest();
    return '2' + [...h.subarray(0, 14)].map((b) => String(b % 10)).join('');
  }
}

function chars(key: string, length: number): string {
  const h = createHash('sha256').update(key).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[h[i] % ALPHABET.length];
  return out;
}
