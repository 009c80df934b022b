/**
 * The operator's guest scripts: a JSON file named by ENI_MIGRATE_GUEST_SCRIPTS, read once when the worker starts.
 * Every problem is reported at start, naming the file, the script and what is wrong, so a bad file never lets a
 * worker run with half its scripts.
 *
 *   { "scripts": [ { "name": "…", "description": "…", "command": "…", "root": true, "answer": "ipv4" } ] }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config';
import { BUILTIN_GUEST_SCRIPTS } from './builtin';
import { GUEST_SCRIPT_NAME, GUEST_SCRIPT_NAME_HELP, type GuestScript } from './script';

export const GUEST_SCRIPTS_VARIABLE = 'ENI_MIGRATE_GUEST_SCRIPTS';

const scriptSchema = z.strictObject({
  name: z.string({ error: 'must be a string' }).regex(GUEST_SCRIPT_NAME, `must be ${GUEST_SCRIPT_NAME_HELP}`),
  description: z.string({ error: 'must be a string' }).trim().min(1, 'must say what the script does'),
  command: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty'),
  root: z.boolean({ error: 'must be true or false' }).default(false),
  answer: z.literal('ipv4', { error: 'must be "ipv4" (or left out)' }).optional(),
});

const fileSchema = z.strictObject({
  scripts: z.array(scriptSchema, { error: 'must be a list of scripts' }),
});

/** Reads and validates the file. Throws ConfigError naming the variable, the file, each bad script and its fault. */
export function loadGuestScriptFile(path: string): GuestScript[] {
  const where = `${GUEST_SCRIPTS_VARIABLE}=${path}`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
    throw new ConfigError(`${where}: ${why}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${locate(raw, issue.path)}${issue.message}`);
    throw new ConfigError(`${where}: ${problems.join('; ')}`);
  }
  const scripts = parsed.data.scripts;
  const problems: string[] = [];
  scripts.forEach((script, i) => {
    const first = scripts.findIndex((s) => s.name === script.name);
    if (first !== i)
      problems.push(`script "${script.name}" is defined twice (scripts[${first}] and scripts[${i}])`);
  });
  // Migrations that name no egress check use this one: it must answer an address.
  for (const script of scripts) {
    const replaced = BUILTIN_GUEST_SCRIPTS.find((b) => b.name === script.name);
    if (replaced?.answer === 'ipv4' && script.answer !== 'ipv4') {
      problems.push(
        `script "${script.name}" replaces the built-in egress check, so it must declare "answer": "ipv4"`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`${where}: ${problems.join('; ')}`);
  return scripts;
}

/** `script "name": field: ` for an issue inside a script (by its name when it has one), else the path. */
function locate(raw: unknown, path: readonly PropertyKey[]): string {
  if (path[0] !== 'scripts' || typeof path[1] !== 'number') return path.length ? `${path.join('.')}: ` : '';
  const entry = (raw as { scripts: unknown[] }).scripts[path[1]] as { name?: unknown } | undefined;
  const script =
    typeof entry?.name === 'string' && entry.name ? `script "${entry.name}"` : `scripts[${path[1]}]`;
  const field = path.slice(2).join('.');
  return `${script}${field ? `: ${field}` : ''}: `;
}
