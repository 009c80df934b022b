import type { GuestScript } from './script';

/**
 * The scripts every worker knows. An operator's file (ENI_MIGRATE_GUEST_SCRIPTS) may add others, or replace one of
 * these by name (e.g. an egress check against another echo service).
 */
export const BUILTIN_GUEST_SCRIPTS: readonly GuestScript[] = [
  {
    name: 'egress-check',
    description:
      "The runbook's egress check: asks an echo service in mainland China (myip.ipip.net) which address the " +
      "instance's IPv4 traffic leaves from. -4 forces IPv4: on a dual-stack guest the answer must not be an IPv6 address.",
    command: 'curl -4 -sS -m 10 https://myip.ipip.net',
    root: false,
    answer: 'ipv4',
  },
  {
    name: 'egress-check-global',
    description:
      'The same check against an echo service outside mainland China (ifconfig.me), for fleets in other regions.',
    command: 'curl -4 -sS -m 10 https://ifconfig.me',
    root: false,
    answer: 'ipv4',
  },
  {
    name: 'secondary-nic-setup',
    description:
      "Brings up every attached secondary NIC (address and policy routing) with multi-nic-util's eni.service: the step " +
      'Alibaba Cloud documents for CentOS and other images that do not configure a hot-plugged ENI by themselves. ' +
      'Needs multi-nic-util on the image (Alibaba Cloud Linux ships it; on CentOS install it first, see the ENI docs).',
    command: 'systemctl restart eni.service',
    root: true,
  },
  {
    name: 'secondary-nic-setup-iproute2',
    description:
      'Brings up the new secondary NIC with iproute2 policy routing, for Ubuntu, Debian and other images without ' +
      "multi-nic-util: the link up, the ENI's address on it, a default route out of it in a table of its own, and a rule " +
      'that sends traffic from that address to that table, so replies to the EIP leave through the NIC they came in on. ' +
      'Cloud Assistant only: the NIC, address, prefix length, gateway and table come in as its custom parameters.',
    command: [
      'ip rule del from {{address}} lookup {{table}} 2>/dev/null || true',
      'ip link set dev {{device}} up && ip addr replace {{address}}/{{prefixLength}} dev {{device}} && ' +
        'ip route replace default via {{gateway}} dev {{device}} table {{table}} && ' +
        'ip rule add from {{address}} lookup {{table}} priority {{table}}',
    ].join('\n'),
    root: true,
    nicParameters: true,
  },
];
