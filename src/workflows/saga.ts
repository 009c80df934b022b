import { CancellationScope } from '@temporalio/workflow';

/** One undo action of the saga. */
export interface Compensation {
  /** What it undoes, for logs and the report. */
  name: string;
  /** Idempotent: a resource already gone or already back in place counts as done. */
  undo: () => Promise<void>;
  /** When the undo keeps failing: what is left in the cloud and how to fix it by hand. */
  leftover: () => string;
}

export interface CompensationFailure {
  name: string;
  leftover: string;
  error: string;
}

/**
 * The saga's undo stack. Register each compensation BEFORE its forward call: a call that timed out (or was
 * cancelled) may still have taken effect, and its compensation must then still run. On failure or cancellation,
 * `compensate` runs them most recent first, shielded from the workflow's cancellation.
 */
export class Saga {
  private readonly stack: Compensation[] = [];

  register(compensation: Compensation): void {
    this.stack.unshift(compensation);
  }

  get registered(): number {
    return this.stack.length;
  }

  /**
   * Runs every registered compensation, in reverse order of registration. A compensation that fails (after its own
   * retry policy gave up) is not swallowed: it is returned with its leftover, and the remaining ones still run,
   * since each one checks the cloud before acting.
   */
  async compensate(): Promise<CompensationFailure[]> {
    return CancellationScope.nonCancellable(async () => {
      const failures: CompensationFailure[] = [];
      while (this.stack.length > 0) {
        const c = this.stack.shift() as Compensation;
        try {
          await c.undo();
        } catch (err) {
          failures.push({ name: c.name, leftover: c.leftover(), error: messageOf(err) });
        }
      }
      return failures;
    });
  }
}

/** The innermost message of a failure chain (ActivityFailure -> ApplicationFailure), which is the useful one. */
export function messageOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
