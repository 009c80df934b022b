/** Guest scripts: named shell scripts the worker defines and runs over SSH; workflow inputs carry only the names. */
import { loadGuestScriptFile } from './file';
import { guestScriptRegistry, type GuestScriptRegistry } from './registry';

export { BUILTIN_GUEST_SCRIPTS } from './builtin';
export { GUEST_SCRIPTS_VARIABLE, loadGuestScriptFile } from './file';
export { ipv4Answer, type Ipv4Answer } from './ipv4-answer';
export { guestScriptRegistry, GuestScriptRegistry, type GuestScriptRole } from './registry';
export { runGuestScript } from './run';
export { commandLine, GUEST_SCRIPT_NAME, GUEST_SCRIPT_NAME_HELP, type GuestScript } from './script';

/** The worker's registry: the built-in scripts, plus the file's (validated now) when a path is configured. */
export function loadGuestScripts(path?: string): GuestScriptRegistry {
  return guestScriptRegistry(path ? loadGuestScriptFile(path) : []);
}
export { nicSetupScriptFor } from './os-family';
