import type { Params } from '../contracts';
import { CloudError } from '../errors';

/**
 * Request parameters (query string and form body, already merged by the server) with the SDK's list encodings:
 * `Name.1..N`, JSON-array strings (`InstanceIds=["i-1"]`), comma lists (`AllocationId=eip-1,eip-2`) and
 * `Tag.N.Key/Value` [reference note §3].
 */
export class RequestParams implements Params {
  readonly raw: Readonly<Record<string, string>>;

  constructor(raw: Record<string, string>) {
    this.raw = { ...raw };
  }

  str(name: string, required = false): string | undefined {
    const v = this.raw[name];
    if (v === undefined || (required && v === '')) {
      if (required) throw CloudError.of('MissingParameter', name);
      return undefined;
    }
    return v;
  }

  int(name: string, fallback?: number): number | undefined {
    const v = this.raw[name];
    if (v === undefined || v === '') return fallback;
    if (!/^-?\d+$/.test(v.trim())) throw CloudError.of('InvalidParameter', name, `"${v}" is not an integer.`);
    return Number(v);
  }

  bool(name: string, fallback?: boolean): boolean | undefined {
    const v = this.raw[name];
    if (v === undefined || v === '') return fallback;
    const lower = v.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw CloudError.of('InvalidParameter', name, `"${v}" is not a boolean (true or false).`);
  }

  list(name: string): string[] {
    const prefix = `${name}.`;
    const items: Array<[number, string]> = [];
    for (const [k, v] of Object.entries(this.raw)) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      if (/^\d+$/.test(rest)) items.push([Number(rest), v]);
    }
    return items.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  jsonList(name: string): string[] {
    const v = this.raw[name];
    if (v === undefined || v.trim() === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw CloudError.of('InvalidParameter', name, 'It must be a JSON array of strings, such as ["a","b"].');
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string' || typeof x === 'number'))
      throw CloudError.of('InvalidParameter', name, 'It must be a JSON array of strings, such as ["a","b"].');
    return parsed.map(String);
  }

  commaList(name: string): string[] {
    const v = this.raw[name];
    if (v === undefined) return [];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  tags(prefix = 'Tag'): Array<{ key: string; value: string }> {
    const byIndex = new Map<number, { key?: string; value?: string }>();
    const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.(Key|Value)$`);
    for (const [k, v] of Object.entries(this.raw)) {
      const m = re.exec(k);
      if (!m) continue;
      const entry = byIndex.get(Number(m[1])) ?? {};
      if (m[2] === 'Key') entry.key = v;
      else entry.value = v;
      byIndex.set(Number(m[1]), entry);
    }
    return [...byIndex.entries()]
      .sort((a, b) => a[0] - b[0])
      .filter(([, t]) => t.key !== undefined && t.key !== '')
      .map(([, t]) => ({ key: t.key!, value: t.value ?? '' }));
  }
}
