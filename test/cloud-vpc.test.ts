import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicIpv4, pickSnatEntry, type NatGatewaySnat, type SnatEntry } from '../src/cloud/vpc';

// The local cloud models internet NAT gateways only, so the choice between gateways is tested on plain data.
describe('SNAT entry selection', () => {
  const entry = (id: string, snatIp: string, source: Partial<SnatEntry>): SnatEntry => ({
    natGatewayId: `ngw-${id}`,
    snatTableId: `stb-${id}`,
    snatEntryId: `snat-${id}`,
    snatIps: [snatIp],
    status: 'Available',
    ...source,
  });
  const gateway = (id: string, networkType: string | undefined, entries: SnatEntry[]): NatGatewaySnat => ({
    natGatewayId: `ngw-${id}`,
    status: 'Available',
    networkType,
    entries,
  });

  it('ignores an intranet NAT gateway even when its entry is the most specific', () => {
    const picked = pickSnatEntry(
      [
        gateway('vpc', 'intranet', [entry('vpc', '47.96.1.1', { sourceCidr: '192.168.1.10/32' })]),
        gateway('net', 'internet', [entry('net', '47.96.180.23', { sourceCidr: '192.168.0.0/16' })]),
      ],
      'vsw-a',
      '192.168.1.10',
    );
    assert.equal(picked?.snatEntryId, 'snat-net');
  });

  it('ignores an entry that translates to a private or shared address', () => {
    for (const privateIp of ['10.1.2.3', '172.20.0.1', '192.168.9.9', '100.64.0.7']) {
      const picked = pickSnatEntry(
        [
          gateway('a', undefined, [entry('a', privateIp, { sourceVSwitchId: 'vsw-a' })]),
          gateway('b', 'internet', [entry('b', '47.96.180.23', { sourceCidr: '192.168.0.0/16' })]),
        ],
        'vsw-a',
        '192.168.1.10',
      );
      assert.equal(picked?.snatEntryId, 'snat-b', privateIp);
    }
  });

  it('finds nothing when only an intranet gateway covers the address', () => {
    const only = [gateway('vpc', 'intranet', [entry('vpc', '47.96.1.1', { sourceVSwitchId: 'vsw-a' })])];
    assert.equal(pickSnatEntry(only, 'vsw-a', '192.168.1.10'), undefined);
  });

  it('prefers the address over the vSwitch over a CIDR block', () => {
    const gw = gateway('g', 'internet', [
      entry('cidr', '47.96.0.1', { sourceCidr: '192.168.0.0/16' }),
      entry('vsw', '47.96.0.2', { sourceVSwitchId: 'vsw-a' }),
      entry('ip', '47.96.0.3', { sourceCidr: '192.168.1.10/32' }),
    ]);
    assert.equal(pickSnatEntry([gw], 'vsw-a', '192.168.1.10')?.snatEntryId, 'snat-ip');
    assert.equal(pickSnatEntry([gw], 'vsw-a', '192.168.1.11')?.snatEntryId, 'snat-vsw');
    assert.equal(pickSnatEntry([gw], 'vsw-b', '192.168.1.11')?.snatEntryId, 'snat-cidr');
  });

  it('tells public addresses from private ones', () => {
    assert.equal(isPublicIpv4('47.96.180.23'), true);
    assert.equal(isPublicIpv4('100.128.0.1'), true);
    assert.equal(isPublicIpv4('172.32.0.1'), true);
    assert.equal(isPublicIpv4('100.127.255.255'), false);
    assert.equal(isPublicIpv4('172.31.255.255'), false);
    assert.equal(isPublicIpv4('not-an-ip'), false);
  });
});
