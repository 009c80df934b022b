import { isIPv4, isIPv6 } from 'node:net';

export type Ipv4Answer = { ip: string; problem?: undefined } | { ip?: undefined; problem: string };

/** Runs of characters an IPv4 or IPv6 address is made of, with at least one dot or colon. */
const ADDRESS_LIKE = /[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*/g;

/**
 * The answer of an egress check: the first address in its output, which must be an IPv4 address. Echo services
 * answer either the bare address (`47.96.180.23`) or a sentence (`当前 IP：47.96.180.23  来自于：中国 浙江 杭州`);
 * the first address decides, so an IPv6 answer or a malformed one is refused rather than skipped for some later
 * dotted number in the text.
 */
export function ipv4Answer(stdout: string): Ipv4Answer {
  for (const candidate of stdout.match(ADDRESS_LIKE) ?? []) {
    if (isIPv6(candidate)) return { problem: `answered the IPv6 address ${candidate}, not an IPv4 address` };
    // "IP:47.1.2.3" or "47.1.2.3." around an address: the punctuation is the sentence's, not the address's.
    const bare = candidate.replace(/^[:.]+|[:.]+$/g, '');
    if (!/^\d+(\.\d+){3}$/.test(bare)) continue;
    return isIPv4(bare) ? { ip: bare } : { problem: `answered "${bare}", which is not an IPv4 address` };
  }
  return { problem: 'answered no address' };
}
