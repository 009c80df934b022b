/** Reading an exported workflow history (historyToJSON) as a person would search it, and recording the corpus. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { version } from '../../package.json';

/** This release's replay corpus (test/replay.test.ts replays every release's). */
export const HISTORY_FIXTURES = join(__dirname, '..', 'fixtures', 'histories', version);

/**
 * With RECORD_HISTORIES=1, writes the histories (name -> historyToJSON) into this release's corpus, refusing to replace
 * a file already there: a release's histories are kept as recorded (RECORD_HISTORIES=overwrite, for a version not
 * released yet). Without it, does nothing.
 */
export function saveHistories(histories: ReadonlyMap<string, string>): void {
  if (!process.env.RECORD_HISTORIES) return;
  const overwrite = process.env.RECORD_HISTORIES === 'overwrite';
  mkdirSync(HISTORY_FIXTURES, { recursive: true });
  for (const [name, json] of histories) {
    const file = join(HISTORY_FIXTURES, `${name}.json`);
    if (existsSync(file) && !overwrite) {
      throw new Error(
        `${file} exists: histories of a release are kept as recorded (RECORD_HISTORIES=overwrite for an unreleased version)`,
      );
    }
    writeFileSync(file, json + '\n');
  }
}

/** Every string in the history, with base64 payload data decoded too (payloads are base64 JSON in the export). */
export function allText(json: string): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v);
      if (/^[A-Za-z0-9+/=]{8,}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(json));
  return parts.join('\n');
}
