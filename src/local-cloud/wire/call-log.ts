/**
 * Every API call the cloud received, in arrival order, so tests and rehearsals can assert what a client did
 * ("no mutating call was made", "three polls, then an attach"). Protocol and signature parameters are left out.
 */
import type { Product } from '../contracts';

export interface CallRecord {
  /** Arrival order, from 1; keeps counting across clears. */
  seq: number;
  /** ISO time of arrival. */
  time: string;
  /** Undefined when the request named no known API version. */
  product?: Product;
  action: string;
  status: number;
  /** The error code, for failed calls. */
  code?: string;
  /** An injected `drop` fault closed the connection: the client got no answer (status and code say what fired). */
  dropped?: boolean;
  requestId: string;
  params: Record<string, string>;
}

/** Oldest entries are dropped beyond this, so a cloud left running for days does not grow without bound. */
const MAX_CALLS = 10_000;

export class CallLog {
  private calls: CallRecord[] = [];
  private seq = 0;

  nextSeq(): number {
    return ++this.seq;
  }

  record(call: CallRecord): void {
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
  }

  /** Calls in seq order, optionally only one action's and only after a given seq. */
  list(filter: { action?: string; since?: number } = {}): CallRecord[] {
    return this.calls
      .filter(
        (c) => (filter.action === undefined || c.action === filter.action) && c.seq > (filter.since ?? 0),
      )
      .sort((a, b) => a.seq - b.seq);
  }

  clear(): number {
    const n = this.calls.length;
    this.calls = [];
    return n;
  }
}
