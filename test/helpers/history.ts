/** Reading an exported workflow history (historyToJSON) as a person would search it. */

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
