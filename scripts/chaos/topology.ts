/**
 * The region a chaos run migrates: several VPCs, each with two zones (a vSwitch each), a security group, an Enhanced
 * NAT gateway whose SNAT entries cover both vSwitches, and its instances. A share of the instances runs an image whose
 * guest does not configure a secondary NIC by itself (Ubuntu, `secondaryNicSetup: manual`): run without a guest
 * set-up script, their verification fails and they roll back, as a real fleet's odd images would.
 */
import { validateTopology, type Topology, type TopologyInstance } from '../../src/local-cloud/model/topology';

export const AUTO_IMAGE = 'aliyun_3_x64_20G_alibase_20240819.vhd';
export const MANUAL_IMAGE = 'ubuntu_22_04_x64_20G_alibase_20240130.vhd';

export interface ChaosTopologyOptions {
  regionId: string;
  vpcs: number;
  instancesPerVpc: number;
  /** Which instances (by their index over the whole region) get the image whose verification fails. */
  failsVerification: (index: number) => boolean;
}

export interface ChaosInstance {
  instanceId: string;
  vpcId: string;
  publicIp: string;
  snatIp: string;
  /** Its image needs a manual guest set-up that the run does not do: verification must fail, the migration roll back. */
  failsVerification: boolean;
}

/** RFC 5737 documentation ranges: public-looking addresses that route nowhere real (720 of them). */
function publicIp(n: number): string {
  const ranges = ['203.0.113', '198.51.100', '192.0.2'];
  const range = ranges[Math.floor(n / 240)];
  if (!range)
    throw new Error(`a chaos topology has public addresses for at most ${ranges.length * 240} instances`);
  return `${range}.${10 + (n % 240)}`;
}

export function chaosTopology(opts: ChaosTopologyOptions): {
  topology: Topology;
  instances: ChaosInstance[];
} {
  const { regionId } = opts;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const vpcs: Topology['vpcs'] = [];
  const instances: TopologyInstance[] = [];
  const chaos: ChaosInstance[] = [];
  for (let v = 0; v < opts.vpcs; v++) {
    const tag = `chaos${pad(v)}`;
    const vpcId = `vpc-${tag}`;
    const vSwitches = ['i', 'j'].map((zone, z) => ({
      vSwitchId: `vsw-${tag}${zone}`,
      zoneId: `${regionId}-${zone}`,
      cidrBlock: `10.${v + 1}.${z + 1}.0/24`,
      vSwitchName: `${tag}-${zone}`,
    }));
    const snatIp = `47.98.${v + 1}.1`;
    vpcs.push({
      vpcId,
      vpcName: tag,
      cidrBlock: `10.${v + 1}.0.0/16`,
      vSwitches,
      securityGroups: [{ securityGroupId: `sg-${tag}`, securityGroupName: tag }],
      natGateways: [
        {
          natGatewayId: `ngw-${tag}`,
          name: `${tag}-nat`,
          spec: 'Small',
          vSwitchId: vSwitches[0].vSwitchId,
          snatTableId: `stb-${tag}`,
          eips: [{ allocationId: `eip-${tag}nat`, ipAddress: snatIp, bandwidth: 100 }],
          snatEntries: vSwitches.map((s) => ({
            snatEntryId: `snat-${s.vSwitchId.slice(4)}`,
            snatIp,
            sourceVSwitchId: s.vSwitchId,
          })),
        },
      ],
    });
    for (let n = 0; n < opts.instancesPerVpc; n++) {
      const index = v * opts.instancesPerVpc + n;
      const failsVerification = opts.failsVerification(index);
      const instance: TopologyInstance = {
        instanceId: `i-${tag}n${pad(n, 4)}`,
        instanceName: `${tag}-${pad(n + 1, 3)}`,
        vSwitchId: vSwitches[n % 2].vSwitchId,
        securityGroupIds: [`sg-${tag}`],
        instanceType: 'ecs.g7.large',
        imageId: failsVerification ? MANUAL_IMAGE : AUTO_IMAGE,
        status: 'Running',
        instanceChargeType: 'PostPaid',
        internetChargeType: 'PayByTraffic',
        internetMaxBandwidthOut: 5,
        publicIpAddress: publicIp(index),
        tags: [{ key: 'app', value: 'chaos' }],
      };
      instances.push(instance);
      chaos.push({
        instanceId: instance.instanceId,
        vpcId,
        publicIp: instance.publicIpAddress!,
        snatIp,
        failsVerification,
      });
    }
  }
  // An account whose EIP quota was raised for this fleet: one EIP per instance, plus the NAT gateways'.
  const eipQuota = instances.length + vpcs.length + 20;
  return {
    topology: validateTopology(
      { regionId, quotas: { maxEips: eipQuota }, vpcs, instances },
      'chaos topology',
    ),
    instances: chaos,
  };
}
