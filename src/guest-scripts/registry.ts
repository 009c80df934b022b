import { BUILTIN_GUEST_SCRIPTS } from './builtin';
import type { GuestScript } from './script';

/** What a script is asked to be: the egress check must answer an address; a preparation only has to succeed. */
export type GuestScriptRole = 'egress check' | 'guest preparation';

/** The guest scripts a worker knows, by name: the built-in ones, and the operator's (which may replace them). */
export class GuestScriptRegistry {
  private readonly byName = new Map<string, GuestScript>();

  constructor(scripts: Iterable<GuestScript>) {
    for (const script of scripts) this.byName.set(script.name, script);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): GuestScript[] {
    return [...this.byName.values()];
  }

  find(name: string): GuestScript | undefined {
    return this.byName.get(name);
  }

  /** Why `name` cannot serve in `role` (unknown, or an egress check that answers no address); undefined if it can. */
  problem(name: string, role: GuestScriptRole): string | undefined {
    const script = this.byName.get(name);
    if (!script) {
      return `unknown guest script "${name}" (the worker knows ${this.names().join(', ')}): pass one of these names, or define it in the worker's guest script file (ENI_MIGRATE_GUEST_SCRIPTS)`;
    }
    if (role === 'egress check' && script.answer !== 'ipv4') {
      return `guest script "${name}" cannot be the egress check: its definition does not declare "answer": "ipv4"`;
    }
    return undefined;
  }
}

/** The built-in scripts, plus (replacing same-named ones) the operator's. */
export function guestScriptRegistry(own: readonly GuestScript[] = []): GuestScriptRegistry {
  return new GuestScriptRegistry([...BUILTIN_GUEST_SCRIPTS, ...own]);
}
