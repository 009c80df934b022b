/**
 * Added response latency per Action (or `*` for every action without its own), to rehearse slow APIs and the
 * SDK's readTimeout. The action still runs at once; only its response is held back, as when a real call
 * succeeds but its answer is late.
 */
import { z } from 'zod';

export const LatencyInput = z
  .object({
    action: z.string().min(1),
    /** 0 removes the action's latency. */
    ms: z.number().int().min(0).max(600_000),
  })
  .strict();
export type LatencyInput = z.infer<typeof LatencyInput>;

export class LatencyRules {
  private readonly perAction = new Map<string, number>();

  set({ action, ms }: LatencyInput): void {
    if (ms === 0) this.perAction.delete(action);
    else this.perAction.set(action, ms);
  }

  clear(): void {
    this.perAction.clear();
  }

  list(): Record<string, number> {
    return Object.fromEntries(this.perAction);
  }

  delayFor(action: string): number {
    return this.perAction.get(action) ?? this.perAction.get('*') ?? 0;
  }
}
