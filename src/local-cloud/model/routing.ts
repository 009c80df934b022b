import type { PublicRoute } from '../contracts';
import { cidrContains } from './ipv4';
import type { Region } from './region';
import type { EipAddress } from './resources';

/**
 * How public traffic reaches instances and leaves them, derived from the cloud state at the moment of asking.
 * An EIP routes while its binding is in effect (InUse, and still while Unassociating); a stopped instance answers
 * nothing.
 */

function inEffect(eip: EipAddress): boolean {
  return eip.status === 'InUse' || eip.status === 'Unassociating';
}

/** Every public address of the region (static public IPs and EIPs, the NAT gateway's included). */
export function publicAddresses(r: Region): string[] {
  r.settle();
  const ips = new Set<string>();
  for (const inst of r.instances.values()) if (inst.publicIpAddress) ips.add(inst.publicIpAddress);
  for (const eip of r.eips.values()) ips.add(eip.ipAddress);
  return [...ips];
}

export function routePublicAddress(r: Region, ip: string): PublicRoute | undefined {
  r.settle();
  for (const inst of r.instances.values())
    if (inst.publicIpAddress === ip)
      return inst.status === 'Running'
        ? { instanceId: inst.instanceId, publicIp: ip, via: 'nat-public-ip' }
        : undefined;

  const eip = [...r.eips.values()].find((e) => e.ipAddress === ip);
  if (!eip?.binding || !inEffect(eip)) return undefined;
  const b = eip.binding;
  if (b.instanceType === 'EcsInstance') {
    const inst = r.instances.get(b.instanceId);
    return inst?.status === 'Running'
      ? { instanceId: inst.instanceId, publicIp: ip, via: 'eip-primary' }
      : undefined;
  }
  if (b.instanceType === 'NetworkInterface' && b.mode === 'NAT') {
    const eni = r.enis.get(b.instanceId);
    if (!eni || eni.status !== 'InUse' || !eni.instanceId) return undefined;
    const inst = r.instances.get(eni.instanceId);
    // Without policy routing in the guest the replies leave through eth0 and the connection never completes.
    if (inst?.status !== 'Running' || !eni.guestConfigured) return undefined;
    return {
      instanceId: inst.instanceId,
      publicIp: ip,
      via: eni.type === 'Primary' ? 'eip-primary' : 'eip-secondary-eni',
    };
  }
  return undefined;
}

/**
 * Where outbound traffic leaves from: the public IP or EIP of the primary ENI, else the SNAT IP of the entry that
 * covers the instance's vSwitch (or a CIDR block holding its private IP), else nowhere.
 */
export function egressAddress(r: Region, instanceId: string): string | undefined {
  r.settle();
  const inst = r.instances.get(instanceId);
  if (!inst || inst.status !== 'Running') return undefined;
  if (inst.publicIpAddress) return inst.publicIpAddress;
  const eip = r.eipOfInstance(instanceId);
  if (eip) return eip.ipAddress;
  const primaryIp = r.enis.get(inst.primaryNetworkInterfaceId)?.primaryIpAddress;
  // A NAT-mode EIP on the primary ENI's primary IP is that NIC's public address too.
  const onPrimary = primaryIp ? r.eipOfEni(inst.primaryNetworkInterfaceId, primaryIp) : undefined;
  if (onPrimary && inEffect(onPrimary)) return onPrimary.ipAddress;
  return snatIp(r, inst.vpcId, inst.vSwitchId, primaryIp);
}

/** The SNAT IP for traffic from `privateIp` in a vSwitch, if an SNAT entry covers it. */
function snatIp(
  r: Region,
  vpcId: string,
  vSwitchId: string,
  privateIp: string | undefined,
): string | undefined {
  // SNAT only translates what the route table sends to the NAT gateway: no default route to it, no way out.
  const route = r.defaultRouteOf(vSwitchId);
  if (route?.nextHopType !== 'NatGateway') return undefined;
  const entries = [...r.snatEntries.values()].filter(
    (s) => s.natGatewayId === route.nextHopId && r.natGateways.get(s.natGatewayId)?.vpcId === vpcId,
  );
  // A vSwitch-level entry wins over a CIDR one, as the more specific rule.
  const entry =
    entries.find((s) => s.sourceVSwitchId === vSwitchId) ??
    entries.find((s) => !!s.sourceCIDR && !!privateIp && cidrContains(s.sourceCIDR, privateIp));
  return entry?.snatIp.split(',')[0];
}

/** Egress through one NIC (curl --interface ethN): a secondary ENI leaves through its NAT-mode EIP, once configured. */
export function egressViaDevice(r: Region, instanceId: string, deviceIndex: number): string | undefined {
  if (deviceIndex === 0) return egressAddress(r, instanceId);
  r.settle();
  const inst = r.instances.get(instanceId);
  const eni = r.enisOf(instanceId).find((e) => e.deviceIndex === deviceIndex && e.status === 'InUse');
  if (!inst || inst.status !== 'Running' || !eni?.guestConfigured) return undefined;
  const eip = r.eipOfEni(eni.networkInterfaceId, eni.primaryIpAddress);
  if (eip && inEffect(eip) && eip.binding?.mode === 'NAT') return eip.ipAddress;
  return snatIp(r, eni.vpcId, eni.vSwitchId, eni.primaryIpAddress);
}
