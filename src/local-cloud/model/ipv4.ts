/** IPv4 arithmetic for vSwitch CIDR blocks: membership, reserved addresses, allocation. */

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return NaN;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return NaN;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(ip: string): boolean {
  return !Number.isNaN(ipToInt(ip));
}

export interface Cidr {
  base: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const ip = ipToInt(m[1]);
  const bits = Number(m[2]);
  if (Number.isNaN(ip) || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  return { base: ip - (ip % size), size };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = ipToInt(ip);
  return !!c && !Number.isNaN(n) && n >= c.base && n < c.base + c.size;
}

/** `inner` lies entirely inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  return !!i && !!o && i.base >= o.base && i.base + i.size <= o.base + o.size;
}

/** Alibaba Cloud reserves the first three and the last three addresses of every vSwitch CIDR block. */
export function isUsableInVSwitch(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = ipToInt(ip);
  if (!c || Number.isNaN(n)) return false;
  const offset = n - c.base;
  return offset >= 3 && offset < c.size - 3;
}

/** The lowest usable address of `cidr` that `taken` does not hold, or undefined when the block is full. */
export function nextFreeIp(cidr: string, taken: ReadonlySet<string>, startOffset = 3): string | undefined {
  const c = parseCidr(cidr);
  if (!c) return undefined;
  for (let off = Math.max(3, startOffset); off < c.size - 3; off++) {
    const ip = intToIp(c.base + off);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

export function usableCount(cidr: string): number {
  const c = parseCidr(cidr);
  return c ? Math.max(0, c.size - 6) : 0;
}
