import { ActivityFailure, ApplicationFailure, CancellationScope } from '@temporalio/workflow';

/** One undo action of the saga. */
export interface Compensation {
  /** What it undoes, for logs and the report; other compensations name it in `requires`. */
  name: string;
  /**
   * Idempotent: a resource already gone or already back in place counts as done. Answers `rolledForward` when,
   * instead of undoing, it went forward (the EIP onto the new ENI): the rest of the rollback is then moot, and skipped.
   */
  undo: () => Promise<unknown>;
  /** When the undo keeps failing (or cannot run): what is left in the cloud and how to fix it by hand. */
  leftover: () => string;
  /**
   * Compensations that must have succeeded before this one may run: detaching an ENI that still carries the EIP
   * would leave the public address reaching nothing, so "detach the ENI" requires "unbind the EIP from the ENI".
   */
  requires?: string[];
  /** Told when this compensation does not run because one it requires did not succeed. */
  blocked?: (reason: string) => void;
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
   * Runs the registered compensations, in reverse order of registration. A compensation that fails (after its own
   * retry policy gave up) is not swallowed: it is returned with its leftover. Those that do not depend on it still
   * run, since each one checks the cloud before acting; those that do (`requires`, directly or through another) do
   * not run, and are returned as leftovers too: running them would leave the instance worse off.
   */
  async compensate(): Promise<{ failures: CompensationFailure[]; rolledForward?: string }> {
    return CancellationScope.nonCancellable(async () => {
      const failures: CompensationFailure[] = [];
      const notDone = new Set<string>();
      while (this.stack.length > 0) {
        const c = this.stack.shift() as Compensation;
        const missing = (c.requires ?? []).filter((name) => notDone.has(name));
        if (missing.length > 0) {
          const error = `not attempted: needs "${missing.join('", "')}" first`;
          notDone.add(c.name);
          c.blocked?.(error);
          failures.push({ name: c.name, leftover: c.leftover(), error });
          continue;
        }
        try {
          const result = (await c.undo()) as { rolledForward?: string } | undefined;
          if (result?.rolledForward) {
            this.stack.length = 0;
            return { failures, rolledForward: result.rolledForward };
          }
        } catch (err) {
          notDone.add(c.name);
          failures.push({ name: c.name, leftover: c.leftover(), error: messageOf(err) });
        }
      }
      return { failures };
    });
  }
}

/** The ApplicationFailure inside an activity's failure: its type is the cloud's error code (or the activity's own). */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** The first detail of an activity's failure (the cloud error's action, code, kind, fix; the attempt's API calls). */
export function failureDetail(err: unknown): Record<string, unknown> | undefined {
  const first = applicationFailureOf(err)?.details?.[0];
  return typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
}

/** The innermost message of a failure chain (ActivityFailure -> ApplicationFailure), which is the useful one. */
export function messageOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
