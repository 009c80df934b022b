import type { GuestCommandResult } from '../contracts';
import { cidrContains } from './ipv4';
import type { Region } from './region';

/**
 * The iproute2 changes a guest makes to answer on a secondary NIC without multi-nic-util (Ubuntu, Debian): bring the
 * link up, give it the ENI's address, a default route out of it in a table of its own, and a rule sending traffic
 * from that address to that table (policy routing: replies to the EIP leave through the NIC they came in on).
 *   ip link set [dev] ethN up
 *   ip addr add|replace A/P dev ethN
 *   ip route add|replace default via G dev ethN table T
 *   ip rule add|del from A lookup|table T [priority N]
 * A secondary ENI counts as configured once all four hold for its device, its primary IP and a gateway in its
 * vSwitch. The state is the guest's: it lives until the ENI is detached (the NIC disappears from the guest).
 */

interface GuestRouting {
  up: Set<string>;
  addresses: Map<string, string>;
  /** table -> the default route in it */
  routes: Map<string, { via: string; dev: string }>;
  rules: Array<{ from: string; table: string }>;
}

const state = new WeakMap<Region, Map<string, GuestRouting>>();

function routingOf(r: Region, instanceId: string): GuestRouting {
  let byInstance = state.get(r);
  if (!byInstance) state.set(r, (byInstance = new Map()));
  let g = byInstance.get(instanceId);
  if (!g)
    byInstance.set(instanceId, (g = { up: new Set(), addresses: new Map(), routes: new Map(), rules: [] }));
  return g;
}

const ok = (): GuestCommandResult => ({ stdout: '', stderr: '', exitCode: 0 });
const fail = (stderr: string, exitCode = 2): GuestCommandResult => ({
  stdout: '',
  stderr: `${stderr}\n`,
  exitCode,
});

/** The value after `word` in args (`dev eth1` -> eth1). */
function after(args: string[], ...words: string[]): string | undefined {
  const i = args.findIndex((a) => words.includes(a));
  return i >= 0 ? args[i + 1] : undefined;
}

/** Whether `ip <args>` changes the guest's network (handled here) rather than showing it. */
export function isIpChange(args: string[]): boolean {
  const words = args.filter((a) => !a.startsWith('-'));
  return ['add', 'replace', 'del', 'delete', 'set'].includes(words[1] ?? '');
}

export function ipChange(r: Region, instanceId: string, args: string[], root: boolean): GuestCommandResult {
  if (!root) return fail('RTNETLINK answers: Operation not permitted');
  const [object, verb, ...rest] = args.filter((a) => !a.startsWith('-'));
  const g = routingOf(r, instanceId);
  const devices = new Set(
    r
      .enisOf(instanceId)
      .filter((e) => e.status === 'InUse' && e.deviceIndex !== undefined)
      .map((e) => `eth${e.deviceIndex}`),
  );
  const device = (name: string | undefined) => (name && devices.has(name) ? name : undefined);
  let result: GuestCommandResult;
  if (object === 'link' && verb === 'set') {
    const dev = device(after(rest, 'dev') ?? rest[0]);
    if (!dev) return fail(`Cannot find device "${after(rest, 'dev') ?? rest[0] ?? ''}"`, 1);
    if (rest.includes('up')) g.up.add(dev);
    if (rest.includes('down')) g.up.delete(dev);
    result = ok();
  } else if (['a', 'addr', 'address'].includes(object ?? '') && ['add', 'replace'].includes(verb)) {
    const dev = device(after(rest, 'dev'));
    if (!dev) return fail(`Cannot find device "${after(rest, 'dev') ?? ''}"`, 1);
    g.addresses.set(dev, rest[0] ?? '');
    result = ok();
  } else if (['r', 'route'].includes(object ?? '') && ['add', 'replace'].includes(verb)) {
    const dev = device(after(rest, 'dev'));
    if (!dev) return fail(`Cannot find device "${after(rest, 'dev') ?? ''}"`, 1);
    const table = after(rest, 'table') ?? 'main';
    g.routes.set(table, { via: after(rest, 'via') ?? '', dev });
    result = ok();
  } else if (['ru', 'rule'].includes(object ?? '') && ['add', 'del', 'delete'].includes(verb)) {
    const from = after(rest, 'from') ?? '';
    const table = after(rest, 'lookup', 'table') ?? '';
    const i = g.rules.findIndex((x) => x.from === from && x.table === table);
    if (verb === 'add') g.rules.push({ from, table });
    else if (i < 0) return fail('RTNETLINK answers: No such file or directory');
    else g.rules.splice(i, 1);
    result = ok();
  } else {
    return fail(`Command "${args.join(' ')}" is not supported by this guest.`, 1);
  }
  applyPolicyRouting(r, instanceId, g);
  return result;
}

/** Marks each secondary ENI whose device is up, addressed, routed in its own table and selected by a rule. */
function applyPolicyRouting(r: Region, instanceId: string, g: GuestRouting): void {
  for (const eni of r.enisOf(instanceId)) {
    if (eni.type !== 'Secondary' || eni.status !== 'InUse' || eni.deviceIndex === undefined) continue;
    const dev = `eth${eni.deviceIndex}`;
    const cidr = r.vSwitches.get(eni.vSwitchId)!.cidrBlock;
    const addressed = g.addresses.get(dev)?.split('/')[0] === eni.primaryIpAddress;
    const rule = g.rules.find(
      (x) => x.from === eni.primaryIpAddress || x.from === `${eni.primaryIpAddress}/32`,
    );
    const route = rule && g.routes.get(rule.table);
    if (g.up.has(dev) && addressed && route?.dev === dev && cidrContains(cidr, route.via))
      eni.guestConfigured = true;
  }
}

/** A detached NIC leaves the guest, and its configuration with it. */
export function forgetDevice(r: Region, instanceId: string, deviceIndex: number): void {
  const g = state.get(r)?.get(instanceId);
  if (!g) return;
  const dev = `eth${deviceIndex}`;
  g.up.delete(dev);
  g.addresses.delete(dev);
  for (const [table, route] of g.routes) if (route.dev === dev) g.routes.delete(table);
}
