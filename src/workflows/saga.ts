import { CancellationScope } from '@temporalio/workflow';
import { messageOf } from './failures';

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
