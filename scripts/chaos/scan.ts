/**
 * The secret scan of a chaos run: every workflow history (each payload decoded), every line the workers logged and
 * every report are searched for the AccessKey secret, the STS token and the SSH private key. A secret is found when
 * its text appears, or (the private key) any line of its base64 body, so that a key re-wrapped or JSON-escaped is
 * still found.
 */
import type { Client } from '@temporalio/client';

export interface Secret {
  name: string;
  /** Every one of these is searched for. */
  needles: string[];
}

export interface ScanSource {
  /** `history`, `log` or `report`. */
  kind: string;
  name: string;
  text: string;
}

export interface ScanResult {
  /** Characters scanned, per kind of source. */
  chars: Record<string, number>;
  /** Sources scanned, per kind. */
  sources: Record<string, number>;
  /** Where a secret was found: `<secret> in <kind> <name>`. */
  findings: string[];
}

/** The needles of a private key (OpenSSH/PEM): the whole text, and each base64 line of its body of 16+ characters. */
export function privateKeyNeedles(pem: string): string[] {
  const lines = pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
  return [pem.trim(), ...lines];
}

export function scan(sources: ScanSource[], secrets: Secret[]): ScanResult {
  const chars: Record<string, number> = {};
  const count: Record<string, number> = {};
  const findings: string[] = [];
  for (const s of sources) {
    chars[s.kind] = (chars[s.kind] ?? 0) + s.text.length;
    count[s.kind] = (count[s.kind] ?? 0) + 1;
    for (const secret of secrets) {
      if (secret.needles.some((n) => n.length > 0 && s.text.includes(n)))
        findings.push(`${secret.name} in ${s.kind} ${s.name}`);
    }
  }
  return { chars, sources: count, findings };
}

/**
 * A history as text: every string in it, and every byte array (payload data and metadata, failure details) decoded
 * as UTF-8, so that what a payload holds is searched as itself and not as base64.
 */
export function historyText(history: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') parts.push(String(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'object') {
      if (seen.has(v)) return;
      seen.add(v);
      if (Array.isArray(v)) v.forEach(walk);
      else
        for (const [k, x] of Object.entries(v)) {
          parts.push(k);
          walk(x);
        }
    }
  };
  walk(history);
  return parts.join('\n');
}

export interface FetchedHistory {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  history: unknown;
  text: string;
}

/** Every execution of the namespace (each run of a workflow that continued as new), with its history. */
export async function fetchHistories(client: Client): Promise<FetchedHistory[]> {
  const out: FetchedHistory[] = [];
  for await (const info of client.workflow.list()) {
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    out.push({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      status: info.status.name,
      history,
      text: historyText(history),
    });
  }
  return out;
}
