import { readdirSync, readFileSync } from 'node:fs';

/**
 * Live processes whose environment carries `marker`: a command started with it in its environment and everything it
 * started (they inherit it). Tests use it to prove that nothing is left running.
 */
export function processesWithMarker(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) found.push(Number(entry));
    } catch {
      // Exited meanwhile, or not ours.
    }
  }
  return found;
}
